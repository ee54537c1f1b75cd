import Sockit

/// The sets a `SocketQuery` takes, as bitmasks: what the kernel's requests carry (inet_diag's
/// `idiag_states` is one), and free of what a first use of `Set<T>` costs a short-lived
/// process: generic metadata and a lookup of `T: Hashable` through every protocol conformance of
/// the binary, each time a new `T` is used, which a command that answers in milliseconds feels.
public struct StateSet: Sendable, Hashable, ExpressibleByArrayLiteral {
    /// Bit N for the state whose raw value is N, as `idiag_states`.
    public var mask: UInt32

    /// The set whose bits are `mask` (bit N: the state with raw value N).
    public init(mask: UInt32) { self.mask = mask }
    /// The set of the states listed: `[.listen, .established]`.
    public init(arrayLiteral states: TCPState...) { self.init(states) }
    /// The set of `states`.
    public init(_ states: some Sequence<TCPState>) { mask = states.reduce(0) { $0 | $1.bit } }

    /// Every state.
    public static let all = StateSet(mask: 0xFFFF_FFFF)

    /// Whether `state` is in the set.
    public func contains(_ state: TCPState) -> Bool { mask & state.bit != 0 }
}
