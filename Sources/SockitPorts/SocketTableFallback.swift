import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// One transport read from `/proc/net` instead of netlink, and the netlink error that made it so.
/// The library says it and never prints it; the CLI prints it under `SOCKIT_DEBUG`.
public struct SocketTableFallback: Sendable, Hashable, CustomStringConvertible {
    public var transport: TransportProtocol
    public var reason: SocketTableError

    public var description: String { "\(transport) sockets read from /proc/net, netlink is not available: \(reason)" }
}
