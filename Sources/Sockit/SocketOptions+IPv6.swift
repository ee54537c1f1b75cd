import CSockit

#if canImport(Glibc)
import Glibc
#endif

// IPPROTO_IPV6 options (IPv6 sockets), sorted by C name.

private let ipv6Level = CInt(IPPROTO_IPV6)
private let ipv6LevelName = "IPPROTO_IPV6"

extension SocketOption where Value == Bool {
    /// Deliver our own multicast datagrams back to this host (default on).
    /// The corresponding C option is `IPV6_MULTICAST_LOOP` (`int`).
    public static var ipv6MulticastLoop: Self {
        .flag(ipv6Level, IPV6_MULTICAST_LOOP, ipv6LevelName, "IPV6_MULTICAST_LOOP")
    }

    /// Accept only IPv6 on this socket; off, a socket bound to `[::]` also takes IPv4 as
    /// `::ffff:a.b.c.d`. Set before `bind`. The corresponding C option is `IPV6_V6ONLY` (`int`).
    public static var ipv6Only: Self {
        .flag(
            ipv6Level, IPV6_V6ONLY, ipv6LevelName, "IPV6_V6ONLY", note: "default net.ipv6.bindv6only; set before bind")
    }
}

extension SocketOption where Value == Int {
    /// The hop limit of outgoing unicast packets (-1 sets the route's default; reading returns
    /// the value in use). The corresponding C option is `IPV6_UNICAST_HOPS` (`int`).
    public static var ipv6UnicastHops: Self {
        .integer(ipv6Level, IPV6_UNICAST_HOPS, ipv6LevelName, "IPV6_UNICAST_HOPS", note: "-1 sets the route's default")
    }

    /// The hop limit of outgoing multicast packets (default 1).
    /// The corresponding C option is `IPV6_MULTICAST_HOPS` (`int`).
    public static var ipv6MulticastHops: Self {
        .integer(ipv6Level, IPV6_MULTICAST_HOPS, ipv6LevelName, "IPV6_MULTICAST_HOPS")
    }

    /// The traffic class byte (DSCP and ECN) of outgoing packets.
    /// The corresponding C option is `IPV6_TCLASS` (`int`).
    public static var ipv6TrafficClass: Self { .integer(ipv6Level, IPV6_TCLASS, ipv6LevelName, "IPV6_TCLASS") }
}

extension SocketOption where Value == IPv6Membership {
    /// Join a multicast group. Write-only. The corresponding C option is `IPV6_JOIN_GROUP` (`struct ipv6_mreq`).
    public static var ipv6JoinGroup: Self { membership(IPV6_ADD_MEMBERSHIP, "IPV6_JOIN_GROUP") }
    /// Leave a multicast group. Write-only. The corresponding C option is `IPV6_LEAVE_GROUP` (`struct ipv6_mreq`).
    public static var ipv6LeaveGroup: Self { membership(IPV6_DROP_MEMBERSHIP, "IPV6_LEAVE_GROUP") }

    private static func membership(_ name: CInt, _ cName: String) -> Self {
        SocketOption(
            level: ipv6Level, name: name, levelName: ipv6LevelName, cName: cName, cType: "struct ipv6_mreq",
            access: .writeOnly,
            capacity: MemoryLayout<ipv6_mreq>.size, encode: { $0.bytes },
            decode: { _ in IPv6Membership(group: .any(port: 0)) }, render: { _ in .none })
    }
}
