import Sockit

/// One readiness report for a registered descriptor.
public struct ReadyEvent: Sendable {
    /// The descriptor that is ready.
    public var fd: CInt
    public var readable: Bool
    public var writable: Bool
    /// An error or a hang-up on the descriptor (`EPOLLERR`/`EPOLLHUP`): a read or write will tell which.
    public var failed: Bool
}
