import Sockit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Hitless restart: the running instance hands its listening sockets to the new one over a
/// Unix socket (`SCM_RIGHTS`), so the listening socket — and every connection waiting in its
/// accept queue — lives on across the restart. Nothing is closed or shut down in between:
/// closing the last reference to a listener would reset the connections in its queue.
///
/// The sequence (see `HandoffMessage` for the wire format):
/// 1. The new instance connects to PATH. Nobody there (no file, or a stale file nobody
///    listens on): it binds its own listeners as usual (`acquire` returns nil).
/// 2. Each side checks the other's credentials (`SO_PEERCRED`): same uid, or root. The old one
///    sends its listeners.
/// 3. The new instance starts accepting on them, puts its own control socket at PATH (an atomic
///    `rename`, mode 0600), and says READY.
/// 4. The old instance stops accepting (it keeps its descriptor open, so nothing is reset),
///    answers DONE, drains its own connections, and exits.
///
/// If the new instance dies before READY, the old one never stopped accepting; it puts its
/// control socket back at PATH and keeps serving. If the old instance does not answer within
/// the timeout, the new one gives up and the old one keeps serving.
public enum ListenerHandoff {
    /// Why a hand-off failed. `description` is one sentence for the user.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// Listeners received from the old instance, and the connection to tell it when we are ready.
    public final class Takeover: Sendable {
        /// The listening sockets, in the order the old instance sent them.
        public let listeners: [Socket]
        /// Their names (from the old instance's configuration, or systemd's `LISTEN_FDNAMES`).
        public let names: [String]
        /// The old instance's pid.
        public let peerPID: Int32
        let connection: Socket

        init(listeners: [Socket], names: [String], peerPID: Int32, connection: Socket) {
            self.listeners = listeners
            self.names = names
            self.peerPID = peerPID
            self.connection = connection
        }

        /// Tells the old instance that we accept now, and waits (up to `timeout`) until it says it
        /// stopped accepting. Call it after `HandoffServer.start(path:)`, so PATH already leads
        /// here. Returns whether the old instance confirmed.
        @discardableResult
        public func confirmReady(timeout: Duration = .seconds(10)) throws(Failure) -> Bool {
            do {
                try connection.sendAll(HandoffMessage.ready.encoded)
                try connection.setOption(.receiveTimeout, timeout)
                let (line, _) = try ListenerHandoff.readLine(connection)
                try connection.close()
                return (try? HandoffMessage(parsing: line)) == .done
            } catch {
                throw Failure("the old instance (pid \(peerPID)) went away before it confirmed: \(error)")
            }
        }
    }

    /// Connects to PATH and takes the listeners of the instance there.
    ///
    /// - Returns: nil when no instance answers at PATH (no file, or a stale one): bind as usual.
    /// - Throws: `Failure` when an instance answers but the hand-off fails: it is another user's,
    ///   it refused, it did not answer within `timeout`, or it sent something malformed. The old
    ///   instance keeps serving in every such case.
    public static func acquire(path: String, timeout: Duration = .seconds(10)) throws(Failure) -> Takeover? {
        let address = SocketAddress.unix(.init(path: path))
        let connection: Socket
        do {
            connection = try Socket(.unix, .stream)
            try connection.connect(to: address, timeout: timeout)
        } catch where [Errno.noSuchFile, .connectionRefused].contains(error.errno) {
            return nil  // nobody there
        } catch {
            throw Failure("cannot reach the running instance at \(path): \(error)")
        }
        do {
            let peer = try connection.peerCredentials()
            guard peer.uid == getuid() || peer.uid == 0 else {
                throw Failure("the process at \(path) (pid \(peer.pid)) belongs to uid \(peer.uid), not to us; refusing its sockets")
            }
            try connection.setOption(.receiveTimeout, timeout)
            try connection.setOption(.sendTimeout, timeout)
            try connection.sendAll(HandoffMessage.request.encoded)
            let (line, descriptors) = try readLine(connection, withDescriptors: true)
            var sockets: [Socket] = []
            var leftovers = descriptors
            defer { for fd in leftovers { close(fd) } }
            let message: HandoffMessage
            do {
                message = try HandoffMessage(parsing: line)
            } catch {
                throw Failure("the instance at \(path) (pid \(peer.pid)) answered \(error)")
            }
            switch message {
            case .listeners(let count, let names):
                guard descriptors.count == count else {
                    throw Failure("the instance at \(path) announced \(count) listeners but sent \(descriptors.count)")
                }
                for fd in descriptors {
                    let socket = try Socket(adopting: fd)
                    leftovers.removeFirst()
                    guard try socket.getOption(.acceptConnections) else {
                        throw Failure("a socket from the instance at \(path) is not listening")
                    }
                    sockets.append(socket)
                }
                return Takeover(
                    listeners: sockets, names: names.isEmpty ? sockets.map { _ in "" } : names, peerPID: peer.pid,
                    connection: connection)
            case .denied(let reason):
                throw Failure("the instance at \(path) (pid \(peer.pid)) refused the hand-off: \(reason)")
            default:
                throw Failure("the instance at \(path) (pid \(peer.pid)) answered out of turn")
            }
        } catch let failure as Failure {
            throw failure
        } catch let error as SocketError where error.errno == .wouldBlock {
            throw Failure(
                "the running instance at \(path) did not answer within \(timeout); it keeps serving. "
                    + "Is it stuck? Try again, or restart it without --handoff")
        } catch {
            throw Failure("hand-off through \(path) failed: \(error)")
        }
    }

    /// Reads one line (up to `HandoffMessage.maximumLength`) and any descriptors sent with it.
    static func readLine(_ socket: Socket, withDescriptors: Bool = false) throws -> ([UInt8], [CInt]) {
        var line: [UInt8] = []
        var descriptors: [CInt] = []
        while !line.contains(UInt8(ascii: "\n")) && line.count <= HandoffMessage.maximumLength {
            let (bytes, received) = try socket.receiveWithDescriptors(
                maxBytes: HandoffMessage.maximumLength + 1 - line.count,
                maxDescriptors: withDescriptors ? HandoffMessage.maximumListeners : 1)
            descriptors += received
            if !withDescriptors { for fd in received { close(fd) } }
            if bytes.isEmpty { break }
            line += bytes
        }
        return (line, withDescriptors ? descriptors : [])
    }
}
