import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// What a read of the socket table gave: the sockets, and the transports read from `/proc/net`
/// because netlink is not available here.
public struct SocketTableReading: Sendable {
    /// The sockets that answered the query.
    public var sockets: [PortSocket]
    /// The transports read from `/proc/net`, and why; empty when netlink answered for all.
    public var fallbacks: [SocketTableFallback]
    /// The network namespaces read, when several were (`EveryNetworkNamespace`); else empty.
    public var networkNamespaces: [NetworkNamespace] = []

    /// A reading of `sockets`, with `fallbacks`.
    public init(sockets: [PortSocket], fallbacks: [SocketTableFallback] = []) {
        self.sockets = sockets
        self.fallbacks = fallbacks
    }
}
