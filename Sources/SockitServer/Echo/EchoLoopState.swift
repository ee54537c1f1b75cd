import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The echo connections of one loop, touched by that loop's thread only.
final class EchoLoopState {
    unowned let loop: EventLoop
    let core: TCPEchoServer.Core
    /// Open connections, for the idle sweep and the end of a drain. A connection knows its slot.
    var connections: [TCPEchoConnection] = []
    var idleTimer: UInt64?
    /// Connections paused by the output budget, read from again when it is no longer over.
    /// A connection knows its place (`budgetSlot`).
    var budgetPaused: [TCPEchoConnection] = []

    init(loop: EventLoop, core: TCPEchoServer.Core) {
        precondition(loop.readBuffer.count >= core.budget.readSize, "the loop's read buffer is smaller than a read")
        self.loop = loop
        self.core = core
    }

    /// Takes over an accepted descriptor: registers it for reading.
    func adopt(_ fd: CInt) {
        let connection = TCPEchoConnection(fd: fd, state: self, now: loop.now)
        do {
            try loop.register(connection, fd: fd, interest: .read)
        } catch {
            core.logger.warning("cannot register a connection: \(error.summary)")
            Sys.close(fd)
            core.connectionClosed()
            return
        }
        connection.slot = connections.count
        connections.append(connection)
        if core.configuration.idleTimeout != nil && idleTimer == nil { scheduleIdleSweep() }
    }

    func remove(_ connection: TCPEchoConnection) {
        Self.swapRemove(connection, from: &connections, slot: \.slot)
    }

    func pauseForBudget(_ connection: TCPEchoConnection) {
        guard connection.budgetSlot < 0 else { return }
        connection.budgetSlot = budgetPaused.count
        budgetPaused.append(connection)
    }

    func unpauseForBudget(_ connection: TCPEchoConnection) {
        Self.swapRemove(connection, from: &budgetPaused, slot: \.budgetSlot)
    }

    /// Removes `connection` from `list` in O(1): the last element takes its place, and each
    /// connection keeps its index in the list in `slot` (-1 when it is in none).
    private static func swapRemove(
        _ connection: TCPEchoConnection, from list: inout [TCPEchoConnection],
        slot: ReferenceWritableKeyPath<TCPEchoConnection, Int>
    ) {
        let index = connection[keyPath: slot]
        guard index >= 0, index < list.count, list[index] === connection else { return }
        let last = list.removeLast()
        if index < list.count {
            list[index] = last
            last[keyPath: slot] = index
        }
        connection[keyPath: slot] = -1
    }

    /// The budget is no longer over (told by whichever loop made it so): every connection it
    /// paused here reads again. If it is over again already, they stay paused until the next time.
    func resumeAfterBudget() {
        guard !core.budget.isOver, !budgetPaused.isEmpty else { return }
        let paused = budgetPaused
        budgetPaused.removeAll(keepingCapacity: true)
        for connection in paused { connection.budgetSlot = -1 }
        for connection in paused { connection.budgetResumed(loop) }
    }

    private func scheduleIdleSweep() {
        guard let timeout = core.configuration.idleTimeout else { return }
        let period = max(timeout / 4, .milliseconds(10))
        idleTimer = loop.schedule(after: period) { [self] in
            idleTimer = nil
            sweepIdle(timeout)
            if !connections.isEmpty { scheduleIdleSweep() }
        }
    }

    private func sweepIdle(_ timeout: Duration) {
        let now = ContinuousClock.now
        var index = connections.count - 1
        while index >= 0 {
            if index < connections.count {
                let connection = connections[index]
                if connection.lastActivity.duration(to: now) >= timeout {
                    core.logger.debug("closing an idle connection")
                    connection.close()
                }
            }
            index -= 1
        }
    }

    /// Closes every connection (the end of a drain, or a second signal).
    func closeAll() {
        while let connection = connections.last { connection.close() }
    }
}
