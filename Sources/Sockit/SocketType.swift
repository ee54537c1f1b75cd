#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
// In a whole-module (release) build the SOCK_* enum is attributed to CSockit, which includes
// <sys/socket.h> too; without this import the release build cannot find SOCK_STREAM.
import CSockit

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
    public static var stream: SocketType { SocketType(rawValue: CInt(SOCK_STREAM.rawValue)) }
    /// Datagrams (UDP for IP). The corresponding C constant is `SOCK_DGRAM`.
    public static var datagram: SocketType { SocketType(rawValue: CInt(SOCK_DGRAM.rawValue)) }
    /// Reliable ordered datagrams. The corresponding C constant is `SOCK_SEQPACKET`.
    public static var seqPacket: SocketType { SocketType(rawValue: CInt(SOCK_SEQPACKET.rawValue)) }
    /// Raw packets. The corresponding C constant is `SOCK_RAW`.
    public static var raw: SocketType { SocketType(rawValue: CInt(SOCK_RAW.rawValue)) }

    public var description: String {
        switch rawValue {
        case CInt(SOCK_STREAM.rawValue): return "SOCK_STREAM"
        case CInt(SOCK_DGRAM.rawValue): return "SOCK_DGRAM"
        case CInt(SOCK_SEQPACKET.rawValue): return "SOCK_SEQPACKET"
        case CInt(SOCK_RAW.rawValue): return "SOCK_RAW"
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
        case .read: return CInt(SHUT_RD)
        case .write: return CInt(SHUT_WR)
        case .both: return CInt(SHUT_RDWR)
        }
    }
}
