import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// A socket's address family. The corresponding C constants are `AF_INET`, `AF_INET6`, `AF_UNIX`.
public struct SocketDomain: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The C value, as `socket` takes it.
    public let rawValue: CInt
    /// The value with C number `rawValue`; any number is accepted.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// IPv4. The corresponding C constant is `AF_INET`.
    public static var ipv4: SocketDomain { SocketDomain(rawValue: AF_INET) }
    /// IPv6. The corresponding C constant is `AF_INET6`.
    public static var ipv6: SocketDomain { SocketDomain(rawValue: AF_INET6) }
    /// Unix domain (local). The corresponding C constant is `AF_UNIX`.
    public static var unix: SocketDomain { SocketDomain(rawValue: AF_UNIX) }
    /// Netlink (kernel interfaces). The corresponding C constant is `AF_NETLINK`.
    public static var netlink: SocketDomain { SocketDomain(rawValue: AF_NETLINK) }

    /// The C name, e.g. `AF_INET`; the number after the prefix for one sockit does not name.
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
