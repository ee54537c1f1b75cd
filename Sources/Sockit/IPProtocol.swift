import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// A socket's protocol. The corresponding C constants are `IPPROTO_TCP`, `IPPROTO_UDP`, …; 0 picks the default.
public struct IPProtocol: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The C value, as `socket` takes it.
    public let rawValue: CInt
    /// The value with C number `rawValue`; any number is accepted.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// The default protocol for the domain and type. The corresponding C value is 0.
    public static var `default`: IPProtocol { IPProtocol(rawValue: 0) }
    /// TCP. The corresponding C constant is `IPPROTO_TCP`.
    public static var tcp: IPProtocol { IPProtocol(rawValue: CInt(IPPROTO_TCP)) }
    /// UDP. The corresponding C constant is `IPPROTO_UDP`.
    public static var udp: IPProtocol { IPProtocol(rawValue: CInt(IPPROTO_UDP)) }

    /// The C name, e.g. `IPPROTO_TCP`; the number after the prefix for one sockit does not name.
    public var description: String {
        switch rawValue {
        case 0: return "0"
        case CInt(IPPROTO_TCP): return "IPPROTO_TCP"
        case CInt(IPPROTO_UDP): return "IPPROTO_UDP"
        default: return "IPPROTO_\(rawValue)"
        }
    }
}
