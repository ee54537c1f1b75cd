import Sockit

/// IPv4 (`AF_INET`) and/or IPv6 (`AF_INET6`).
public struct FamilySet: Sendable, Hashable, ExpressibleByArrayLiteral {
    private var bits: UInt8

    /// The set of the families listed: `[.ipv4, .ipv6]`.
    public init(arrayLiteral families: SocketDomain...) { self.init(families) }
    /// The set of `families`; any family but IPv4 and IPv6 is ignored.
    public init(_ families: some Sequence<SocketDomain>) { bits = families.reduce(0) { $0 | Self.bit($1) } }

    /// Both.
    public static let both: FamilySet = [.ipv4, .ipv6]

    /// Whether `family` is in the set.
    public func contains(_ family: SocketDomain) -> Bool { bits & Self.bit(family) != 0 }

    private static func bit(_ family: SocketDomain) -> UInt8 {
        family == .ipv4 ? 1 : family == .ipv6 ? 2 : 0
    }
}
