import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// What to read from the socket table.
public struct SocketQuery: Sendable, Hashable {
    /// Sockets whose local or remote port is this; nil for every socket.
    public var port: UInt16?
    /// Match only the local port (a server's view), not connections to the port.
    public var localOnly: Bool
    /// TCP, UDP, or both.
    public var transports: TransportSet
    /// `AF_INET` and/or `AF_INET6`.
    public var families: FamilySet
    /// Only sockets in these states; nil for every state.
    public var states: StateSet?
    /// Only sockets whose local port is in this range (with `port` nil): every listener of a
    /// range of ports. Nil for no such limit.
    public var localPorts: ClosedRange<UInt16>? = nil

    /// A query; by default every socket on `port`, both transports and families, every state.
    public init(
        port: UInt16?, localOnly: Bool = false, transports: TransportSet = [.tcp, .udp],
        families: FamilySet = .both, states: StateSet? = nil
    ) {
        self.port = port
        self.localOnly = localOnly
        self.transports = transports
        self.families = families
        self.states = states
    }

    /// Whether `socket` answers the query (used to filter what a source could not filter itself).
    public func matches(_ socket: PortSocket) -> Bool {
        guard transports.contains(socket.transport), families.contains(socket.local.domain) else { return false }
        if let states, !states.contains(socket.state) { return false }
        if let localPorts, !localPorts.contains(socket.local.port ?? 0) { return false }
        guard let port else { return true }
        if socket.local.port == port { return true }
        return !localOnly && socket.remote?.port == port
    }
}
