#if os(Linux)
import Sockit

/// The selector of this platform: epoll, or readiness polls on io_uring.
typealias PlatformSelector = LinuxSelector

/// Linux's two readiness backends behind one type, chosen when a loop is made: a switch per
/// call, where a protocol existential would cost a dynamic dispatch on the echo path.
enum LinuxSelector {
    case epoll(EpollSelector)
    case uring(URingSelector)

    /// The selector for `backend`, or epoll with the reason io_uring could not be had (`refusal`:
    /// this kernel's verdict, or a test's).
    static func make(
        _ backend: EventLoopBackend, refusal: () -> String? = URingSupport.unavailableReason
    ) throws(SocketError) -> (LinuxSelector, fallbackReason: String?) {
        guard backend == .ioUring else { return (.epoll(try EpollSelector()), nil) }
        if let reason = refusal() { return (.epoll(try EpollSelector()), reason) }
        do throws(SocketError) {
            return (.uring(try URingSelector()), nil)
        } catch {
            return (.epoll(try EpollSelector()), error.summary)
        }
    }

    var backend: EventLoopBackend {
        switch self {
        case .epoll: .epoll
        case .uring: .ioUring
        }
    }

    func register(fd: CInt, interest: Interest) throws(SocketError) {
        switch self {
        case .epoll(let selector): try selector.register(fd: fd, interest: interest)
        case .uring(let selector): try selector.register(fd: fd, interest: interest)
        }
    }

    @inline(__always)
    func reregister(fd: CInt, interest: Interest) throws(SocketError) {
        switch self {
        case .epoll(let selector): try selector.reregister(fd: fd, interest: interest)
        case .uring(let selector): try selector.reregister(fd: fd, interest: interest)
        }
    }

    func deregister(fd: CInt) {
        switch self {
        case .epoll(let selector): selector.deregister(fd: fd)
        case .uring(let selector): selector.deregister(fd: fd)
        }
    }

    @inline(__always)
    func wait(timeout: Duration?, _ body: (ReadyEvent) -> Void) throws(SocketError) -> (timer: Bool, wakeup: Bool) {
        switch self {
        case .epoll(let selector): try selector.wait(timeout: timeout, body)
        case .uring(let selector): try selector.wait(timeout: timeout, body)
        }
    }

    func wakeup() {
        switch self {
        case .epoll(let selector): selector.wakeup()
        case .uring(let selector): selector.wakeup()
        }
    }

    func armTimer(after delay: Duration?) {
        switch self {
        case .epoll(let selector): selector.armTimer(after: delay)
        case .uring(let selector): selector.armTimer(after: delay)
        }
    }

    func close() {
        switch self {
        case .epoll(let selector): selector.close()
        case .uring(let selector): selector.close()
        }
    }
}
#endif
