import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Accepts connections on the first loop and hands them out to the loops round robin.
final class TCPEchoListener: EventHandler {
    let socket: Socket
    let fd: CInt
    let states: [EchoLoopState]
    let core: TCPEchoServer.Core
    private var next = 0
    private var paused = false
    /// Not watched while a new instance takes over (the socket stays open).
    private var stopped = false
    private var closed = false

    init(socket: Socket, states: [EchoLoopState], core: TCPEchoServer.Core) {
        self.socket = socket
        self.fd = socket.fileDescriptor
        self.states = states
        self.core = core
    }

    override func handle(_ event: ReadyEvent, on loop: EventLoop) {
        // Bounded, so that a flood of connections cannot starve the connections of this loop.
        for _ in 0..<128 {
            switch ServerSys.accept(fd) {
            case .success(.processed(let connection)):
                guard core.admit() else {
                    core.logger.debug("over the connection limit (maxConnections): closing a new connection")
                    Sys.close(connection)
                    continue
                }
                let state = states[next]
                next = next + 1 == states.count ? 0 : next + 1
                if state.loop === loop {
                    state.adopt(connection)
                } else {
                    let box = UnsafeTransfer(state)
                    state.loop.execute { box.value.adopt(connection) }
                }
            case .success(.wouldBlock):
                return
            case .failure(let errno):
                switch errno.rawValue {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    pause(loop, errno)
                    return
                default:
                    // ECONNABORTED, EPROTO, EPERM (a firewall): that connection only.
                    core.logger.debug("accept4 failed: \(errno)")
                }
            }
        }
    }

    /// Out of descriptors: a level-triggered listener would report the waiting connection again
    /// at once and spin the CPU, so stop watching it for a while instead.
    private func pause(_ loop: EventLoop, _ errno: Errno) {
        guard !paused, !closed else { return }
        paused = true
        core.logger.warning(
            "cannot accept: \(errno); pausing accept",
            metadata: [
                "for": "\(core.configuration.acceptBackoff)",
                "open": "\(core.connectionCount.load(ordering: .relaxed))",
            ])
        try? loop.reregister(fd: fd, interest: .none)
        loop.schedule(after: core.configuration.acceptBackoff) { [self] in
            paused = false
            guard !closed, !stopped else { return }
            try? loop.reregister(fd: fd, interest: .read)
        }
    }

    func close(on loop: EventLoop) {
        guard !closed else { return }
        closed = true
        if !stopped { loop.deregister(fd: fd) }
        try? socket.close()
    }

    /// A new instance accepts on this socket now: stop watching it, but neither close it nor
    /// shut it down (either would reset or disconnect the accept queue the new instance serves).
    func stopAccepting(on loop: EventLoop) {
        guard !closed, !stopped else { return }
        stopped = true
        loop.deregister(fd: fd)
    }

    /// The new instance went away before it confirmed: watch the socket again. Connections that
    /// arrived meanwhile waited in its accept queue.
    func resumeAccepting(on loop: EventLoop) {
        guard !closed, stopped else { return }
        do {
            try loop.register(self, fd: fd, interest: paused ? .none : .read)
            stopped = false
        } catch {
            core.logger.error("cannot accept again on the listener: \(error.summary)")
        }
    }
}
