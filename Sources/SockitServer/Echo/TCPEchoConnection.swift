#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Sockit

/// The echo connections of one loop, touched by that loop's thread only.
final class EchoLoopState {
    unowned let loop: EventLoop
    let core: TCPEchoServer.Core
    /// Open connections, for the idle sweep and the end of a drain. A connection knows its slot.
    var connections: [TCPEchoConnection] = []
    var idleTimer: UInt64?

    init(loop: EventLoop, core: TCPEchoServer.Core) {
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
            RawIO.close(fd)
            core.connectionClosed()
            return
        }
        connection.slot = connections.count
        connections.append(connection)
        if core.configuration.idleTimeout != nil && idleTimer == nil { scheduleIdleSweep() }
    }

    func remove(_ connection: TCPEchoConnection) {
        let slot = connection.slot
        guard slot >= 0, slot < connections.count, connections[slot] === connection else { return }
        let last = connections.removeLast()
        if slot < connections.count {
            connections[slot] = last
            last.slot = slot
        }
        connection.slot = -1
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

/// One echo connection: reads into the loop's shared buffer and writes straight back from it.
/// Only a short write allocates: the rest goes into a pending buffer, flushed when the socket is
/// writable. Past `pendingWriteLimit` buffered bytes it stops reading until the peer catches up,
/// so a peer that never reads costs at most that much memory.
final class TCPEchoConnection: EventHandler {
    let fd: CInt
    unowned let state: EchoLoopState
    var slot = -1
    var lastActivity: ContinuousClock.Instant

    private var pending: UnsafeMutableRawPointer?
    private var pendingStart = 0
    private var pendingEnd = 0
    private var pendingCapacity = 0
    /// The peer sent FIN: echo what is pending, then send ours.
    private var peerClosed = false
    private var readPaused = false
    private var interest: Interest = .read
    private var closed = false

    init(fd: CInt, state: EchoLoopState, now: ContinuousClock.Instant) {
        self.fd = fd
        self.state = state
        self.lastActivity = now
    }

    deinit {
        pending?.deallocate()
    }

    @inline(__always)
    private var pendingCount: Int { pendingEnd - pendingStart }

    override func handle(_ event: ReadyEvent, on loop: EventLoop) {
        // An error or hang-up is found out by the read or write it makes fail.
        if (event.readable || event.failed) && !readPaused && !peerClosed {
            readable(loop)
            if closed { return }
        }
        if (event.writable || event.failed) && pendingCount > 0 {
            flush(loop)
        }
    }

    @inline(__always)
    private func readable(_ loop: EventLoop) {
        let buffer = loop.readBuffer
        switch RawIO.receive(fd, buffer.baseAddress!, buffer.count) {
        case .done(0):
            peerClosed = true
            if pendingCount == 0 { finish() } else { updateInterest(loop) }
        case .done(let count):
            lastActivity = loop.now
            if pendingCount == 0 {
                switch RawIO.send(fd, buffer.baseAddress!, count) {
                case .done(let written) where written == count:
                    return
                case .done(let written):
                    append(buffer.baseAddress! + written, count - written)
                case .wouldBlock:
                    append(buffer.baseAddress!, count)
                case .failed(let code):
                    fail(code, "send")
                    return
                }
            } else {
                append(buffer.baseAddress!, count)
            }
            if pendingCount >= state.core.configuration.pendingWriteLimit { readPaused = true }
            updateInterest(loop)
        case .wouldBlock:
            return
        case .failed(let code):
            fail(code, "recv")
        }
    }

    private func flush(_ loop: EventLoop) {
        while pendingCount > 0 {
            switch RawIO.send(fd, pending! + pendingStart, pendingCount) {
            case .done(let written):
                pendingStart += written
                lastActivity = loop.now
            case .wouldBlock:
                updateInterest(loop)
                return
            case .failed(let code):
                fail(code, "send")
                return
            }
        }
        // Drained: give the memory back (an idle connection holds no buffer).
        pending?.deallocate()
        pending = nil
        pendingStart = 0
        pendingEnd = 0
        pendingCapacity = 0
        readPaused = false
        if peerClosed {
            finish()
        } else {
            updateInterest(loop)
        }
    }

    private func append(_ bytes: UnsafeRawPointer, _ count: Int) {
        if pendingEnd + count > pendingCapacity {
            let live = pendingCount
            if pendingStart > 0, live + count <= pendingCapacity {
                pending!.copyMemory(from: pending! + pendingStart, byteCount: live)
            } else {
                let capacity = max(pendingCapacity * 2, live + count, 4096)
                let grown = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
                if let pending {
                    grown.copyMemory(from: pending + pendingStart, byteCount: live)
                    pending.deallocate()
                }
                pending = grown
                pendingCapacity = capacity
            }
            pendingStart = 0
            pendingEnd = live
        }
        (pending! + pendingEnd).copyMemory(from: bytes, byteCount: count)
        pendingEnd += count
    }

    @inline(__always)
    private func updateInterest(_ loop: EventLoop) {
        var wanted: Interest = .none
        if !readPaused && !peerClosed { wanted.insert(.read) }
        if pendingCount > 0 { wanted.insert(.write) }
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
        RawIO.shutdownWrite(fd)
        close()
    }

    /// A reset or any other error ends this connection only.
    private func fail(_ code: CInt, _ syscall: String) {
        let errno = Errno(rawValue: code)
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
        state.loop.deregister(fd: fd)
        RawIO.close(fd)
        state.remove(self)
        state.core.connectionClosed()
    }
}
