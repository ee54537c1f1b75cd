import Sockit
import Synchronization

/// The memory the echo connections of one server hold for output their peers have not taken
/// yet, counted across the event loops, and the bound on it (`EchoConfiguration.maxBufferedBytes`).
///
/// What is counted is the size of the output buffers as allocated (never less than the bytes
/// waiting in them), so the bound is one on memory. A buffer is counted when it is allocated or
/// grows and uncounted when it is freed: one atomic add each, never one per byte echoed.
///
/// The budget is *over* once a connection that has no buffer yet could not take one read's
/// worth (`mandatory`: the rest of a short write must be kept, it has been read already)
/// without passing the bound. While over, no connection takes more memory:
/// - a connection whose buffer is full stops reading (`EchoLoopState.budgetPaused`), and one
///   whose buffer has room only fills that room;
/// - a connection with no buffer echoes only what its socket takes at once (it peeks, sends,
///   then consumes what was sent), and waits for the socket to be writable when it takes none.
///
/// When the total falls to `low` (an eighth of the bound below the point where it became
/// over, so that it does not flip on every buffer), every loop is told and its paused
/// connections read again. So the total stays within the bound, give or take one read for each
/// other event loop that was mid-read when it became over.
final class EchoOutputBudget: Sendable {
    /// Allocated output buffers of all connections, in bytes.
    private let total = Atomic<Int>(0)
    /// Keeps `over`, read on every read of a connection with nothing pending, off the cache
    /// line that `total` is written on.
    private let separation: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    private let over: Atomic<Bool>
    /// What a connection may buffer, exactly (`EchoConfiguration.pendingWriteLimit`, at least 1).
    let connectionLimit: Int
    /// The most a connection reads at once: the loop's buffer, or less if the limit is smaller.
    let readSize: Int
    /// The bound, in bytes.
    let limit: Int
    /// Over beyond this total: `limit - mandatory` (negative: always over).
    let high: Int
    /// Not over again at or below this total.
    let low: Int
    private let change = Locked<(@Sendable (_ over: Bool, _ bytes: Int) -> Void)?>(nil)
    private let trailing: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)

    /// - Parameters:
    ///   - limit: the bound on the total, in bytes.
    ///   - connectionLimit: what one connection may buffer.
    ///   - readBufferSize: the size of the loops' read buffer.
    init(limit: Int, connectionLimit: Int, readBufferSize: Int) {
        self.connectionLimit = max(1, connectionLimit)
        self.readSize = min(readBufferSize, self.connectionLimit)
        // The largest buffer a connection allocates without asking: the rest of one read that
        // the socket did not take (see `TCPEchoConnection.keep`).
        let mandatory = min(self.connectionLimit, max(readSize, 4096))
        self.limit = max(0, limit)
        self.high = self.limit - mandatory
        self.low = high >= 0 ? max(0, high - self.limit / 8) : -1
        self.over = Atomic(high < 0)
    }

    /// Whether connections must not take more memory now. Relaxed: a stale answer costs at
    /// most one read's worth of memory, or one needless pause that the next resume lifts.
    @inline(__always)
    var isOver: Bool { over.load(ordering: .relaxed) }

    /// The bytes counted now.
    var allocated: Int { total.load(ordering: .relaxed) }

    /// Called on the thread of any loop each time the budget becomes over (true) or stops
    /// being over (false), with the total then.
    func onChange(_ action: (@Sendable (_ over: Bool, _ bytes: Int) -> Void)?) {
        change.withLock { $0 = action }
    }

    /// Counts a buffer that must be allocated (the rest of a read already made).
    @inline(__always)
    func take(_ bytes: Int) {
        let now = total.add(bytes, ordering: .sequentiallyConsistent).newValue
        if now > high && !over.load(ordering: .relaxed) { becomeOver() }
    }

    /// Counts `bytes` more for a buffer that would like to grow; false (nothing counted) when
    /// the budget is over or they would pass the bound.
    func tryTake(_ bytes: Int) -> Bool {
        if over.load(ordering: .relaxed) { return false }
        let now = total.add(bytes, ordering: .sequentiallyConsistent).newValue
        if now > limit {
            total.subtract(bytes, ordering: .sequentiallyConsistent)
            if !over.load(ordering: .relaxed) { becomeOver() }
            return false
        }
        if now > high && !over.load(ordering: .relaxed) { becomeOver() }
        return true
    }

    /// Uncounts a freed buffer (or the part of a growth that was not made).
    @inline(__always)
    func give(_ bytes: Int) {
        let now = total.subtract(bytes, ordering: .sequentiallyConsistent).newValue
        if now <= low && over.load(ordering: .relaxed) { becomeUnder() }
    }

    // The two transitions re-check the total after flipping the flag, each against the other
    // running at the same time on another thread: whichever flips last sees the other's total,
    // so the flag never stays over with the total at `low` or below (which would leave paused
    // connections paused), nor under with it above `high`. Bounded: each round needs the
    // total to have moved across the gap between `low` and `high` meanwhile.

    private func becomeOver() {
        for _ in 0..<64 {
            guard over.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged
            else { return }
            let now = total.load(ordering: .sequentiallyConsistent)
            if now > low {
                notify(over: true, now)
                return
            }
            guard over.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged
            else { return }
            notify(over: false, now)
            if total.load(ordering: .sequentiallyConsistent) <= high { return }
        }
    }

    private func becomeUnder() {
        for _ in 0..<64 {
            guard over.compareExchange(expected: true, desired: false, ordering: .sequentiallyConsistent).exchanged
            else { return }
            notify(over: false, total.load(ordering: .sequentiallyConsistent))
            if total.load(ordering: .sequentiallyConsistent) <= high { return }
            guard over.compareExchange(expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged
            else { return }
            let now = total.load(ordering: .sequentiallyConsistent)
            if now > low {
                notify(over: true, now)
                return
            }
        }
    }

    private func notify(over: Bool, _ bytes: Int) {
        change.withLock { $0 }?(over, bytes)
    }
}
