import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

// Every libc call of SockitServer is made here, or through Sockit's `Sys` where it has the call
// (Scripts/check-layers.sh checks it). Sockit's policy throughout:
// - `EINTR` is retried, except by `close` (never retried, `Sys.close`) and by waits the caller
//   bounds itself (`epoll_wait`, `poll`), which report it and are called again;
// - `errno` is read once, inside the wrapper, right after the call;
// - a non-blocking call that would block returns `.wouldBlock` (`IOResult`), not an error.
//
// The servers' hot path (recv, send, accept4, recvmmsg, sendmmsg, epoll_wait) is inlined into its
// callers: no `Socket`, no `SocketError`, no allocation, no generic call per packet.

@usableFromInline
enum ServerSys {
    /// Sockit's `Sys.call` policy, inlined for the hot path.
    @inline(__always) @usableFromInline
    static func call(retryOnInterrupt: Bool = true, _ body: () -> Int) -> Result<Int, Errno> {
        Sys.retrying(retryOnInterrupt: retryOnInterrupt, body)
    }

    /// Sockit's `Sys.nonBlocking` policy, inlined for the hot path.
    @inline(__always) @usableFromInline
    static func nonBlocking(_ body: () -> Int) -> Result<IOResult<Int>, Errno> {
        Sys.retryingNonBlocking(body)
    }

    // MARK: Connections (the hot path)

    /// `recv(2)`; with `MSG_PEEK` in `flags` the bytes stay queued.
    @inline(__always) @usableFromInline
    static func receive(
        _ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int, flags: CInt = 0
    )
        -> Result<IOResult<Int>, Errno>
    {
        nonBlocking { recv(fd, buffer, count, flags) }
    }

    /// `send(2)` with `MSG_NOSIGNAL`: a peer that went away is `EPIPE`, never `SIGPIPE`.
    @inline(__always) @usableFromInline
    static func send(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Glibc.send(fd, buffer, count, CInt(MSG_NOSIGNAL)) }
    }

    /// `accept4` with `SOCK_CLOEXEC | SOCK_NONBLOCK`; the peer address is not read.
    @inline(__always) @usableFromInline
    static func accept(_ fd: CInt) -> Result<IOResult<CInt>, Errno> {
        let flags = CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue)
        switch nonBlocking({ Int(sockit_accept4(fd, nil, nil, flags)) }) {
        case .success(.processed(let accepted)): return .success(.processed(CInt(truncatingIfNeeded: accepted)))
        case .success(.wouldBlock): return .success(.wouldBlock)
        case .failure(let errno): return .failure(errno)
        }
    }

    /// `shutdown(fd, SHUT_WR)`: sends FIN; errors are of no use to the caller (it closes next).
    @inline(__always) @usableFromInline
    static func shutdownWrite(_ fd: CInt) {
        _ = call { Int(Glibc.shutdown(fd, CInt(SHUT_WR))) }
    }

    /// `recvmmsg` with `MSG_DONTWAIT`: up to `count` datagrams into `messages`, each with its
    /// sender (`msg_name`), its length (`msg_len`) and `MSG_TRUNC` in `msg_flags` when it was cut.
    @inline(__always) @usableFromInline
    static func receiveMessages(
        _ fd: CInt, _ messages: UnsafeMutablePointer<sockit_mmsghdr>, _ count: Int
    ) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Int(sockit_recvmmsg(fd, messages, CUnsignedInt(count), CInt(MSG_DONTWAIT))) }
    }

    /// `sendmmsg` with `MSG_DONTWAIT | MSG_NOSIGNAL`: the number sent from the start of
    /// `messages` (fewer than `count` when the send buffer filled or the next one failed);
    /// `.wouldBlock` or the error when the first could not be sent.
    @inline(__always) @usableFromInline
    static func sendMessages(
        _ fd: CInt, _ messages: UnsafeMutablePointer<sockit_mmsghdr>, _ count: Int
    ) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Int(sockit_sendmmsg(fd, messages, CUnsignedInt(count), CInt(MSG_DONTWAIT | MSG_NOSIGNAL))) }
    }

    // MARK: epoll, eventfd, timerfd

    static func epollCreate() -> Result<CInt, Errno> {
        call { Int(epoll_create1(CInt(EPOLL_CLOEXEC))) }.map { CInt(truncatingIfNeeded: $0) }
    }

    @inline(__always)
    static func epollControl(
        _ epollFD: CInt, _ operation: CInt, _ fd: CInt, _ event: inout epoll_event
    )
        -> Result<Int, Errno>
    {
        call { Int(epoll_ctl(epollFD, operation, fd, &event)) }
    }

    /// `epoll_wait`, not retried on `EINTR` (the loop calls it again): the number of events.
    @inline(__always)
    static func epollWait(
        _ epollFD: CInt, _ events: UnsafeMutablePointer<epoll_event>, _ capacity: CInt, _ milliseconds: CInt
    ) -> Result<Int, Errno> {
        call(retryOnInterrupt: false) { Int(epoll_wait(epollFD, events, capacity, milliseconds)) }
    }

    /// A non-blocking, close-on-exec `eventfd` with the counter at 0.
    static func eventCounter() -> Result<CInt, Errno> {
        call { Int(eventfd(0, CInt(EFD_CLOEXEC) | CInt(EFD_NONBLOCK))) }.map { CInt(truncatingIfNeeded: $0) }
    }

    /// A non-blocking, close-on-exec `timerfd` on the monotonic clock.
    static func monotonicTimer() -> Result<CInt, Errno> {
        call { Int(timerfd_create(CLOCK_MONOTONIC, CInt(TFD_CLOEXEC) | CInt(TFD_NONBLOCK))) }
            .map { CInt(truncatingIfNeeded: $0) }
    }

    /// `timerfd_settime`, relative; an all-zero `spec` disarms the timer.
    static func setTimer(_ fd: CInt, _ spec: inout itimerspec) {
        _ = call { Int(timerfd_settime(fd, 0, &spec, nil)) }
    }

    /// Reads (and so resets) the 8-byte counter of an eventfd or timerfd; nothing when it is 0.
    @inline(__always)
    static func readCounter(_ fd: CInt) {
        var value: UInt64 = 0
        _ = nonBlocking { read(fd, &value, 8) }
    }

    /// Adds 1 to an eventfd's counter, making it readable.
    @inline(__always)
    static func incrementCounter(_ fd: CInt) {
        var one: UInt64 = 1
        _ = nonBlocking { write(fd, &one, 8) }
    }

    /// The number of CPUs this process may run on (its affinity mask), at least 1.
    static func affinityCPUCount() -> Int { Int(sockit_affinity_cpu_count()) }

    // MARK: Processes and files

    static var processID: Int32 { getpid() }
    static var userID: uid_t { getuid() }

    /// `getenv`: the variable's value, or nil when it is not set.
    static func environmentVariable(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// `unsetenv`.
    static func removeEnvironmentVariable(_ name: String) {
        _ = unsetenv(name)
    }

    /// `lstat`: what `path` itself is (a symbolic link is not followed); nil when it cannot be read.
    static func fileStatus(_ path: String) -> stat? {
        var info = stat()
        guard case .success = call({ Int(lstat(path, &info)) }) else { return nil }
        return info
    }

    static func changeMode(_ path: String, _ mode: mode_t) -> Result<Int, Errno> {
        call { Int(chmod(path, mode)) }
    }

    static func rename(_ from: String, to: String) -> Result<Int, Errno> {
        call { Int(Glibc.rename(from, to)) }
    }

    /// `unlink`; a file already gone is not an error worth reporting here.
    static func removeFile(_ path: String) {
        _ = call { Int(unlink(path)) }
    }
}
