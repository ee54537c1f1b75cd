import Sockit

/// Everything on one port: its sockets with the processes that hold them, and a bind verdict.
public struct PortReport: Sendable {
    /// One socket and its holders.
    public struct Entry: Sendable, Hashable {
        /// The socket, as the kernel's table lists it.
        public var socket: PortSocket
        /// Every process with a descriptor for the socket (several after a fork or an inherited fd).
        public var holders: [SocketHolder]
        /// Whether the port is this socket's local end or its peer's.
        public var side: PortSocket.Side
        /// The socket has a file, but no process this user can read holds it: its holder is hidden
        /// (another user's process, without privilege).
        public var hidden: Bool
        /// For a listener (or a bound UDP socket): whether its process set `SO_REUSEADDR`, read
        /// from the socket itself through a `pidfd_getfd` copy; nil when it could not be read
        /// (no ptrace access to the process) or the socket is not one.
        public var reuseAddress: Bool? = nil
        /// The same for `SO_REUSEPORT`.
        public var reusePort: Bool? = nil

        /// A TCP listener without `SO_REUSEADDR`: when it stops, the connections it closed first
        /// stay in TIME-WAIT and block every bind of the port, a restart's too, for up to 60 s.
        /// False when unknown.
        public var restartWillBeBlocked: Bool {
            socket.transport == .tcp && socket.state == .listen && reuseAddress == false
        }
    }

    /// The port reported on.
    public var port: UInt16
    /// Every socket on the port: bound to it first (listeners, their connections, closed
    /// connections), then connections to it.
    public var entries: [Entry]
    /// Processes whose descriptors could not be read.
    public var unreadableProcesses: Int
    /// Processes whose descriptors were read.
    public var processesScanned: Int
    /// Whether a server could bind the port now; nil when not asked for.
    public var verdict: BindVerdict?
    /// The transports whose sockets came from `/proc/net` because netlink is not available here.
    public var tableFallbacks: [SocketTableFallback] = []
    /// The network namespaces whose tables were read, when several were; else empty.
    public var networkNamespaces: [NetworkNamespace] = []

    /// The sockets bound to the port on this machine.
    public var local: [Entry] { entries.filter { $0.side == .local } }
    /// Connections whose peer is the port.
    public var remote: [Entry] { entries.filter { $0.side == .remote } }

    /// The transport a bind verdict for the port is for: the only one of `transports`, else UDP
    /// when only UDP sockets are bound to the port, else TCP.
    public func verdictTransport(within transports: TransportSet) -> TransportProtocol {
        if transports.contains(.tcp) != transports.contains(.udp) { return transports.contains(.tcp) ? .tcp : .udp }
        return !local.isEmpty && local.allSatisfy { $0.socket.transport == .udp } ? .udp : .tcp
    }
}
