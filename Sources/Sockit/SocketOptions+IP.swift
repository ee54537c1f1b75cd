import CSockit

#if canImport(Glibc)
import Glibc
#endif

// IPPROTO_IP options (IPv4 sockets), sorted by C name.

private let ipLevel = CInt(IPPROTO_IP)
private let ipLevelName = "IPPROTO_IP"

extension SocketOption where Value == Bool {
    /// Allow binding an address that is not (yet) configured on this machine.
    /// The corresponding C option is `IP_FREEBIND` (`int`).
    public static var ipFreeBind: Self { .flag(ipLevel, IP_FREEBIND, ipLevelName, "IP_FREEBIND") }

    /// Deliver our own multicast datagrams back to this host (default on).
    /// The corresponding C option is `IP_MULTICAST_LOOP` (`int`).
    public static var ipMulticastLoop: Self { .flag(ipLevel, IP_MULTICAST_LOOP, ipLevelName, "IP_MULTICAST_LOOP") }
}

extension SocketOption where Value == Int {
    /// The time-to-live of outgoing unicast packets. The corresponding C option is `IP_TTL` (`int`).
    public static var ipTimeToLive: Self {
        .integer(ipLevel, IP_TTL, ipLevelName, "IP_TTL", note: "default net.ipv4.ip_default_ttl")
    }

    /// The type-of-service byte (DSCP and ECN) of outgoing packets.
    /// The corresponding C option is `IP_TOS` (`int`).
    public static var ipTypeOfService: Self {
        .integer(ipLevel, IP_TOS, ipLevelName, "IP_TOS", note: "the kernel keeps the DSCP bits; ECN bits belong to TCP")
    }

    /// The time-to-live of outgoing multicast packets (default 1: this network only).
    /// The corresponding C option is `IP_MULTICAST_TTL` (`int`).
    public static var ipMulticastTimeToLive: Self {
        .integer(ipLevel, IP_MULTICAST_TTL, ipLevelName, "IP_MULTICAST_TTL")
    }
}

extension SocketOption where Value == SocketAddress.IPv4 {
    /// The local interface address for outgoing multicast (`0.0.0.0`: the routing table
    /// decides); the port is ignored. The corresponding C option is `IP_MULTICAST_IF` (`struct in_addr`).
    public static var ipMulticastInterface: Self {
        SocketOption(
            level: ipLevel, name: IP_MULTICAST_IF, levelName: ipLevelName, cName: "IP_MULTICAST_IF",
            cType: "struct in_addr",
            capacity: 4, encode: { Socket.bytes(of: $0.rawAddress) },
            decode: { bytes in
                let raw = bytes.count >= 4 ? bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) } : 0
                return SocketAddress.IPv4(rawAddress: raw, port: 0)
            },
            render: { .string(SocketAddress.ipv4($0).host) })
    }
}

/// A multicast group to join or leave on an IPv4 socket: `struct ip_mreqn`.
public struct IPv4Membership: Sendable, Hashable {
    /// The group address, e.g. 239.1.2.3 (the port is ignored).
    public var group: SocketAddress.IPv4
    /// The local interface address (0.0.0.0: any).
    public var interface: SocketAddress.IPv4
    /// The interface index (0: chosen by `interface` or the routing table).
    public var interfaceIndex: Int32

    /// A request for `group`, on the interface with address `interface` or index `interfaceIndex`
    /// (both left out: the routing table decides).
    public init(group: SocketAddress.IPv4, interface: SocketAddress.IPv4 = .any(port: 0), interfaceIndex: Int32 = 0) {
        self.group = group
        self.interface = interface
        self.interfaceIndex = interfaceIndex
    }

    var bytes: [UInt8] {
        var request = ip_mreqn()
        request.imr_multiaddr = in_addr(s_addr: group.rawAddress)
        request.imr_address = in_addr(s_addr: interface.rawAddress)
        request.imr_ifindex = interfaceIndex
        return withUnsafeBytes(of: request) { Array($0) }
    }
}

extension SocketOption where Value == IPv4Membership {
    /// Join a multicast group. Write-only. The corresponding C option is `IP_ADD_MEMBERSHIP` (`struct ip_mreqn`).
    public static var ipAddMembership: Self { membership(IP_ADD_MEMBERSHIP, "IP_ADD_MEMBERSHIP") }
    /// Leave a multicast group. Write-only. The corresponding C option is `IP_DROP_MEMBERSHIP` (`struct ip_mreqn`).
    public static var ipDropMembership: Self { membership(IP_DROP_MEMBERSHIP, "IP_DROP_MEMBERSHIP") }

    private static func membership(_ name: CInt, _ cName: String) -> Self {
        SocketOption(
            level: ipLevel, name: name, levelName: ipLevelName, cName: cName, cType: "struct ip_mreqn",
            access: .writeOnly,
            capacity: MemoryLayout<ip_mreqn>.size, encode: { $0.bytes },
            decode: { _ in IPv4Membership(group: .any(port: 0)) }, render: { _ in .none })
    }
}
