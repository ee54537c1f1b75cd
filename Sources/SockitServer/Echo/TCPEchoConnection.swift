import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// One echo connection: reads into the loop's shared buffer and writes straight back from it.
/// Only a short write allocates: the rest goes into a pending buffer, flushed when the socket is
/// writable, and later reads go into that buffer until it is flushed. It never holds more than
/// `pendingWriteLimit` unsent bytes (the buffer never grows past it, and a read takes at most
/// what is left of it); at the limit it stops reading until the peer has taken everything, so a
/// peer that never reads costs at most that much memory. The server's `EchoOutputBudget` bounds
/// the sum over all connections (see there for what a connection does while it is over).
final class TCPEchoConnection: EventHandler {
    let fd: CInt
    unowned let state: EchoLoopState
    /// The server's, kept here because every read looks at it (no `unowned` check on the way).
    let budget: EchoOutputBudget
    var slot = -1
    /// The place in `state.budgetPaused` while paused by the budget, else -1.
    var budgetSlot = -1
    var lastActivity: ContinuousClock.Instant

    private var pending: UnsafeMutableRawPointer?
    private var pendingStart = 0
    private var pendingEnd = 0
    /// The allocated size of `pending`, counted in the budget.
    private var pendingCapacity = 0
    /// The peer sent FIN: echo what is pending, then send ours.
    private var peerClosed = false
    /// `pendingWriteLimit` bytes pending: no reading until all are sent.
    private var readPaused = false
    private var interest: Interest = .read
    private var closed = false

    init(fd: CInt, state: EchoLoopState, now: ContinuousClock.Instant) {
        self.fd = fd
        self.state = state
        self.budget = state.core.budget
        self.lastActivity = now
    }

    deinit {
        pending?.deallocate()
    }

    @inline(__always)
    private var pendingCount: Int { pendingEnd - pendingStart }

    override func handle(_ event: ReadyEvent, on loop: EventLoop) {
        // An error or hang-up is found out by the read or write it makes fail.
        if (event.readable || event.failed) && !readPaused && budgetSlot < 0 && !peerClosed {
            readable(loop)
            if closed { return }
        }
        if event.writable || event.failed {
            if pendingCount > 0 {
                flush(loop)
            } else if budgetSlot >= 0 {
                // Paused with nothing pending: the socket had no room; now it has.
                state.unpauseForBudget(self)
                updateInterest(loop)
            }
        }
    }

    @inline(__always)
    private func readable(_ loop: EventLoop) {
        if pendingCount > 0 {
            readIntoPending(loop)
            return
        }
        if budget.isOver {
            echoUnbuffered(loop)
            return
        }
        let buffer = loop.readBuffer.baseAddress!
        switch ServerSys.receive(fd, buffer, budget.readSize) {
        case .success(.processed(0)):
            peerClosed = true
            finish()
        case .success(.processed(let count)):
            lastActivity = loop.now
            switch ServerSys.send(fd, buffer, count) {
            case .success(.processed(let written)) where written == count:
                return
            case .success(.processed(let written)):
                keep(buffer + written, count - written)
            case .success(.wouldBlock):
                keep(buffer, count)
            case .failure(let errno):
                fail(errno, "send")
                return
            }
            if pendingCount >= budget.connectionLimit { readPaused = true }
            updateInterest(loop)
        case .success(.wouldBlock):
            return
        case .failure(let errno):
            fail(errno, "recv")
        }
    }

    /// Output is pending: read behind it, into its buffer, at most up to the limit; while the
    /// budget is over, only into the room the buffer has.
    private func readIntoPending(_ loop: EventLoop) {
        let live = pendingCount
        let limit = budget.connectionLimit
        guard live < limit else {
            readPaused = true
            updateInterest(loop)
            return
        }
        var room = min(limit - live, budget.readSize)
        if live + room > pendingCapacity && !grow(toHold: live + room) {
            room = pendingCapacity - live
        }
        guard room > 0 else {
            state.pauseForBudget(self)
            updateInterest(loop)
            return
        }
        if pendingEnd + room > pendingCapacity {
            (pending!).copyMemory(from: pending! + pendingStart, byteCount: live)
            pendingStart = 0
            pendingEnd = live
        }
        switch ServerSys.receive(fd, pending! + pendingEnd, room) {
        case .success(.processed(0)):
            peerClosed = true
            updateInterest(loop)
        case .success(.processed(let count)):
            lastActivity = loop.now
            pendingEnd += count
            if pendingCount >= limit {
                readPaused = true
            } else if pendingCount == pendingCapacity && budget.isOver {
                state.pauseForBudget(self)
            }
            updateInterest(loop)
        case .success(.wouldBlock):
            return
        case .failure(let errno):
            fail(errno, "recv")
        }
    }

    /// The budget is over and nothing is pending: echo only what the socket takes at once, so
    /// that nothing needs keeping. Peek, send, then consume as many bytes as were sent (they
    /// are the first ones queued). When the socket takes less, wait until it is writable.
    private func echoUnbuffered(_ loop: EventLoop) {
        let buffer = loop.readBuffer.baseAddress!
        switch ServerSys.receive(fd, buffer, budget.readSize, flags: CInt(MSG_PEEK)) {
        case .success(.processed(0)):
            peerClosed = true
            finish()
        case .success(.processed(let count)):
            lastActivity = loop.now
            var sent = 0
            switch ServerSys.send(fd, buffer, count) {
            case .success(.processed(let written)):
                sent = written
            case .success(.wouldBlock):
                break
            case .failure(let errno):
                fail(errno, "send")
                return
            }
            if sent > 0 {
                switch ServerSys.receive(fd, buffer, sent) {
                case .success(.processed(let consumed)) where consumed == sent:
                    break
                case .failure(let errno):
                    fail(errno, "recv")
                    return
                default:
                    // Cannot happen: the bytes were peeked. Never echo any of them twice.
                    state.core.logger.warning("closing a connection: fewer bytes to consume than were peeked")
                    close()
                    return
                }
            }
            if sent < count {
                state.pauseForBudget(self)
                updateInterest(loop)
            }
        case .success(.wouldBlock):
            return
        case .failure(let errno):
            fail(errno, "recv")
        }
    }

    private func flush(_ loop: EventLoop) {
        while pendingCount > 0 {
            switch ServerSys.send(fd, pending! + pendingStart, pendingCount) {
            case .success(.processed(let written)):
                pendingStart += written
                lastActivity = loop.now
            case .success(.wouldBlock):
                updateInterest(loop)
                return
            case .failure(let errno):
                fail(errno, "send")
                return
            }
        }
        // Drained: give the memory back (an idle connection holds no buffer).
        release()
        readPaused = false
        if budgetSlot >= 0 { state.unpauseForBudget(self) }
        if peerClosed {
            finish()
        } else {
            updateInterest(loop)
        }
    }

    /// Keeps the part of a read the socket did not take; nothing is pending yet.
    private func keep(_ bytes: UnsafeRawPointer, _ count: Int) {
        let capacity = min(budget.connectionLimit, max(count, 4096))
        budget.take(capacity)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        buffer.copyMemory(from: bytes, byteCount: count)
        pending = buffer
        pendingCapacity = capacity
        pendingStart = 0
        pendingEnd = count
    }

    /// Grows the pending buffer to hold `needed` bytes (doubling, never past the limit), if the
    /// budget allows.
    private func grow(toHold needed: Int) -> Bool {
        let capacity = min(budget.connectionLimit, max(pendingCapacity * 2, needed))
        guard capacity > pendingCapacity, budget.tryTake(capacity - pendingCapacity) else { return false }
        let live = pendingCount
        let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        grown.copyMemory(from: pending! + pendingStart, byteCount: live)
        pending!.deallocate()
        pending = grown
        pendingCapacity = capacity
        pendingStart = 0
        pendingEnd = live
        return true
    }

    /// Frees the pending buffer and uncounts it.
    private func release() {
        guard let buffer = pending else { return }
        buffer.deallocate()
        pending = nil
        let capacity = pendingCapacity
        pendingStart = 0
        pendingEnd = 0
        pendingCapacity = 0
        budget.give(capacity)
    }

    /// The budget is no longer over: read again (`state` has taken it off its list).
    func budgetResumed(_ loop: EventLoop) {
        guard !closed else { return }
        updateInterest(loop)
    }

    @inline(__always)
    private func updateInterest(_ loop: EventLoop) {
        var wanted: Interest = .none
        if budgetSlot >= 0 {
            // Paused by the budget: only waiting to send, pending bytes or room in the socket.
            wanted = .write
        } else {
            if !readPaused && !peerClosed { wanted.insert(.read) }
            if pendingCount > 0 { wanted.insert(.write) }
        }
        guard wanted != interest else { return }
        interest = wanted
        do {
            try loop.reregister(fd: fd, interest: wanted)
        } catch {
            close()
        }
    }

    /// Everything echoed and the peer sent FIN: send ours and close.
    private func finish() {
        ServerSys.shutdownWrite(fd)
        close()
    }

    /// A reset or any other error ends this connection only.
    private func fail(_ errno: Errno, _ syscall: String) {
        if errno == .connectionReset || errno == .brokenPipe {
            state.core.logger.debug("connection reset by the peer")
        } else {
            state.core.logger.info("closing a connection: \(syscall) failed: \(errno)")
        }
        close()
    }

    func close() {
        guard !closed else { return }
        closed = true
        if budgetSlot >= 0 { state.unpauseForBudget(self) }
        state.loop.deregister(fd: fd)
        Sys.close(fd)
        release()
        state.remove(self)
        state.core.connectionClosed()
    }
}
