import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The transport of a socket in the table: TCP or UDP.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// TCP (`IPPROTO_TCP`, `SOCK_STREAM`).
    case tcp
    /// UDP (`IPPROTO_UDP`, `SOCK_DGRAM`).
    case udp

    /// `tcp` or `udp`, as `ss` prints it.
    public var description: String { rawValue }
}
