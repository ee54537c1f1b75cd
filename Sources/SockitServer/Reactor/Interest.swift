import Sockit

/// What a registration waits for. The corresponding epoll flags are `EPOLLIN` and `EPOLLOUT`.
public struct Interest: OptionSet, Sendable, Hashable {
    /// The bits: 1 read, 2 write.
    public let rawValue: UInt8
    /// The set with bits `rawValue`.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Readable, or end-of-file, or a pending connection on a listener.
    public static var read: Interest { Interest(rawValue: 1) }
    /// Writable: the send buffer has room (or a connect finished).
    public static var write: Interest { Interest(rawValue: 2) }
    /// Neither: the descriptor stays registered but reports nothing but errors.
    public static var none: Interest { Interest(rawValue: 0) }
}
