import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// A socket's address family. The corresponding C constants are `AF_INET`, `AF_INET6`, `AF_UNIX`.
public struct SocketDomain: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: CInt
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// IPv4. The corresponding C constant is `AF_INET`.
    public static var ipv4: SocketDomain { SocketDomain(rawValue: AF_INET) }
    /// IPv6. The corresponding C constant is `AF_INET6`.
    public static var ipv6: SocketDomain { SocketDomain(rawValue: AF_INET6) }
    /// Unix domain (local). The corresponding C constant is `AF_UNIX`.
    public static var unix: SocketDomain { SocketDomain(rawValue: AF_UNIX) }
    /// Netlink (kernel interfaces). The corresponding C constant is `AF_NETLINK`.
    public static var netlink: SocketDomain { SocketDomain(rawValue: AF_NETLINK) }

    public var description: String {
        switch rawValue {
        case AF_INET: return "AF_INET"
        case AF_INET6: return "AF_INET6"
        case AF_UNIX: return "AF_UNIX"
        case AF_NETLINK: return "AF_NETLINK"
        default: return "AF_\(rawValue)"
        }
    }
}

/// A socket's type. The corresponding C constants are `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`, `SOCK_RAW`.
public struct SocketType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: CInt
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// A byte stream (TCP for IP). The corresponding C constant is `SOCK_STREAM`.
    public static var stream: SocketType { SocketType(rawValue: CInt(SOCKIT_SOCK_STREAM)) }
    /// Datagrams (UDP for IP). The corresponding C constant is `SOCK_DGRAM`.
    public static var datagram: SocketType { SocketType(rawValue: CInt(SOCKIT_SOCK_DGRAM)) }
    /// Reliable ordered datagrams. The corresponding C constant is `SOCK_SEQPACKET`.
    public static var seqPacket: SocketType { SocketType(rawValue: CInt(SOCKIT_SOCK_SEQPACKET)) }
    /// Raw packets. The corresponding C constant is `SOCK_RAW`.
    public static var raw: SocketType { SocketType(rawValue: CInt(SOCKIT_SOCK_RAW)) }

    public var description: String {
        switch rawValue {
        case CInt(SOCKIT_SOCK_STREAM): return "SOCK_STREAM"
        case CInt(SOCKIT_SOCK_DGRAM): return "SOCK_DGRAM"
        case CInt(SOCKIT_SOCK_SEQPACKET): return "SOCK_SEQPACKET"
        case CInt(SOCKIT_SOCK_RAW): return "SOCK_RAW"
        default: return "SOCK_\(rawValue)"
        }
    }
}

/// A socket's protocol. The corresponding C constants are `IPPROTO_TCP`, `IPPROTO_UDP`, …; 0 picks the default.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: CInt
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// The default protocol for the domain and type. The corresponding C value is 0.
    public static var `default`: IPProtocol { IPProtocol(rawValue: 0) }
    /// TCP. The corresponding C constant is `IPPROTO_TCP`.
    public static var tcp: IPProtocol { IPProtocol(rawValue: CInt(IPPROTO_TCP)) }
    /// UDP. The corresponding C constant is `IPPROTO_UDP`.
    public static var udp: IPProtocol { IPProtocol(rawValue: CInt(IPPROTO_UDP)) }

    public var description: String {
        switch rawValue {
        case 0: return "0"
        case CInt(IPPROTO_TCP): return "IPPROTO_TCP"
        case CInt(IPPROTO_UDP): return "IPPROTO_UDP"
        default: return "IPPROTO_\(rawValue)"
        }
    }
}

/// Which direction `shutdown` closes. The corresponding C constants are `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`.
public enum ShutdownHow: Sendable {
    /// No more receives. `SHUT_RD`.
    case read
    /// No more sends: the peer reads end-of-file (a TCP FIN). `SHUT_WR`.
    case write
    /// Both. `SHUT_RDWR`.
    case both

    var rawValue: CInt {
        switch self {
        case .read: return CInt(SOCKIT_SHUT_RD)
        case .write: return CInt(SOCKIT_SHUT_WR)
        case .both: return CInt(SOCKIT_SHUT_RDWR)
        }
    }
}
