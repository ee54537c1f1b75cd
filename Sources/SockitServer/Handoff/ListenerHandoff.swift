import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Hitless restart: the running instance hands its listening sockets to the new one over a
/// Unix socket (`SCM_RIGHTS`), so the listening socket — and every connection waiting in its
/// accept queue — lives on across the restart. Nothing is closed or shut down in between:
/// closing the last reference to a listener would reset the connections in its queue, and
/// `shutdown()` on a listener disconnects it for every process that shares it.
///
/// The sequence (see `HandoffMessage` for the wire format):
/// 1. The new instance connects to PATH. Nobody there (no file, or a stale file nobody
///    listens on): it binds its own listeners as usual (`acquire` returns nil).
/// 2. Each side checks the other's credentials (`SO_PEERCRED`): same uid, or root. The old one
///    sends its listeners; it keeps accepting on them.
/// 3. The new instance finishes its start-up, starts accepting on them, and says READY.
/// 4. The old instance stops accepting (it keeps its descriptors open, so nothing is reset) and
///    answers DONE.
/// 5. The new instance answers ACK. Only then does the old one drain its own connections and
///    exit; a new instance that goes away between READY and ACK (the connection closes without
///    ACK) leaves the old one to accept again on the listeners it kept open, so a connection
///    that arrived meanwhile waits in the accept queue and is served.
/// 6. The new instance puts its own control socket at PATH (bound under a temporary name with
///    mode 0600, then an atomic `rename`), ready for the next restart.
///
/// PATH changes hands only after ACK, so a new instance that dies before it leaves nothing to
/// repair: PATH still leads to the old one, which accepts (again). If the old instance does not
/// answer within the timeout, the new one gives up and the old one keeps serving. If the old one
/// gives up waiting for READY, the new one finds it still answering at PATH and stops; if it
/// died instead, the new one serves alone. If it gives up waiting for ACK (a new instance stuck
/// between DONE and ACK), it accepts again beside the new one and serves on until stopped:
/// one accept queue, nothing lost.
/// `HitlessRestart` runs the whole sequence for a server; this type and `HandoffServer` are its
/// two halves.
public enum ListenerHandoff {
    /// Connects to PATH and takes the listeners of the instance there. Each must be a socket of
    /// `type` (`SO_TYPE`) and, for a stream socket, listening (`SO_ACCEPTCONN`).
    ///
    /// - Returns: nil when no instance answers at PATH (no file, or a stale one): bind as usual.
    /// - Throws: `Failure` when an instance answers but the hand-off fails: it is another user's,
    ///   it refused, it did not answer within `timeout`, or it sent something malformed. The old
    ///   instance keeps serving in every such case.
    public static func acquire(
        path: String, type: SocketType = .stream, timeout: Duration = .seconds(10)
    )
        throws(Failure) -> Takeover?
    {
        let address = SocketAddress.unix(.init(path: path))
        let connection: Socket
        do {
            connection = try Socket(.unix, .stream)
            try connection.connect(to: address, timeout: timeout)
        } catch  where [Errno.noSuchFile, .connectionRefused].contains(error.errno) {
            return nil  // nobody there: no file, or a stale one with no process behind it
        } catch  where error.errno == .permissionDenied {
            throw Failure(
                "cannot reach the running instance at \(path): \(error.errno)",
                explanation: [
                    "the hand-off socket is mode 0600: only the user who runs the old instance (or root) may connect",
                    "start the new instance as that user",
                ])
        } catch {
            throw Failure("cannot reach the running instance at \(path): \(error.errno)", cause: error)
        }
        var peerPID: Int32 = 0
        do {
            let peer = try connection.peerCredentials()
            peerPID = peer.pid
            guard peer.uid == ServerSys.userID || peer.uid == 0 else {
                throw Failure(
                    "cannot take over from the instance at \(path) (pid \(peer.pid)): it runs as uid \(peer.uid), "
                        + "we as uid \(ServerSys.userID)",
                    explanation: ["sockets are taken only from the same user or from root; it keeps serving"])
            }
            try connection.setOption(.receiveTimeout, timeout)
            try connection.setOption(.sendTimeout, timeout)
            try sendRequest(connection)
            let (line, descriptors) = try readLine(connection, withDescriptors: true)
            var sockets: [Socket] = []
            var leftovers = descriptors
            defer { for fd in leftovers { Sys.close(fd) } }
            if line.isEmpty {
                throw Failure(
                    "cannot take over from the instance at \(path) (pid \(peer.pid)): it closed the connection without answering",
                    explanation: ["it keeps serving; its log says why"])
            }
            let message: HandoffMessage
            do {
                message = try HandoffMessage(parsing: line)
            } catch {
                throw Failure(
                    "cannot take over from the instance at \(path) (pid \(peer.pid)): it answered with a \(error)")
            }
            switch message {
            case .listeners(let count, let names):
                guard descriptors.count == count else {
                    throw Failure(
                        "cannot take over from the instance at \(path) (pid \(peer.pid)): it announced \(count) listeners but sent \(descriptors.count)"
                    )
                }
                for fd in descriptors {
                    let socket: Socket
                    do {
                        socket = try Socket(adopting: fd)
                    } catch {
                        throw Failure(
                            "cannot take over from the instance at \(path) (pid \(peer.pid)): descriptor it sent is not a socket"
                        )
                    }
                    leftovers.removeFirst()
                    guard socket.type == type else {
                        throw Failure(
                            "cannot take over from the instance at \(path) (pid \(peer.pid)): it sent a \(socket.type) socket, expected \(type)",
                            explanation: ["the old instance serves the other transport"],
                            remedies: [.matchTransport(datagram: socket.type == .datagram)])
                    }
                    if type == .stream, try !socket.getOption(.acceptConnections) {
                        throw Failure(
                            "cannot take over from the instance at \(path) (pid \(peer.pid)): a socket it sent is not listening"
                        )
                    }
                    sockets.append(socket)
                }
                return Takeover(
                    listeners: sockets, names: names.isEmpty ? sockets.map { _ in "" } : names, peerPID: peer.pid,
                    connection: connection)
            case .denied(let reason):
                throw Failure(
                    "cannot take over from the instance at \(path) (pid \(peer.pid)): it refused: \(reason)",
                    explanation: ["it keeps serving"])
            default:
                throw Failure(
                    "cannot take over from the instance at \(path) (pid \(peer.pid)): it answered out of turn")
            }
        } catch let failure as Failure {
            throw failure
        } catch let error as SocketError where error.errno == .wouldBlock {
            throw Failure(
                "cannot take over from the instance at \(path) (pid \(peerPID)): it did not answer within \(seconds(timeout))",
                explanation: ["it keeps serving; nothing changed", "it may be stopped (SIGSTOP) or stuck"],
                remedies: [.retry, .stopProcess(pid: peerPID), .startWithoutHandoff],
                conditionNotMet: true)
        } catch let error as SocketError {
            throw Failure("hand-off through \(path) failed: \(error.summary)", cause: error)
        } catch {
            throw Failure("hand-off through \(path) failed: \(error)")
        }
    }

    /// Sends REQUEST. An instance that refuses may answer and close before reading it: then
    /// the send fails (EPIPE) but the answer is there to read.
    private static func sendRequest(_ connection: Socket) throws(SocketError) {
        do {
            try connection.sendAll(HandoffMessage.request.encoded)
        } catch  where error.errno == .brokenPipe || error.errno == .connectionReset {
            return
        }
    }

    /// Whether a process listens on the control socket at `path` (a connect succeeds).
    public static func instanceAnswers(at path: String, timeout: Duration = .seconds(1)) -> Bool {
        guard let probe = try? Socket(.unix, .stream) else { return false }
        return (try? probe.connect(to: .unix(.init(path: path)), timeout: timeout)) != nil
    }

    /// Reads one line (up to `HandoffMessage.maximumLength`) and any descriptors sent with it.
    /// Descriptors that arrive when none are expected are closed at once.
    static func readLine(_ socket: Socket, withDescriptors: Bool = false) throws(SocketError) -> ([UInt8], [CInt]) {
        var line: [UInt8] = []
        var descriptors: [CInt] = []
        while !line.contains(UInt8(ascii: "\n")) && line.count <= HandoffMessage.maximumLength {
            let (bytes, received) = try socket.receiveWithDescriptors(
                maxBytes: HandoffMessage.maximumLength + 1 - line.count,
                maxDescriptors: withDescriptors ? HandoffMessage.maximumListeners : 1)
            if withDescriptors { descriptors += received } else { for fd in received { Sys.close(fd) } }
            if bytes.isEmpty { break }
            line += bytes
        }
        return (line, descriptors)
    }

    /// `10 s`, `1.5 s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return "\(seconds) s" }
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return "\((value * 1000).rounded() / 1000) s"
    }
}
