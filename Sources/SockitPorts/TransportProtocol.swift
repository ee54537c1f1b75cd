import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The transport of a socket in the table: TCP or UDP.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case tcp
    case udp

    public var description: String { rawValue }
}
