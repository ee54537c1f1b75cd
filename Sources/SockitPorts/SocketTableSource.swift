import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Where the socket table comes from. `SocketTable.system` reads it through netlink
/// (`NETLINK_SOCK_DIAG`), and from `/proc/net` where netlink is not available.
public protocol SocketTableSource: Sendable {
    /// The sockets that answer `query`, in the kernel's order.
    func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket]
    /// The same sockets, and which transports came from a fallback source and why.
    func read(_ query: SocketQuery) throws(SocketTableError) -> SocketTableReading
}

extension SocketTableSource {
    /// A source without a fallback: its sockets, no fallback.
    public func read(_ query: SocketQuery) throws(SocketTableError) -> SocketTableReading {
        SocketTableReading(sockets: try sockets(query))
    }
}
