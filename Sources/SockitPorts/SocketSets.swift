import Sockit

/// The sets a `SocketQuery` takes, as bitmasks: what the kernel's requests carry (inet_diag's
/// `idiag_states` is one), and free of what a first use of `Set<T>` costs a short-lived
/// process: generic metadata and a lookup of `T: Hashable` through every protocol conformance of
/// the binary, about 0.1 ms each (three of them were a tenth of `sockit wait`).
public struct StateSet: Sendable, Hashable, ExpressibleByArrayLiteral {
    /// Bit N for the state whose raw value is N, as `idiag_states`.
    public var mask: UInt32

    public init(mask: UInt32) { self.mask = mask }
    public init(arrayLiteral states: TCPState...) { self.init(states) }
    public init(_ states: some Sequence<TCPState>) { mask = states.reduce(0) { $0 | $1.bit } }

    /// Every state.
    public static let all = StateSet(mask: 0xFFFF_FFFF)

    public func contains(_ state: TCPState) -> Bool { mask & state.bit != 0 }
}

/// TCP and/or UDP.
public struct TransportSet: Sendable, Hashable, ExpressibleByArrayLiteral {
    private var bits: UInt8

    public init(arrayLiteral transports: TransportProtocol...) { self.init(transports) }
    public init(_ transports: some Sequence<TransportProtocol>) {
        bits = transports.reduce(0) { $0 | Self.bit($1) }
    }

    public func contains(_ transport: TransportProtocol) -> Bool { bits & Self.bit(transport) != 0 }

    private static func bit(_ transport: TransportProtocol) -> UInt8 { transport == .tcp ? 1 : 2 }
}

/// IPv4 (`AF_INET`) and/or IPv6 (`AF_INET6`).
public struct FamilySet: Sendable, Hashable, ExpressibleByArrayLiteral {
    private var bits: UInt8

    public init(arrayLiteral families: SocketDomain...) { self.init(families) }
    public init(_ families: some Sequence<SocketDomain>) { bits = families.reduce(0) { $0 | Self.bit($1) } }

    /// Both.
    public static let both: FamilySet = [.ipv4, .ipv6]

    public func contains(_ family: SocketDomain) -> Bool { bits & Self.bit(family) != 0 }

    private static func bit(_ family: SocketDomain) -> UInt8 {
        family == .ipv4 ? 1 : family == .ipv6 ? 2 : 0
    }
}
