import Sockit

/// One readiness report for a registered descriptor.
public struct ReadyEvent: Sendable {
    /// The descriptor that is ready.
    public var fd: CInt
    /// Readable, end-of-file, or a connection waiting on a listener (`EPOLLIN`, `EPOLLRDHUP`).
    public var readable: Bool
    /// Writable: the send buffer has room, or a connect finished (`EPOLLOUT`).
    public var writable: Bool
    /// An error or a hang-up on the descriptor (`EPOLLERR`/`EPOLLHUP`): a read or write will tell which.
    public var failed: Bool
}
