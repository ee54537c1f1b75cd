import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// One transport read from `/proc/net` instead of netlink, and the netlink error that made it so.
/// The library says it and never prints it; the CLI prints it under `SOCKIT_DEBUG`.
public struct SocketTableFallback: Sendable, Hashable, CustomStringConvertible {
    /// The transport that was read from `/proc/net`.
    public var transport: TransportProtocol
    /// The netlink error that says netlink is not available for it.
    public var reason: SocketTableError

    /// `udp sockets read from /proc/net, netlink is not available: <reason>`.
    public var description: String { "\(transport) sockets read from /proc/net, netlink is not available: \(reason)" }
}
