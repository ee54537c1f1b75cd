import Sockit

/// TCP and/or UDP.
public struct TransportSet: Sendable, Hashable, ExpressibleByArrayLiteral {
    private var bits: UInt8

    /// The set of the transports listed: `[.tcp, .udp]`.
    public init(arrayLiteral transports: TransportProtocol...) { self.init(transports) }
    /// The set of `transports`.
    public init(_ transports: some Sequence<TransportProtocol>) {
        bits = transports.reduce(0) { $0 | Self.bit($1) }
    }

    /// Whether `transport` is in the set.
    public func contains(_ transport: TransportProtocol) -> Bool { bits & Self.bit(transport) != 0 }

    private static func bit(_ transport: TransportProtocol) -> UInt8 { transport == .tcp ? 1 : 2 }
}
