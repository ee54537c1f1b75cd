import Sockit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A server's hitless restart in three calls around its own start-up, for any server built on
/// `SockitServer` (`TCPEchoServer` and `UDPEchoServer` use it):
///
/// ```swift
/// let restart = HitlessRestart(path: "/run/myserver/handoff.sock")
/// let inherited = try restart.inheritedListeners(type: .stream)  // 1. systemd's, or the old instance's
/// let listener = inherited.first ?? bindMyOwnListener()
/// startAccepting(on: listener)
/// try restart.accepting(                                         // 2. serve PATH, tell the old one
///     listeners: [listener],
///     stopAccepting: { pid in stopAcceptingWithoutClosing(listener) },  // a later instance accepts
///     resumeAccepting: { pid in startAccepting(on: listener) },         // ...but died before ACK
///     onHandedOff: { pid in beginDrain() })                             // it confirmed: drain
/// // ... serve, then drain and exit; on the way out:
/// restart.stop()                                                 // 3.
/// ```
///
/// ## Restarting without dropping a connection: the three ways
///
/// README's "Restart without dropping a connection" has the measurements
/// (`Scripts/restart-under-load.py`: restarts while a client opens short connections).
///
/// - **Plain restart** (`kill -9`, then start again; `SO_REUSEADDR` lets it bind at once over
///   TIME_WAIT): between the old process's exit and the new one's `listen()` nothing listens,
///   so connections are refused, and those waiting in the old accept queue are reset when the
///   kernel closes it.
/// - **`--reuse-port` overlap** (start the new process on the same port with `SO_REUSEPORT`, then
///   stop the old one): no gap in listening, but each listener has its own accept queue and the
///   kernel spreads new connections over them by hash, so whatever sits in the old queue when it
///   closes is reset, unless `net.ipv4.tcp_migrate_req=1` (Linux 5.14+) migrates those
///   requests to another listener in the group. It is a host setting; sockit never changes it.
/// - **Hand-off** (this type): the new process receives the very same listening socket, so
///   there is one accept queue throughout; the old process stops accepting without closing it,
///   and drains its own connections and exits only once the new one confirmed (ACK). A new
///   process that dies before that leaves the old one accepting again.
///
/// systemd socket activation is the fourth source of a listener: when systemd (or
/// `systemd-socket-activate`) started us with `LISTEN_FDS`, those sockets are used, and systemd
/// itself keeps them across restarts.
public final class HitlessRestart: Sendable {
    /// Where the listeners came from.
    public enum Origin: Sendable, Equatable {
        /// Nothing inherited: the server binds its own.
        case bound
        /// From systemd socket activation (`LISTEN_FDS`).
        case systemd
        /// From the instance that was running, with its pid.
        case handoff(pid: Int32)
    }

    /// The hand-off socket's path; nil for systemd activation only.
    public let path: String?
    /// How long each wait of the hand-off may take, on either side.
    public let timeout: Duration
    private let useSystemd: Bool
    private let log: @Sendable (String) -> Void
    private let state = Locked<State>(State())

    private struct State {
        var takeover: ListenerHandoff.Takeover?
        var server: HandoffServer?
        var origin: Origin = .bound
    }

    /// A restart helper; nothing happens until `inheritedListeners(type:)`.
    ///
    /// - Parameters:
    ///   - path: the hand-off socket (nil: no hand-off).
    ///   - timeout: how long the new instance waits for the old one's answers, and the old one
    ///     for the new one to get ready.
    ///   - systemd: whether to use sockets from systemd socket activation.
    ///   - log: one line per event, for the server's log.
    public init(
        path: String?, timeout: Duration = .seconds(10), systemd: Bool = true,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.path = path
        self.timeout = timeout
        self.useSystemd = systemd
        self.log = log
    }

    /// Where the listeners came from (after `inheritedListeners`).
    public var origin: Origin { state.withLock { $0.origin } }

    /// Step 1, before binding: the sockets to serve on instead of binding, in order: systemd's
    /// (`LISTEN_PID`/`LISTEN_FDS`, variables then unset), else those of the instance running at
    /// `path`. Empty: nothing to inherit, bind as usual.
    ///
    /// - Throws: `ListenerHandoff.Failure` when an instance answers at `path` but the hand-off
    ///   fails (it keeps serving; do not bind, exit), or systemd passed unusable descriptors.
    public func inheritedListeners(type: SocketType) throws(ListenerHandoff.Failure) -> [Socket] {
        if useSystemd {
            let activated: [SystemdActivation.Listener]
            do {
                activated = try SystemdActivation.listeners(type: type)
            } catch {
                throw ListenerHandoff.Failure(
                    "cannot use the sockets systemd passed (LISTEN_FDS): \(error.summary)", remedies: error.remedies)
            }
            if !activated.isEmpty {
                state.withLock { $0.origin = .systemd }
                log(
                    "using \(activated.count) listening socket(s) from systemd (\(activated.map(\.name).joined(separator: ",")))"
                )
                return activated.map(\.socket)
            }
        }
        guard let path else { return [] }
        guard let takeover = try ListenerHandoff.acquire(path: path, type: type, timeout: timeout) else {
            log("no instance answers at \(path); binding")
            return []
        }
        state.withLock {
            $0.takeover = takeover
            $0.origin = .handoff(pid: takeover.peerPID)
        }
        log("received \(takeover.listeners.count) listening socket(s) from pid \(takeover.peerPID) through \(path)")
        return takeover.listeners
    }

    /// Step 2, once the server accepts on `listeners`: after a hand-off, tell the old instance
    /// that we accept and wait until it stopped; then put our control socket at `path` for the
    /// next restart. When a later instance takes over, on a thread of its own: `stopAccepting`
    /// when it accepts (stop accepting, without closing or shutting down the listeners, before
    /// returning); then either `onHandedOff` once it confirmed (drain, call `stop()`, exit) or
    /// `resumeAccepting` when it went away before it confirmed (accept again, serve on).
    ///
    /// - Throws: `ListenerHandoff.Failure` when the old instance gave up waiting and serves on
    ///   (`conditionNotMet`: stop accepting, drain, exit), or, with nothing inherited, when PATH
    ///   cannot be served. After a completed hand-off a failure to serve PATH is only logged:
    ///   the old instance stopped accepting, so this one must serve on regardless.
    public func accepting(
        listeners: [Socket], names: [String] = [], stopAccepting: @escaping @Sendable (Int32) -> Void,
        resumeAccepting: @escaping @Sendable (Int32) -> Void, onHandedOff: @escaping @Sendable (Int32) -> Void
    ) throws(ListenerHandoff.Failure) {
        let takeover = state.withLock { state in
            defer { state.takeover = nil }
            return state.takeover
        }
        if let takeover {
            let confirmed = try takeover.confirmReady(timeout: timeout)
            if confirmed {
                log("pid \(takeover.peerPID) stopped accepting; this instance serves")
            } else if let path, ListenerHandoff.instanceAnswers(at: path) {
                throw ListenerHandoff.Failure(
                    "cannot take over from pid \(takeover.peerPID): it stopped waiting for us before we were ready",
                    explanation: [
                        "it keeps serving; this instance stops",
                        "if start-up takes longer than \(ListenerHandoff.seconds(timeout)), raise the hand-off timeout",
                    ],
                    conditionNotMet: true)
            } else {
                log("pid \(takeover.peerPID) went away before it confirmed; this instance serves alone")
            }
        }
        guard let path else { return }
        let handoff = HandoffServer(
            path: path, listeners: listeners.map(\.fileDescriptor), names: names, readyTimeout: timeout,
            stopAccepting: stopAccepting, resumeAccepting: resumeAccepting, onHandedOff: onHandedOff, log: log)
        do throws(ListenerHandoff.Failure) {
            try handoff.start()
        } catch  where takeover != nil {
            log("cannot serve \(path) for the next restart: \(error.summary); serving on")
            return
        }
        state.withLock { $0.server = handoff }
    }

    /// Step 3: stop answering at `path` (removing the file if it is still ours).
    public func stop() {
        let (server, takeover) = state.withLock { state in
            defer {
                state.server = nil
                state.takeover = nil
            }
            return (state.server, state.takeover)
        }
        server?.stop()
        _ = takeover  // dropping it closes the connection: the old instance serves on
    }
}
