#if os(Linux)
/// A connection's output moved off the io_uring buffer ring: the exact bytes, in order, in
/// chunks of the heap, for a peer that stopped reading while the ring ran short (see
/// `URingEchoLoop.relievePressure`). A chunk is freed only once it is all sent, so the one send
/// in flight always points into memory that is still there.
final class URingSpillQueue {
    private var chunks: [UnsafeMutableRawBufferPointer] = []
    /// The index in `chunks` of the first chunk not yet sent.
    private var first = 0
    /// Bytes of the first chunk sent already.
    private var offset = 0
    /// Bytes held and not yet sent.
    private(set) var count = 0

    var isEmpty: Bool { count == 0 }

    /// Copies `length` bytes from `source` to the end of the queue.
    func append(_ source: UnsafeRawPointer, _ length: Int) {
        guard length > 0 else { return }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 16)
        chunk.copyMemory(from: UnsafeRawBufferPointer(start: source, count: length))
        chunks.append(chunk)
        count += length
    }

    /// The bytes to send next: the rest of the first chunk (empty when the queue is).
    var front: UnsafeRawBufferPointer {
        guard first < chunks.count else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(chunks[first])[offset...])
    }

    /// Marks `sent` bytes of the front as sent, freeing the chunks that are done.
    func consume(_ sent: Int) {
        offset += sent
        count -= sent
        while first < chunks.count && offset >= chunks[first].count {
            offset -= chunks[first].count
            chunks[first].deallocate()
            first += 1
        }
        if first == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            first = 0
        } else if first >= 64 && first * 2 >= chunks.count {
            chunks.removeFirst(first)
            first = 0
        }
    }

    deinit {
        for chunk in chunks[first...] { chunk.deallocate() }
    }
}
#endif
