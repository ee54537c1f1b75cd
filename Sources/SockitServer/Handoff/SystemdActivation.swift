import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// systemd socket activation (`sd_listen_fds(3)`): systemd, or `systemd-socket-activate`,
/// opens the listening sockets and starts us with them as descriptors 3, 4, … and
/// `LISTEN_PID` (our pid), `LISTEN_FDS` (how many) and `LISTEN_FDNAMES` (colon-separated names).
public enum SystemdActivation {
    /// An inherited listening socket and its name (`LISTEN_FDNAMES`, or "unknown").
    public struct Listener: Sendable {
        /// The name systemd gave it (`FileDescriptorName=`, else the socket unit's name), or "unknown".
        public var name: String
        /// The listening socket, now owned by this process (`FD_CLOEXEC` set).
        public var socket: Socket
    }

    /// Why inherited descriptors cannot be used.
    public struct Failure: SockitError {
        /// What is wrong with the inherited descriptors.
        public var summary: String
        /// Check the `.socket` unit (`Remedy.checkSocketUnit`).
        public var remedies: [Remedy] { [.checkSocketUnit] }

        /// A failure saying `description`.
        public init(description: String) { summary = description }
    }

    /// The first inherited descriptor (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: CInt = 3

    /// The variables systemd sets, which `listeners(type:firstDescriptor:)` reads and removes.
    public static let variables = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]

    /// The sockets systemd passed to this process, or an empty array when it passed none (no
    /// `LISTEN_FDS`, or `LISTEN_PID` is another process's). Each must be a listening socket of
    /// `type`. The variables are then removed from the process's environment so that children
    /// do not inherit them, and the descriptors get `FD_CLOEXEC`.
    ///
    /// - Parameters:
    ///   - type: the type every socket must have: `.stream` (listening) or `.datagram`.
    ///   - firstDescriptor: where the sockets start; 3 in every real activation.
    /// - Throws: `Failure` when a descriptor is not a socket, not listening, or of another type.
    public static func listeners(
        type: SocketType = .stream, firstDescriptor: CInt = SystemdActivation.firstDescriptor
    )
        throws(Failure) -> [Listener]
    {
        var environment: [String: String] = [:]
        for name in variables {
            if let value = ServerSys.environmentVariable(name) { environment[name] = value }
        }
        defer { for name in variables { ServerSys.removeEnvironmentVariable(name) } }
        return try listeners(
            type: type, environment: environment, pid: ServerSys.processID, firstDescriptor: firstDescriptor)
    }

    /// The sockets described by `environment` (`LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES`) for
    /// the process `pid`, as `listeners(type:firstDescriptor:)` finds them, without reading or
    /// changing the process's environment. On a failure no descriptor is closed: none is ours.
    public static func listeners(
        type: SocketType = .stream, environment: [String: String], pid: Int32,
        firstDescriptor: CInt = SystemdActivation.firstDescriptor
    ) throws(Failure) -> [Listener] {
        guard let pidText = environment["LISTEN_PID"], let listenPID = Int32(pidText), listenPID == pid,
            let countText = environment["LISTEN_FDS"], let count = Int32(countText), count >= 1
        else { return [] }
        guard count <= 64 else { throw Failure(description: "LISTEN_FDS=\(count) is more than the 64 accepted") }
        let names =
            environment["LISTEN_FDNAMES"]?.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            ?? []
        var result: [Listener] = []
        // Leaves every descriptor as systemd gave it, those already adopted included.
        func failure(_ description: String) -> Failure {
            for listener in result { _ = listener.socket.takeDescriptor() }
            return Failure(description: description)
        }
        for index in 0..<count {
            let fd = firstDescriptor + index
            let socket: Socket
            do {
                socket = try Socket(adopting: fd)
            } catch {
                throw failure("inherited descriptor \(fd) is not a socket (LISTEN_FDS=\(count))")
            }
            let name = Int(index) < names.count ? names[Int(index)] : "unknown"
            guard socket.type == type else {
                _ = socket.takeDescriptor()
                throw failure("inherited socket \(fd) (\(name)) is \(socket.type), expected \(type)")
            }
            if type == .stream, (try? socket.getOption(.acceptConnections)) != true {
                _ = socket.takeDescriptor()
                throw failure("inherited socket \(fd) (\(name)) is not listening")
            }
            result.append(Listener(name: name, socket: socket))
        }
        for listener in result { _ = Sys.fcntl(listener.socket.fileDescriptor, F_SETFD, FD_CLOEXEC) }
        return result
    }
}
