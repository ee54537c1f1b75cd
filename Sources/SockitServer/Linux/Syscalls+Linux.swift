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
    /// Sockit's `Sys.call` policy, written out here for `Int`: the release build calls Sockit's
    /// generic `Sys.retrying` unspecialised across the module boundary (with a generic-metadata
    /// lookup on every call: about 4 % of the epoll echo loop's CPU in `perf record`, README
    /// "io_uring"), for all its `@inlinable`.
    @inline(__always) @usableFromInline
    static func call(retryOnInterrupt: Bool = true, _ body: () -> Int) -> Result<Int, Errno> {
        while true {
            let result = body()
            if result != -1 { return .success(result) }
            let code = sockit_errno()
            if code == EINTR && retryOnInterrupt { continue }
            return .failure(Errno(rawValue: code))
        }
    }

    /// Sockit's `Sys.nonBlocking` policy, written out here for `Int` (see `call`).
    @inline(__always) @usableFromInline
    static func nonBlocking(_ body: () -> Int) -> Result<IOResult<Int>, Errno> {
        switch call(body) {
        case .success(let value): return .success(.processed(value))
        case .failure(let errno) where errno.rawValue == EAGAIN || errno.rawValue == EWOULDBLOCK:
            return .success(.wouldBlock)
        case .failure(let errno): return .failure(errno)
        }
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

    /// Arms the one-shot `timerfd` `fd` to fire after `delay` (at least a nanosecond), or
    /// disarms it (nil).
    static func setTimer(_ fd: CInt, after delay: Duration?) {
        var spec = itimerspec()
        if let delay {
            let (seconds, attoseconds) = max(delay, .nanoseconds(1)).components
            spec.it_value.tv_sec = Int(seconds)
            spec.it_value.tv_nsec = Int(attoseconds / 1_000_000_000)
            if spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0 { spec.it_value.tv_nsec = 1 }
        }
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

    // MARK: io_uring (CSockitURing.h: raw syscalls and the shared rings)

    /// `io_uring_setup` and the ring mappings: 0 or the errno the kernel refused with.
    static func uringInit(
        _ ring: UnsafeMutablePointer<sockit_uring>, entries: UInt32, completions: UInt32, flags: UInt32
    ) -> CInt {
        -sockit_uring_init(ring, entries, completions, flags)
    }

    /// Registers a provided-buffer ring: 0 or the errno.
    static func uringSetupBuffers(_ ring: UnsafeMutablePointer<sockit_uring>, entries: UInt32, group: UInt16) -> CInt {
        -sockit_uring_setup_buffers(ring, entries, group)
    }

    /// Enables a ring made disabled, on the calling thread (its only submitter from then on).
    static func uringEnable(_ ring: UnsafeMutablePointer<sockit_uring>) -> CInt { -sockit_uring_enable(ring) }

    /// Unmaps and closes a ring.
    static func uringExit(_ ring: UnsafeMutablePointer<sockit_uring>) { sockit_uring_exit(ring) }

    /// `io_uring_enter`: submits what was prepared and waits for `waitFor` completions. The
    /// number submitted, or the errno (`EINTR` is reported: the loop enters again).
    @inline(__always)
    static func uringSubmitAndWait(_ ring: UnsafeMutablePointer<sockit_uring>, _ waitFor: UInt32) -> Result<Int, Errno>
    {
        let result = sockit_uring_submit_and_wait(ring, waitFor)
        return result < 0 ? .failure(Errno(rawValue: -result)) : .success(Int(result))
    }

    /// A zeroed SQE, submitting what is queued first when the queue is full.
    @inline(__always)
    static func uringSQE(_ ring: UnsafeMutablePointer<sockit_uring>) -> UnsafeMutablePointer<io_uring_sqe> {
        while true {
            if let sqe = sockit_uring_get_sqe(ring) { return sqe }
            _ = sockit_uring_submit_and_wait(ring, 0)
        }
    }

    @inline(__always)
    static func uringPrepareAccept(_ sqe: UnsafeMutablePointer<io_uring_sqe>, _ fd: CInt, _ data: UInt64) {
        sockit_uring_prep_accept_multishot(sqe, fd, data)
    }

    @inline(__always)
    static func uringPrepareReceive(
        _ sqe: UnsafeMutablePointer<io_uring_sqe>, _ fd: CInt, group: UInt16, _ data: UInt64
    ) {
        sockit_uring_prep_recv_multishot(sqe, fd, group, data)
    }

    @inline(__always)
    static func uringPrepareSend(
        _ sqe: UnsafeMutablePointer<io_uring_sqe>, _ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int, _ data: UInt64
    ) {
        sockit_uring_prep_send(sqe, fd, buffer, UInt32(count), data)
    }

    @inline(__always)
    static func uringPrepareCancel(_ sqe: UnsafeMutablePointer<io_uring_sqe>, target: UInt64, _ data: UInt64) {
        sockit_uring_prep_cancel(sqe, target, data)
    }

    static func uringPreparePoll(_ sqe: UnsafeMutablePointer<io_uring_sqe>, _ fd: CInt, _ data: UInt64) {
        sockit_uring_prep_poll_multishot(sqe, fd, data)
    }

    /// A one-shot poll of `fd` for `events` (`POLLIN`, `POLLOUT`, ... as poll(2) spells them).
    @inline(__always)
    static func uringPreparePoll(
        _ sqe: UnsafeMutablePointer<io_uring_sqe>, _ fd: CInt, events: UInt32, _ data: UInt64
    ) {
        sockit_uring_prep_poll(sqe, fd, events, data)
    }

    /// Removes the poll whose user data is `target`.
    @inline(__always)
    static func uringPreparePollRemove(_ sqe: UnsafeMutablePointer<io_uring_sqe>, target: UInt64, _ data: UInt64) {
        sockit_uring_prep_poll_remove(sqe, target, data)
    }

    /// `io_uring_enter` with `IORING_ENTER_GETEVENTS`: submits what was prepared and waits up to
    /// `timeout` (nil: no limit; zero: not at all) for `waitFor` completions. The number
    /// submitted, or the errno (`EINTR` and `ETIME` are reported: the caller reads what came).
    static func uringEnter(
        _ ring: UnsafeMutablePointer<sockit_uring>, waitFor: UInt32, timeout: Duration?
    ) -> Result<Int, Errno> {
        var nanoseconds: Int64 = -1
        if let timeout {
            let (seconds, attoseconds) = max(timeout, .zero).components
            nanoseconds =
                seconds.multipliedReportingOverflow(by: 1_000_000_000).partialValue
                + attoseconds / 1_000_000_000
            if nanoseconds == 0 && timeout > .zero { nanoseconds = 1 }
        }
        let result = sockit_uring_enter(ring, waitFor, nanoseconds)
        return result < 0 ? .failure(Errno(rawValue: -result)) : .success(Int(result))
    }

    /// The poll(2) bits: readable (with the peer's half-close), writable, error, hang-up.
    static let pollReadable = UInt32(POLLIN) | UInt32(SOCKIT_POLLRDHUP)
    static let pollWritable = UInt32(POLLOUT)
    static let pollFailed = UInt32(POLLERR) | UInt32(POLLHUP)

    static func uringPrepareTimeout(
        _ sqe: UnsafeMutablePointer<io_uring_sqe>, _ spec: UnsafeMutablePointer<__kernel_timespec>, _ data: UInt64
    ) {
        sockit_uring_prep_timeout(sqe, spec, data)
    }

    /// The completions ready and the index of the first.
    @inline(__always)
    static func uringReady(_ ring: UnsafeMutablePointer<sockit_uring>) -> (first: UInt32, count: UInt32) {
        var head: UInt32 = 0
        let count = sockit_uring_cq_ready(ring, &head)
        return (head, count)
    }

    @inline(__always)
    static func uringCompletion(_ ring: UnsafeMutablePointer<sockit_uring>, _ index: UInt32) -> io_uring_cqe {
        sockit_uring_cqe_at(ring, index).pointee
    }

    @inline(__always)
    static func uringAdvance(_ ring: UnsafeMutablePointer<sockit_uring>, _ count: UInt32) {
        sockit_uring_cq_advance(ring, count)
    }

    @inline(__always)
    static func uringGiveBuffer(
        _ ring: UnsafeMutablePointer<sockit_uring>, _ address: UnsafeMutableRawPointer, _ length: Int, id: UInt16
    ) {
        sockit_uring_buf_add(ring, address, UInt32(length), id)
    }

    @inline(__always)
    static func uringPublishBuffers(_ ring: UnsafeMutablePointer<sockit_uring>) {
        sockit_uring_buf_advance(ring)
    }

    /// A connected pair of non-blocking stream sockets (for the io_uring probe).
    static func socketPair() -> (CInt, CInt)? {
        var ends: [CInt] = [-1, -1]
        let type = CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
        guard case .success = call({ Int(socketpair(AF_UNIX, type, 0, &ends)) }) else { return nil }
        return (ends[0], ends[1])
    }

    /// `write(2)` of a few bytes, for the probe.
    static func writeBytes(_ fd: CInt, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            if case .success(.processed(let count)) = nonBlocking({ write(fd, raw.baseAddress, raw.count) }) {
                return count == raw.count
            }
            return false
        }
    }

    /// `close(2)` of an accepted connection, without a `Socket` (not retried on `EINTR`).
    @inline(__always)
    static func closeConnection(_ fd: CInt) { Sys.close(fd) }

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
