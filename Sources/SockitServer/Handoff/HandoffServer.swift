import Sockit
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The running instance's side of a hitless restart: a Unix socket at PATH (mode 0600) that
/// hands the listening sockets to the next instance. See `ListenerHandoff` for the sequence.
///
/// It answers one new instance at a time, on a thread of its own (never on an event loop or
/// the cooperative pool: the exchange blocks, with timeouts).
public final class HandoffServer: Sendable {
    /// The control socket's path.
    public let path: String
    private let listeners: [CInt]
    private let names: [String]
    private let readyTimeout: Duration
    private let onHandedOff: @Sendable (Int32) -> Void
    private let log: @Sendable (String) -> Void
    private let state = Mutex<State>(State())

    private struct State {
        var control: Socket?
        /// Device and inode of the socket file we put at `path`, to remove only our own.
        var identity: (UInt64, UInt64)?
        var wake: (Socket, Socket)?
        var thread: pthread_t?
        var handedOff = false
    }

    /// - Parameters:
    ///   - path: where the next instance will look.
    ///   - listeners: the listening descriptors to hand over (they stay owned by the caller).
    ///   - names: a name per listener (may be empty).
    ///   - readyTimeout: how long a new instance may take between receiving the sockets and READY.
    ///   - onHandedOff: called with the new instance's pid once it accepts; must stop accepting
    ///     (without closing the listeners) before it returns. The caller then drains and exits.
    ///   - log: one line per event, for the server's log.
    public init(
        path: String, listeners: [CInt], names: [String] = [], readyTimeout: Duration = .seconds(30),
        onHandedOff: @escaping @Sendable (Int32) -> Void, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.path = path
        self.listeners = listeners
        self.names = names
        self.readyTimeout = readyTimeout
        self.onHandedOff = onHandedOff
        self.log = log
    }

    /// Whether a new instance has taken over.
    public var handedOff: Bool { state.withLock { $0.handedOff } }

    /// Puts the control socket at `path` (replacing a stale socket file, never another kind of
    /// file) and starts answering.
    public func start() throws(ListenerHandoff.Failure) {
        try bindControlSocket()
        let wake: (Socket, Socket)
        do {
            wake = try Socket.pair()
        } catch {
            throw ListenerHandoff.Failure("cannot start the hand-off thread: \(error)")
        }
        state.withLock { $0.wake = wake }
        let thread = spawnThread { [self] in self.serve() }
        state.withLock { $0.thread = thread }
    }

    /// Stops answering, and removes the socket file at `path` if it is still ours (after a
    /// hand-off it belongs to the new instance and stays).
    public func stop() {
        let (wake, thread) = state.withLock { ($0.wake, $0.thread) }
        if let wake { try? wake.0.sendAll([1]) }
        if let thread { pthread_join(thread, nil) }
        state.withLock { state in
            if let identity = state.identity, Self.identity(of: path).map({ $0 == identity }) == true {
                unlink(path)
            }
            try? state.control?.close()
            state.control = nil
            state.thread = nil
        }
    }

    // MARK: Control socket

    private func bindControlSocket() throws(ListenerHandoff.Failure) {
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFSOCK {
            throw ListenerHandoff.Failure("\(path) exists and is not a socket; refusing to replace it")
        }
        // Bind a temporary name, restrict it, then rename over PATH: PATH always leads to a live
        // instance, and a stale file is replaced atomically.
        let temporary = "\(path).\(getpid()).tmp"
        unlink(temporary)
        do {
            let control = try Socket(.unix, .stream)
            let oldMask = umask(0o177)
            defer { umask(oldMask) }
            try control.bind(to: .unix(.init(path: temporary)))
            chmod(temporary, 0o600)
            try control.listen(backlog: 8)
            guard rename(temporary, path) == 0 else {
                let errno = Errno.current
                unlink(temporary)
                throw ListenerHandoff.Failure("cannot put the hand-off socket at \(path): \(errno)")
            }
            let identity = Self.identity(of: path)
            state.withLock {
                $0.control = control
                $0.identity = identity
            }
        } catch let failure as ListenerHandoff.Failure {
            throw failure
        } catch {
            unlink(temporary)
            throw ListenerHandoff.Failure("cannot listen for a hand-off at \(path): \(error)")
        }
    }

    private static func identity(of path: String) -> (UInt64, UInt64)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    // MARK: The exchange

    private func serve() {
        while true {
            guard let (control, wake) = state.withLock({ state in state.control.flatMap { c in state.wake.map { (c, $0.1) } } })
            else { return }
            var fds = [
                pollfd(fd: control.fileDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.fileDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 { if errno == EINTR { continue } else { return } }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0, let (connection, _) = try? control.accept() else { continue }
            if exchange(with: connection) {
                state.withLock { state in
                    // PATH now leads to the new instance; only close our socket.
                    try? state.control?.close()
                    state.control = nil
                    state.identity = nil
                }
                return
            }
        }
    }

    /// One hand-off attempt. Returns true once the new instance took over.
    private func exchange(with connection: Socket) -> Bool {
        do {
            let peer = try connection.peerCredentials()
            guard peer.uid == getuid() || peer.uid == 0 else {
                log("refused a hand-off to pid \(peer.pid): it runs as uid \(peer.uid), we as uid \(getuid())")
                try? connection.sendAll(HandoffMessage.denied(reason: "uid \(peer.uid) may not take these sockets").encoded)
                return false
            }
            try connection.setOption(.receiveTimeout, .seconds(5))
            try connection.setOption(.sendTimeout, .seconds(5))
            let (line, _) = try ListenerHandoff.readLine(connection)
            guard (try? HandoffMessage(parsing: line)) == .request else {
                try? connection.sendAll(HandoffMessage.denied(reason: "expected REQUEST").encoded)
                return false
            }
            try connection.send(
                HandoffMessage.listeners(count: listeners.count, names: names).encoded, descriptors: listeners)
            log("handed \(listeners.count) listening socket(s) to pid \(peer.pid); waiting until it accepts")
            try connection.setOption(.receiveTimeout, readyTimeout)
            let (answer, _) = try ListenerHandoff.readLine(connection)
            guard (try? HandoffMessage(parsing: answer)) == .ready else {
                return recoverFromFailedTakeover(pid: peer.pid, reason: answer.isEmpty ? "it exited" : "it sent something else")
            }
            onHandedOff(peer.pid)
            state.withLock { $0.handedOff = true }
            try? connection.sendAll(HandoffMessage.done.encoded)
            log("pid \(peer.pid) accepts now; this instance stopped accepting and drains")
            return true
        } catch let error as SocketError where error.errno == .wouldBlock {
            return recoverFromFailedTakeover(pid: nil, reason: "it did not get ready in time")
        } catch {
            return recoverFromFailedTakeover(pid: nil, reason: "\(error)")
        }
    }

    /// The new instance failed before it was ready: we never stopped accepting; make sure PATH
    /// leads here again (it may have renamed its own socket over it) and keep serving.
    private func recoverFromFailedTakeover(pid: Int32?, reason: String) -> Bool {
        log("the new instance\(pid.map { " (pid \($0))" } ?? "") failed before it was ready (\(reason)); still serving")
        let ours = state.withLock { $0.identity }
        if ours == nil || Self.identity(of: path).map({ $0 != ours! }) ?? true {
            let old = state.withLock { state -> Socket? in
                defer { state.control = nil }
                return state.control
            }
            do {
                try bindControlSocket()
                try? old?.close()
            } catch {
                state.withLock { $0.control = old }
                log("could not restore \(path): \(error)")
            }
        }
        return false
    }
}

/// Starts a detached-on-join thread running `body`.
func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box: @unchecked Sendable {  // handed over once, to the new thread
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let result = pthread_create(
        &thread, nil,
        { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.body()
            return nil
        }, box)
    precondition(result == 0, "pthread_create failed: \(result)")
    return thread
}
