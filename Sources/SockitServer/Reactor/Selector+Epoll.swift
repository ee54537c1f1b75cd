#if os(Linux)
import Glibc
import CSockit
import Sockit

/// The selector of this platform: epoll on Linux.
typealias PlatformSelector = EpollSelector

/// Linux readiness with epoll, level-triggered, plus an `eventfd` to wake the loop from other
/// threads and a `timerfd` for the loop's timers.
///
/// Level-triggered on purpose: a handler that reads once and returns is called again while data
/// is left, which keeps loops fair between connections and makes "pause reading" simply a
/// change of interest. Edge-triggered would save an `epoll_ctl` nowhere on the echo path (the
/// interest only changes when a write is short) and would need a read-until-EAGAIN loop.
final class EpollSelector: SelectorBackend {
    private let epollFD: CInt
    private let eventFD: CInt
    private let timerFD: CInt
    /// Large enough that a busy loop gets all its ready descriptors in one `epoll_wait`.
    private let capacity = 1024
    private let events: UnsafeMutablePointer<epoll_event>

    init() throws(SocketError) {
        let epollFD = epoll_create1(CInt(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw SocketError(syscall: "epoll_create1", errno: Errno(rawValue: sockit_errno())) }
        let eventFD = eventfd(0, CInt(EFD_CLOEXEC) | CInt(EFD_NONBLOCK))
        guard eventFD >= 0 else {
            let code = sockit_errno()
            Glibc.close(epollFD)
            throw SocketError(syscall: "eventfd", errno: Errno(rawValue: code))
        }
        let timerFD = timerfd_create(CLOCK_MONOTONIC, CInt(TFD_CLOEXEC) | CInt(TFD_NONBLOCK))
        guard timerFD >= 0 else {
            let code = sockit_errno()
            Glibc.close(epollFD)
            Glibc.close(eventFD)
            throw SocketError(syscall: "timerfd_create", errno: Errno(rawValue: code))
        }
        self.epollFD = epollFD
        self.eventFD = eventFD
        self.timerFD = timerFD
        self.events = .allocate(capacity: capacity)
        try register(fd: eventFD, interest: .read)
        try register(fd: timerFD, interest: .read)
    }

    deinit {
        events.deallocate()
    }

    func close() {
        Glibc.close(timerFD)
        Glibc.close(eventFD)
        Glibc.close(epollFD)
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
        if epoll_ctl(epollFD, operation, fd, &event) != 0 {
            throw SocketError(syscall: "epoll_ctl", errno: Errno(rawValue: sockit_errno()))
        }
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
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
    }

    func wait(timeout: Duration?, _ body: (ReadyEvent) -> Void) throws(SocketError) -> (timer: Bool, wakeup: Bool) {
        let milliseconds: CInt
        if let timeout {
            milliseconds = timeout <= .zero ? 0 : CInt(clamping: (timeout + .nanoseconds(999_999)).milliseconds)
        } else {
            milliseconds = -1
        }
        let count = epoll_wait(epollFD, events, CInt(capacity), milliseconds)
        if count < 0 {
            let code = sockit_errno()
            if code == EINTR { return (false, false) }
            throw SocketError(syscall: "epoll_wait", errno: Errno(rawValue: code))
        }
        var timer = false
        var wakeup = false
        let readMask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
        let failMask = EPOLLERR.rawValue | EPOLLHUP.rawValue
        for index in 0..<Int(count) {
            let event = events[index]
            let fd = event.data.fd
            if fd == eventFD {
                var value: UInt64 = 0
                _ = read(eventFD, &value, 8)
                wakeup = true
            } else if fd == timerFD {
                var value: UInt64 = 0
                _ = read(timerFD, &value, 8)
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
        var one: UInt64 = 1
        _ = write(eventFD, &one, 8)
    }

    func armTimer(after delay: Duration?) {
        var spec = itimerspec()
        if let delay {
            let (seconds, attoseconds) = max(delay, .nanoseconds(1)).components
            spec.it_value.tv_sec = Int(seconds)
            spec.it_value.tv_nsec = Int(attoseconds / 1_000_000_000)
            if spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0 { spec.it_value.tv_nsec = 1 }
        }
        _ = timerfd_settime(timerFD, 0, &spec, nil)
    }
}
#endif
