/// How the TCP echo server waits for its connections.
public enum EchoBackend: String, Sendable, CaseIterable {
    /// Readiness with epoll: a `recv` and a `send` per echo, one `epoll_wait` per batch of ready
    /// connections.
    case epoll
    /// Completions with io_uring (Linux 6.1+): one multishot accept, a multishot receive per
    /// connection into a ring of provided buffers, and every send of a batch of completions
    /// submitted by one `io_uring_enter`. Where the kernel refuses io_uring (`ENOSYS`, `EPERM`
    /// from a seccomp profile or `kernel.io_uring_disabled`, a missing feature) the server
    /// serves on epoll instead, and says why at debug level. TCP only: UDP uses epoll (the async
    /// API runs on io_uring as its `EventLoopGroup` is made: `EventLoopBackend`). Every loop
    /// arms its own multishot accept on the one listener (`EchoConfiguration.acceptStrategy`
    /// does not apply).
    case ioUring = "io_uring"

    /// The backend named `rawValue` (`"epoll"`, `"io_uring"`, as `SOCKIT_ECHO_BACKEND` and the
    /// logs spell them), or nil for another name.
    public init?(rawValue: String) {
        switch rawValue {
        case "epoll": self = .epoll
        case "io_uring": self = .ioUring
        default: return nil
        }
    }
}
