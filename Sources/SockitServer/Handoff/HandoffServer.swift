import Sockit
import Synchronization

#if canImport(Glibc)
import Glibc
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
    private let stopAccepting: @Sendable (Int32) -> Void
    private let resumeAccepting: @Sendable (Int32) -> Void
    private let onHandedOff: @Sendable (Int32) -> Void
    private let log: @Sendable (String) -> Void
    private let state = Locked<State>(State())

    /// The longest PATH: `sun_path` holds 107 bytes, and the temporary name bound before the
    /// rename adds `.PID.tmp` (up to 12 bytes).
    public static let maximumPathLength = 95

    /// Which file a path names (device and inode), to touch only our own socket file.
    struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    private struct State {
        var control: Socket?
        /// The socket file we put at `path`.
        var identity: FileIdentity?
        var wake: (Socket, Socket)?
        var thread: pthread_t?
        /// The pid of the instance that took over.
        var successor: Int32?
    }

    /// A control socket for `path`, not yet serving: call `start()`.
    ///
    /// - Parameters:
    ///   - path: where the next instance will look.
    ///   - listeners: the listening descriptors to hand over (they stay owned by the caller).
    ///   - names: a name per listener (may be empty).
    ///   - readyTimeout: how long a new instance may take between receiving the sockets and READY,
    ///     and between DONE and ACK.
    ///   - stopAccepting: called with the new instance's pid once it accepts (READY); must stop
    ///     accepting before it returns, without closing or shutting down the listeners.
    ///   - resumeAccepting: called with that pid when it went away before it confirmed (the
    ///     connection closed without ACK, or no ACK within `readyTimeout`): accept again on the
    ///     same listeners, which never closed. PATH still leads to this instance.
    ///   - onHandedOff: called with that pid once it confirmed (ACK). The caller then drains and exits.
    ///   - log: one line per event, for the server's log.
    public init(
        path: String, listeners: [CInt], names: [String] = [], readyTimeout: Duration = .seconds(30),
        stopAccepting: @escaping @Sendable (Int32) -> Void, resumeAccepting: @escaping @Sendable (Int32) -> Void,
        onHandedOff: @escaping @Sendable (Int32) -> Void, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.path = path
        self.listeners = listeners
        self.names = names
        self.readyTimeout = readyTimeout
        self.stopAccepting = stopAccepting
        self.resumeAccepting = resumeAccepting
        self.onHandedOff = onHandedOff
        self.log = log
    }

    /// Whether a new instance has taken over.
    public var handedOff: Bool { state.withLock { $0.successor != nil } }

    /// Whether PATH still leads to this instance's control socket (false once a new instance
    /// put its own there, or when the file was removed).
    public var ownsPath: Bool {
        guard let ours = state.withLock({ $0.identity }) else { return false }
        return Self.identity(of: path) == ours
    }

    /// Puts the control socket at `path` (replacing a stale socket file, never another kind of
    /// file) and starts answering.
    public func start() throws(ListenerHandoff.Failure) {
        try bindControlSocket()
        let wake: (Socket, Socket)
        do {
            wake = try Socket.pair()
        } catch {
            throw ListenerHandoff.Failure("cannot start the hand-off thread: \(error.summary)", cause: error)
        }
        state.withLock { $0.wake = wake }
        let thread = spawnThread { [self] in self.serve() }
        state.withLock { $0.thread = thread }
    }

    /// Stops answering, and removes the socket file at `path` if it is still ours (after a
    /// hand-off it belongs to the new instance and stays). An exchange in progress is finished
    /// first (each of its waits is bounded by `readyTimeout`): a new instance that already holds
    /// our sockets then takes over as it would have, and the caller finds `handedOff` true, or
    /// goes away and `resumeAccepting` has run. Call it before deciding whether to close the
    /// listeners.
    public func stop() {
        let (wake, thread) = state.withLock { ($0.wake, $0.thread) }
        if let wake { try? wake.0.sendAll([1]) }
        if let thread { Sys.joinThread(thread) }
        state.withLock { state in
            if let identity = state.identity, Self.identity(of: path) == identity {
                ServerSys.removeFile(path)
            }
            try? state.control?.close()
            state.control = nil
            state.identity = nil
            state.thread = nil
        }
    }

    // MARK: Control socket

    private func bindControlSocket() throws(ListenerHandoff.Failure) {
        guard path.utf8.count <= Self.maximumPathLength else {
            throw ListenerHandoff.Failure(
                "cannot listen for a hand-off at \(path): the path is \(path.utf8.count) bytes long, more than the \(Self.maximumPathLength) a Unix socket allows here",
                explanation: ["choose a shorter path, e.g. under /run or /tmp"])
        }
        if let info = ServerSys.fileStatus(path), (info.st_mode & S_IFMT) != S_IFSOCK {
            throw ListenerHandoff.Failure(
                "cannot listen for a hand-off at \(path): it exists and is not a socket; refusing to replace it",
                explanation: ["choose another path, or remove the file if it is not needed"])
        }
        // Bind a temporary name, restrict it to 0600 before listening (until then a connect is
        // refused), then rename over PATH: PATH always leads to a live instance, and a stale file
        // is replaced atomically. Not umask: it is the whole process's, other threads create files.
        let temporary = "\(path).\(ServerSys.processID).tmp"
        ServerSys.removeFile(temporary)
        do {
            let control = try Socket(.unix, .stream)
            try control.bind(to: .unix(.init(path: temporary)))
            if case .failure(let errno) = ServerSys.changeMode(temporary, 0o600) {
                ServerSys.removeFile(temporary)
                throw ListenerHandoff.Failure("cannot make the hand-off socket \(temporary) mode 0600: \(errno)")
            }
            try control.listen(backlog: 64)
            if case .failure(let errno) = ServerSys.rename(temporary, to: path) {
                ServerSys.removeFile(temporary)
                throw ListenerHandoff.Failure("cannot put the hand-off socket at \(path): \(errno)")
            }
            let identity = Self.identity(of: path)
            state.withLock {
                $0.control = control
                $0.identity = identity
            }
        } catch let failure as ListenerHandoff.Failure {
            throw failure
        } catch let error as SocketError {
            ServerSys.removeFile(temporary)
            throw ListenerHandoff.Failure("cannot listen for a hand-off at \(path): \(error.errno)", cause: error)
        } catch {
            ServerSys.removeFile(temporary)
            throw ListenerHandoff.Failure("cannot listen for a hand-off at \(path): \(error)")
        }
    }

    static func identity(of path: String) -> FileIdentity? {
        guard let info = ServerSys.fileStatus(path) else { return nil }
        return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    // MARK: The exchange

    private func serve() {
        while true {
            guard
                let (control, wake) = state.withLock({ state in
                    state.control.flatMap { c in state.wake.map { (c, $0.1) } }
                })
            else { return }
            var fds = [
                pollfd(fd: control.fileDescriptor, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wake.fileDescriptor, events: Int16(POLLIN), revents: 0),
            ]
            switch Sys.poll(&fds, 2, -1) {
            case .success: break
            case .failure(let errno) where errno.rawValue == EINTR: continue
            case .failure: return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0, let (connection, _) = try? control.accept() else { continue }
            if let successor = state.withLock({ $0.successor }) {
                // Between the successor's ACK and its rename, PATH still leads here.
                try? connection.setOption(.sendTimeout, .seconds(1))
                try? connection.sendAll(
                    HandoffMessage.denied(reason: "this instance handed its sockets to pid \(successor); try again")
                        .encoded)
            } else {
                exchange(with: connection)
            }
            try? connection.close()
        }
    }

    /// One hand-off attempt. Whatever fails before READY, this instance never stopped
    /// accepting and PATH still leads here: it simply serves on. After READY it stops accepting
    /// but keeps its listeners open, and accepts again unless the new instance acknowledges our
    /// DONE (ACK).
    private func exchange(with connection: Socket) {
        var peerPID: Int32?
        do {
            let peer = try connection.peerCredentials()
            peerPID = peer.pid
            guard peer.uid == ServerSys.userID || peer.uid == 0 else {
                log("refused a hand-off to pid \(peer.pid): it runs as uid \(peer.uid), we as uid \(ServerSys.userID)")
                try? connection.setOption(.sendTimeout, .seconds(1))
                try? connection.sendAll(
                    HandoffMessage.denied(reason: "uid \(peer.uid) may not take these sockets").encoded)
                return
            }
            try connection.setOption(.receiveTimeout, .seconds(5))
            try connection.setOption(.sendTimeout, .seconds(5))
            let (line, _) = try ListenerHandoff.readLine(connection)
            guard (try? HandoffMessage(parsing: line)) == .request else {
                log("pid \(peer.pid) connected to \(path) but did not ask for a hand-off; ignored")
                try? connection.sendAll(HandoffMessage.denied(reason: "expected REQUEST").encoded)
                return
            }
            try connection.send(
                HandoffMessage.listeners(count: listeners.count, names: names).encoded, descriptors: listeners)
            log("handed \(listeners.count) listening socket(s) to pid \(peer.pid); accepting until it is ready")
            try connection.setOption(.receiveTimeout, readyTimeout)
            let (answer, _) = try ListenerHandoff.readLine(connection)
            guard (try? HandoffMessage(parsing: answer)) == .ready else {
                log(
                    "the new instance (pid \(peer.pid)) \(answer.isEmpty ? "exited" : "sent something else") before it was ready; still serving"
                )
                return
            }
        } catch {
            let reason =
                error.errno == .wouldBlock
                ? "it did not get ready within \(ListenerHandoff.seconds(readyTimeout))" : error.summary
            log(
                "a hand-off\(peerPID.map { " to pid \($0)" } ?? "") failed before the new instance was ready (\(reason)); still serving"
            )
            return
        }
        guard let pid = peerPID else { return }
        stopAccepting(pid)
        if let failure = confirmation(from: connection) {
            // It died (or stopped answering) after READY: nobody may be accepting. The listeners
            // never closed and PATH never changed hands, so take over again as if nothing happened.
            resumeAccepting(pid)
            log("pid \(pid) went away before it confirmed the hand-off (\(failure)); resumed accepting, still serving")
            return
        }
        state.withLock { state in
            state.successor = pid
            // PATH belongs to the successor now, even before its rename lands: never unlink it
            // from here (a check-then-unlink could remove the successor's new file).
            state.identity = nil
        }
        log("pid \(pid) accepts now; this instance stopped accepting and drains")
        onHandedOff(pid)
    }

    /// Sends DONE (we stopped accepting) and waits for ACK. Nil when it came; else why not.
    private func confirmation(from connection: Socket) -> String? {
        do {
            try connection.sendAll(HandoffMessage.done.encoded)
            let (line, _) = try ListenerHandoff.readLine(connection)
            if (try? HandoffMessage(parsing: line)) == .ack { return nil }
            return line.isEmpty ? "it closed the connection" : "it sent something else"
        } catch {
            return error.errno == .wouldBlock
                ? "no answer within \(ListenerHandoff.seconds(readyTimeout))" : error.summary
        }
    }
}
