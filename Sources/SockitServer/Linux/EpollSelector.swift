#if os(Linux)
import Glibc
import CSockit
import Sockit

/// Linux readiness with epoll, level-triggered, plus an `eventfd` to wake the loop from other
/// threads and a `timerfd` for the loop's timers.
///
/// Level-triggered on purpose: a handler that reads once and returns is called again while data
/// is left, which keeps loops fair between connections and makes "pause reading" simply a
/// change of interest. Edge-triggered would save an `epoll_ctl` nowhere on the echo path (the
/// interest only changes when a write is short) and would need a read-until-EAGAIN loop.
final class EpollSelector: SelectorBackend {
    private let epollFD: CInt
    private let notifiers: WakeupAndTimer
    /// The most events one `epoll_wait` returns: the C reference's 256. A busy loop with more
    /// ready descriptors gets the rest from the next wait (level-triggered, nothing is lost);
    /// with 1,024, enough for 500 connections at once, the p99 at 500 connections was higher
    /// for the same CPU (README, "io_uring").
    private let capacity = 256
    private let events: UnsafeMutablePointer<epoll_event>

    init() throws(SocketError) {
        epollFD = try ServerSys.epollCreate().orThrow("epoll_create1")
        do throws(SocketError) {
            notifiers = try WakeupAndTimer()
        } catch {
            Sys.close(epollFD)
            throw error
        }
        events = .allocate(capacity: capacity)
        do throws(SocketError) {
            try register(fd: notifiers.eventFD, interest: .read)
            try register(fd: notifiers.timerFD, interest: .read)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        events.deallocate()
    }

    func close() {
        notifiers.close()
        Sys.close(epollFD)
    }

    @inline(__always)
    private static func mask(_ interest: Interest) -> UInt32 {
        var mask: UInt32 = 0
        if interest.contains(.read) { mask |= EPOLLIN.rawValue | EPOLLRDHUP.rawValue }
        if interest.contains(.write) { mask |= EPOLLOUT.rawValue }
        return mask
    }

    private func control(_ operation: CInt, _ fd: CInt, _ interest: Interest) throws(SocketError) {
        var event = epoll_event()
        event.events = Self.mask(interest)
        event.data.fd = fd
        _ = try ServerSys.epollControl(epollFD, operation, fd, &event).orThrow("epoll_ctl")
    }

    func register(fd: CInt, interest: Interest) throws(SocketError) {
        try control(EPOLL_CTL_ADD, fd, interest)
    }

    @inline(__always)
    func reregister(fd: CInt, interest: Interest) throws(SocketError) {
        try control(EPOLL_CTL_MOD, fd, interest)
    }

    func deregister(fd: CInt) {
        var event = epoll_event()
        _ = ServerSys.epollControl(epollFD, EPOLL_CTL_DEL, fd, &event)
    }

    func wait(timeout: Duration?, _ body: (ReadyEvent) -> Void) throws(SocketError) -> (timer: Bool, wakeup: Bool) {
        let milliseconds: CInt
        if let timeout {
            milliseconds = timeout <= .zero ? 0 : CInt(clamping: (timeout + .nanoseconds(999_999)).milliseconds)
        } else {
            milliseconds = -1
        }
        let count: Int
        switch ServerSys.epollWait(epollFD, events, CInt(capacity), milliseconds) {
        case .success(let ready): count = ready
        case .failure(let errno) where errno.rawValue == EINTR: return (false, false)
        case .failure(let errno): throw SocketError(syscall: "epoll_wait", errno: errno)
        }
        var timer = false
        var wakeup = false
        let readMask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        let failMask = EPOLLERR.rawValue | EPOLLHUP.rawValue
        for index in 0..<count {
            let event = events[index]
            let fd = event.data.fd
            if fd == notifiers.eventFD {
                ServerSys.readCounter(fd)
                wakeup = true
            } else if fd == notifiers.timerFD {
                ServerSys.readCounter(fd)
                timer = true
            } else {
                let flags = event.events
                body(
                    ReadyEvent(
                        fd: fd, readable: flags & readMask != 0, writable: flags & EPOLLOUT.rawValue != 0,
                        failed: flags & failMask != 0))
            }
        }
        return (timer, wakeup)
    }

    func wakeup() {
        notifiers.wakeup()
    }

    func armTimer(after delay: Duration?) {
        notifiers.armTimer(after: delay)
    }
}

extension Result where Failure == Errno {
    /// The success value, or the failure as the `SocketError` of `syscall`.
    func orThrow(_ syscall: String) throws(SocketError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let errno): throw SocketError(syscall: syscall, errno: errno)
        }
    }
}
#endif
