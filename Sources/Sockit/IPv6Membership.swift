#if canImport(Glibc)
import Glibc
#endif

/// A multicast group to join or leave on an IPv6 socket: `struct ipv6_mreq`.
public struct IPv6Membership: Sendable, Hashable {
    /// The group address, e.g. ff02::1:3 (the port is ignored).
    public var group: SocketAddress.IPv6
    /// The interface index (0: the routing table decides).
    public var interfaceIndex: UInt32

    /// A request for `group` on the interface with index `interfaceIndex` (0: any).
    public init(group: SocketAddress.IPv6, interfaceIndex: UInt32 = 0) {
        self.group = group
        self.interfaceIndex = interfaceIndex
    }

    var bytes: [UInt8] {
        var request = ipv6_mreq()
        withUnsafeMutableBytes(of: &request.ipv6mr_multiaddr) { raw in
            for (index, byte) in group.bytes.enumerated() { raw[index] = byte }
        }
        request.ipv6mr_interface = interfaceIndex
        return withUnsafeBytes(of: request) { Array($0) }
    }
}
