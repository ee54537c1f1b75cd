import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// A socket's type. The corresponding C constants are `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`, `SOCK_RAW`.
public struct SocketType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The C value, as `socket` takes it.
    public let rawValue: CInt
    /// The value with C number `rawValue`; any number is accepted.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// A byte stream (TCP for IP). The corresponding C constant is `SOCK_STREAM`.
    public static var stream: SocketType { SocketType(rawValue: CInt(SOCKIT_SOCK_STREAM)) }
    /// Datagrams (UDP for IP). The corresponding C constant is `SOCK_DGRAM`.
    public static var datagram: SocketType { SocketType(rawValue: CInt(SOCKIT_SOCK_DGRAM)) }
    /// Reliable ordered datagrams. The corresponding C constant is `SOCK_SEQPACKET`.
    public static var seqPacket: SocketType { SocketType(rawValue: CInt(SOCKIT_SOCK_SEQPACKET)) }
    /// Raw packets. The corresponding C constant is `SOCK_RAW`.
    public static var raw: SocketType { SocketType(rawValue: CInt(SOCKIT_SOCK_RAW)) }

    /// The C name, e.g. `SOCK_STREAM`; the number after the prefix for one sockit does not name.
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
