import CSockit

#if canImport(Glibc)
import Glibc
#endif

// Every libc call of the Sockit module is made here (Scripts/check-layers.sh checks it), and the
// other modules use these too (`package`). One policy for all of them:
// - `EINTR` is retried, except by `close` (the descriptor is released anyway on Linux: a retry
//   could close one another thread has just been given) and by calls that wait with a deadline
//   (`poll`, `connect`), whose callers recompute what is left;
// - `errno` is read once, right after the call returns, before anything else can run and
//   overwrite it (NIO's `@inline(never)` note: ARC traffic between the call and the read may call
//   into the runtime, which may touch errno);
// - a non-blocking call that would block returns `.wouldBlock`, not an error.

/// The syscall layer: thin wrappers that return a `Result` with a typed `Errno`.
package enum Sys {
    /// Runs `body` until it returns something other than -1, retrying `EINTR` when asked.
    @inline(never)
    package static func call<T: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ body: () -> T) -> Result<T, Errno> {
        retrying(retryOnInterrupt: retryOnInterrupt, body)
    }

    /// Like `call`, but `EAGAIN`/`EWOULDBLOCK` becomes `.wouldBlock` instead of an error.
    @inline(never)
    package static func nonBlocking<T: FixedWidthInteger & Sendable>(_ body: () -> T) -> Result<IOResult<T>, Errno> {
        retryingNonBlocking(body)
    }

    /// The policy of `call`, inlined into the caller: for the servers' per-packet calls, where an
    /// out-of-line generic call would cost more than the syscall's own bookkeeping.
    @inlinable @inline(__always)
    package static func retrying<T: FixedWidthInteger>(
        retryOnInterrupt: Bool = true, _ body: () -> T
    )
        -> Result<T, Errno>
    {
        while true {
            let result = body()
            if result != -1 { return .success(result) }
            let code = sockit_errno()
            if code == EINTR && retryOnInterrupt { continue }
            return .failure(Errno(rawValue: code))
        }
    }

    /// The policy of `nonBlocking`, inlined into the caller (see `retrying`).
    @inlinable @inline(__always)
    package static func retryingNonBlocking<T: FixedWidthInteger & Sendable>(
        _ body: () -> T
    )
        -> Result<IOResult<T>, Errno>
    {
        switch retrying(body) {
        case .success(let value): return .success(.processed(value))
        case .failure(let errno) where errno.rawValue == EAGAIN || errno.rawValue == EWOULDBLOCK:
            return .success(.wouldBlock)
        case .failure(let errno): return .failure(errno)
        }
    }

    /// `close(2)`, never retried: on Linux the descriptor is released even when close reports
    /// `EINTR`, and retrying could close a descriptor another thread has just been given.
    /// See https://lwn.net/Articles/576478/.
    @inline(never)
    @discardableResult
    package static func close(_ fd: CInt) -> Errno? {
        if Glibc.close(fd) == 0 { return nil }
        let code = sockit_errno()
        return code == EINTR ? nil : Errno(rawValue: code)
    }

    // MARK: Sockets

    package static func socket(_ domain: CInt, _ type: CInt, _ proto: CInt) -> Result<CInt, Errno> {
        call { Glibc.socket(domain, type, proto) }
    }

    package static func socketpair(_ domain: CInt, _ type: CInt, _ fds: inout [CInt]) -> Result<CInt, Errno> {
        call { Glibc.socketpair(domain, type, 0, &fds) }
    }

    package static func bind(_ fd: CInt, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Result<CInt, Errno>
    {
        call { Glibc.bind(fd, address, length) }
    }

    package static func listen(_ fd: CInt, _ backlog: CInt) -> Result<CInt, Errno> {
        call { Glibc.listen(fd, backlog) }
    }

    /// `accept4`; the peer's address is written to `address` when it is given.
    package static func accept(
        _ fd: CInt, _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?,
        flags: CInt
    ) -> Result<IOResult<CInt>, Errno> {
        nonBlocking { sockit_accept4(fd, address, length, flags) }
    }

    /// `connect`, by default not retried on `EINTR`: an interrupted TCP connect goes on in the
    /// background, and a second call would fail with `EALREADY` (a Unix one may be retried).
    package static func connect(
        _ fd: CInt, _ address: UnsafePointer<sockaddr>, _ length: socklen_t, retryOnInterrupt: Bool = false
    ) -> Result<CInt, Errno> {
        call(retryOnInterrupt: retryOnInterrupt) { Glibc.connect(fd, address, length) }
    }

    package static func getsockname(
        _ fd: CInt, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>
    ) -> Result<CInt, Errno> {
        call { Glibc.getsockname(fd, address, length) }
    }

    package static func getpeername(
        _ fd: CInt, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>
    ) -> Result<CInt, Errno> {
        call { Glibc.getpeername(fd, address, length) }
    }

    package static func shutdown(_ fd: CInt, _ how: CInt) -> Result<CInt, Errno> {
        call { Glibc.shutdown(fd, how) }
    }

    package static func setsockopt(
        _ fd: CInt, _ level: CInt, _ name: CInt, _ value: UnsafeRawPointer?, _ length: socklen_t
    )
        -> Result<CInt, Errno>
    {
        call { Glibc.setsockopt(fd, level, name, value, length) }
    }

    package static func getsockopt(
        _ fd: CInt, _ level: CInt, _ name: CInt, _ value: UnsafeMutableRawPointer?,
        _ length: UnsafeMutablePointer<socklen_t>
    ) -> Result<CInt, Errno> {
        call { Glibc.getsockopt(fd, level, name, value, length) }
    }

    package static func fcntl(_ fd: CInt, _ command: CInt, _ argument: CInt) -> Result<CInt, Errno> {
        call { Glibc.fcntl(fd, command, argument) }
    }

    /// `poll`, not retried on `EINTR`: the caller knows its deadline and waits for what is left.
    package static func poll(
        _ fds: UnsafeMutablePointer<pollfd>, _ count: nfds_t, _ timeout: CInt
    ) -> Result<CInt, Errno> {
        call(retryOnInterrupt: false) { Glibc.poll(fds, count, timeout) }
    }

    // MARK: Data

    /// `send`, always with `MSG_NOSIGNAL`: a peer that went away is `EPIPE`, never `SIGPIPE`.
    @inline(__always)
    package static func send(
        _ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: CInt
    )
        -> Result<IOResult<Int>, Errno>
    {
        nonBlocking { Glibc.send(fd, buffer, count, flags | CInt(SOCKIT_MSG_NOSIGNAL)) }
    }

    @inline(__always)
    package static func recv(
        _ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ flags: CInt
    )
        -> Result<IOResult<Int>, Errno>
    {
        nonBlocking { Glibc.recv(fd, buffer, count, flags) }
    }

    /// `sendto`, always with `MSG_NOSIGNAL`.
    package static func sendto(
        _ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: CInt, _ address: UnsafePointer<sockaddr>?,
        _ length: socklen_t
    ) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Glibc.sendto(fd, buffer, count, flags | CInt(SOCKIT_MSG_NOSIGNAL), address, length) }
    }

    package static func recvfrom(
        _ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ flags: CInt,
        _ address: UnsafeMutablePointer<sockaddr>?, _ length: UnsafeMutablePointer<socklen_t>?
    ) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Glibc.recvfrom(fd, buffer, count, flags, address, length) }
    }

    /// `sendmsg`, always with `MSG_NOSIGNAL`.
    package static func sendmsg(
        _ fd: CInt, _ message: UnsafePointer<msghdr>, _ flags: CInt
    )
        -> Result<IOResult<Int>, Errno>
    {
        nonBlocking { Glibc.sendmsg(fd, message, flags | CInt(SOCKIT_MSG_NOSIGNAL)) }
    }

    package static func recvmsg(
        _ fd: CInt, _ message: UnsafeMutablePointer<msghdr>, _ flags: CInt
    )
        -> Result<IOResult<Int>, Errno>
    {
        nonBlocking { Glibc.recvmsg(fd, message, flags) }
    }

    /// `recvmmsg` (no timeout): up to `count` datagrams into `messages`, the number received.
    package static func recvmmsg(
        _ fd: CInt, _ messages: UnsafeMutablePointer<sockit_mmsghdr>, _ count: Int, _ flags: CInt
    ) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Int(sockit_recvmmsg(fd, messages, CUnsignedInt(count), flags)) }
    }

    /// `sendmmsg`, always with `MSG_NOSIGNAL`: the number sent from the start of `messages`.
    package static func sendmmsg(
        _ fd: CInt, _ messages: UnsafeMutablePointer<sockit_mmsghdr>, _ count: Int, _ flags: CInt
    ) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Int(sockit_sendmmsg(fd, messages, CUnsignedInt(count), flags | CInt(SOCKIT_MSG_NOSIGNAL))) }
    }

    /// `read` on any descriptor (a pipe, a file, an eventfd).
    package static func read(
        _ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int
    ) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Glibc.read(fd, buffer, count) }
    }

    /// `write` on any descriptor.
    package static func write(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int) -> Result<IOResult<Int>, Errno> {
        nonBlocking { Glibc.write(fd, buffer, count) }
    }

    // MARK: Addresses and names

    /// `inet_pton`: the address's bytes written to `destination`; false when the text is not one.
    package static func presentationToNetwork(
        _ family: CInt, _ text: String, _ destination: UnsafeMutableRawPointer
    )
        -> Bool
    {
        inet_pton(family, text, destination) == 1
    }

    /// `inet_ntop`: the text of an address; nil when it cannot be written.
    package static func networkToPresentation(_ family: CInt, _ source: UnsafeRawPointer, capacity: Int) -> String? {
        var buffer = [CChar](repeating: 0, count: capacity)
        guard inet_ntop(family, source, &buffer, socklen_t(capacity)) != nil else { return nil }
        return String(cChars: buffer)
    }

    /// `if_nametoindex`; 0 when no interface has that name.
    package static func interfaceIndex(_ name: String) -> UInt32 { if_nametoindex(name) }

    /// `if_indextoname`; nil when no interface has that index.
    package static func interfaceName(_ index: UInt32) -> String? {
        var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
        return if_indextoname(index, &name) != nil ? String(cChars: name) : nil
    }

    /// `getaddrinfo` for `host` (stream sockets, `AI_ADDRCONFIG`): each address as its
    /// `sockaddr_storage` and length, in the resolver's order; or the resolver's message.
    package static func resolve(_ host: String) -> Result<[(sockaddr_storage, socklen_t)], ResolveFailure> {
        var hints = addrinfo()
        hints.ai_socktype = CInt(SOCKIT_SOCK_STREAM)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else {
            return .failure(
                ResolveFailure(message: status == 0 ? "no addresses" : String(cString: gai_strerror(status))))
        }
        defer { freeaddrinfo(list) }
        var result: [(sockaddr_storage, socklen_t)] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if let address = entry.pointee.ai_addr {
                var storage = sockaddr_storage()
                let length = min(Int(entry.pointee.ai_addrlen), MemoryLayout<sockaddr_storage>.size)
                withUnsafeMutableBytes(of: &storage) {
                    $0.copyMemory(from: UnsafeRawBufferPointer(start: address, count: length))
                }
                result.append((storage, socklen_t(length)))
            }
            cursor = entry.pointee.ai_next
        }
        return .success(result)
    }

    /// Why `getaddrinfo` failed, in the resolver's words.
    package struct ResolveFailure: Error {
        package var message: String
    }

    // MARK: Errors and limits

    /// `strerror`: the system's text for an errno value.
    package static func errorText(_ code: CInt) -> String? {
        guard let text = strerror(code) else { return nil }
        return String(cString: text)
    }

    /// `strerrorname_np`: the C name of an errno value, e.g. `EADDRINUSE`.
    package static func errorName(_ code: CInt) -> String? {
        sockit_errno_name(code).map { String(cString: $0) }
    }

    /// The calling thread's `errno`.
    package static var currentErrno: CInt { sockit_errno() }

    /// Sets the calling thread's `errno` (a call that reports its error by return value, such as
    /// `pthread_create`, for callers that read `errno`).
    package static func setErrno(_ value: CInt) { sockit_set_errno(value) }

    /// The soft limit on open files (`RLIMIT_NOFILE`); nil when it cannot be read.
    package static func openFileLimit() -> UInt64? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return UInt64(limit.rlim_cur)
    }

    /// A sysctl read from /proc/sys (e.g. `net/ipv4/ip_unprivileged_port_start`), without white
    /// space; nil when it cannot be read.
    package static func readSysctl(_ name: String) -> String? {
        guard let bytes = readSmallFile("/proc/sys/" + name) else { return nil }
        return String(String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace })
    }

    /// The first `limit` bytes of a file (a /proc or /sys file: read at once); nil when it cannot be opened.
    package static func readSmallFile(_ path: String, limit: Int = 4096) -> [UInt8]? {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        var count = 0
        while count < limit {
            let result = bytes.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + count, limit - count) }
            guard case .success(.processed(let read)) = result, read > 0 else { break }
            count += read
        }
        bytes.removeSubrange(count...)
        return bytes
    }

    // MARK: Threads

    /// `pthread_create`, or on Linux started on a CPU other than the caller's
    /// (`sockit_thread_create_elsewhere`); the error number, or 0.
    package static func createThread(
        _ thread: inout pthread_t, onAnotherCPU: Bool,
        _ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?,
        _ argument: UnsafeMutableRawPointer
    ) -> CInt {
        onAnotherCPU
            ? sockit_thread_create_elsewhere(&thread, start, argument) : pthread_create(&thread, nil, start, argument)
    }

    package static func joinThread(_ thread: pthread_t) { pthread_join(thread, nil) }
    package static func detachThread(_ thread: pthread_t) { pthread_detach(thread) }
    package static func currentThread() -> pthread_t { pthread_self() }
    /// The calling thread's `pthread_t` as a number, to keep in an atomic.
    package static func currentThreadID() -> UInt { UInt(pthread_self()) }
    package static func isCurrentThread(_ thread: pthread_t) -> Bool { pthread_equal(thread, pthread_self()) != 0 }

    package static func initializeMutex(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) {
        pthread_mutex_init(mutex, nil)
    }
    package static func destroyMutex(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) { pthread_mutex_destroy(mutex) }
    package static func lock(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) { pthread_mutex_lock(mutex) }
    package static func unlock(_ mutex: UnsafeMutablePointer<pthread_mutex_t>) { pthread_mutex_unlock(mutex) }
    package static func initializeCondition(_ condition: UnsafeMutablePointer<pthread_cond_t>) {
        pthread_cond_init(condition, nil)
    }
    package static func destroyCondition(_ condition: UnsafeMutablePointer<pthread_cond_t>) {
        pthread_cond_destroy(condition)
    }
    package static func wait(
        _ condition: UnsafeMutablePointer<pthread_cond_t>, _ mutex: UnsafeMutablePointer<pthread_mutex_t>
    ) {
        pthread_cond_wait(condition, mutex)
    }
    package static func broadcast(_ condition: UnsafeMutablePointer<pthread_cond_t>) {
        pthread_cond_broadcast(condition)
    }
}

extension Result {
    /// The success value, or the error turned into a `SocketError` by `context`.
    @inline(__always)
    func orThrow(_ context: (Failure) -> SocketError) throws(SocketError) -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let error): throw context(error)
        }
    }
}

extension String {
    /// A string from a NUL-terminated C buffer (stops at the first NUL or the end).
    init(cChars buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
