/// How an `EventLoop` waits for its descriptors to be ready.
///
/// Either way the loop reports readiness, level-triggered, to the same handlers: the async API
/// (`AsyncTCPListener`, `AsyncTCPConnection`, `AsyncUDPSocket`) and every `EventHandler` work
/// unchanged on both.
public enum EventLoopBackend: String, Sendable, CaseIterable {
    /// epoll: one `epoll_ctl` to watch a descriptor, one `epoll_wait` per batch of ready ones.
    case epoll
    /// io_uring (Linux 6.1+): a one-shot poll per watched descriptor, armed again after each
    /// report, all of an iteration's polls submitted by the one `io_uring_enter` that also
    /// waits. Where the kernel refuses io_uring (`ENOSYS`, `EPERM` from a seccomp profile or
    /// `kernel.io_uring_disabled`) the loop runs on epoll instead: `EventLoop.backend` says which
    /// it got, `EventLoop.fallbackReason` why.
    case ioUring = "io_uring"

    /// The backend named `rawValue` (`"epoll"`, `"io_uring"`), or nil for another name.
    public init?(rawValue: String) {
        switch rawValue {
        case "epoll": self = .epoll
        case "io_uring": self = .ioUring
        default: return nil
        }
    }
}
