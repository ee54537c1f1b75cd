#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockit
import Synchronization

/// A socket that owns exactly one file descriptor and closes it exactly once: on `close()`, or
/// when the last reference goes away.
///
/// Created with `SOCK_CLOEXEC`, so a child process never inherits it by accident. `EINTR` is
/// retried everywhere but `close`. Sending never raises `SIGPIPE` (`MSG_NOSIGNAL`): a peer that
/// went away is an error (`EPIPE`), not the death of the process.
///
/// ```swift
/// let server = try Socket(.ipv4, .stream)
/// try server.setOption(.reuseAddress, true)
/// try server.bind(to: SocketAddress("127.0.0.1:0"))
/// try server.listen()
/// print("listening on \(try server.localAddress())")
/// ```
public final class Socket: Sendable {
    private let descriptor: Atomic<CInt>
    /// The address family given at creation (or read with `SO_DOMAIN` for an adopted descriptor).
    public let domain: SocketDomain
    /// The socket type given at creation (or read with `SO_TYPE`).
    public let type: SocketType

    /// Creates a socket. The corresponding C function is `socket`.
    ///
    /// - Parameters:
    ///   - domain: `.ipv4`, `.ipv6` or `.unix`.
    ///   - type: `.stream` or `.datagram`.
    ///   - protocol: usually `.default`.
    ///   - nonBlocking: open with `SOCK_NONBLOCK`.
    /// - Throws: `SocketError` (`EMFILE`, `EAFNOSUPPORT`, …).
    public init(
        _ domain: SocketDomain, _ type: SocketType, protocol: IPProtocol = .default, nonBlocking: Bool = false
    ) throws(SocketError) {
        var flags = type.rawValue | CInt(SOCKIT_SOCK_CLOEXEC)
        if nonBlocking { flags |= CInt(SOCKIT_SOCK_NONBLOCK) }
        let fd = try Sys.socket(domain.rawValue, flags, `protocol`.rawValue).orThrow {
            SocketError(syscall: "socket", errno: $0)
        }
        self.descriptor = Atomic(fd)
        self.domain = domain
        self.type = type
    }

    /// A socket for `address`'s family: `Socket(for: address, .stream)`.
    public convenience init(for address: SocketAddress, _ type: SocketType, nonBlocking: Bool = false)
        throws(SocketError)
    {
        try self.init(address.domain, type, nonBlocking: nonBlocking)
    }

    /// Takes ownership of an open socket descriptor (inherited, received with `SCM_RIGHTS`,
    /// duplicated with `pidfd_getfd`). It will be closed with this object.
    ///
    /// - Throws: `SocketError` with `ENOTSOCK` when `fd` is not a socket; `fd` is then left open.
    public init(adopting fd: CInt) throws(SocketError) {
        let domain = try Self.readInt(fd, SOL_SOCKET, SO_DOMAIN, "SO_DOMAIN")
        let type = try Self.readInt(fd, SOL_SOCKET, SO_TYPE, "SO_TYPE")
        self.descriptor = Atomic(fd)
        self.domain = SocketDomain(rawValue: domain)
        self.type = SocketType(rawValue: type)
    }

    private init(owning fd: CInt, domain: SocketDomain, type: SocketType) {
        self.descriptor = Atomic(fd)
        self.domain = domain
        self.type = type
    }

    deinit {
        let fd = descriptor.load(ordering: .relaxed)
        if fd >= 0 { _ = Sys.close(fd) }
    }

    /// A connected pair of Unix sockets. The corresponding C function is `socketpair`.
    public static func pair(_ type: SocketType = .stream, nonBlocking: Bool = false) throws(SocketError) -> (
        Socket, Socket
    ) {
        var fds: [CInt] = [-1, -1]
        var flags = type.rawValue | CInt(SOCKIT_SOCK_CLOEXEC)
        if nonBlocking { flags |= CInt(SOCKIT_SOCK_NONBLOCK) }
        _ = try Sys.call { socketpair(AF_UNIX, flags, 0, &fds) }.orThrow {
            SocketError(syscall: "socketpair", errno: $0)
        }
        return (
            Socket(owning: fds[0], domain: .unix, type: type), Socket(owning: fds[1], domain: .unix, type: type)
        )
    }

    /// The descriptor, or -1 once closed. Do not close it yourself: use `close()` or `takeDescriptor()`.
    public var fileDescriptor: CInt { descriptor.load(ordering: .acquiring) }

    /// True once `close()` or `takeDescriptor()` ran.
    public var isClosed: Bool { fileDescriptor < 0 }

    /// Closes the descriptor. A second call does nothing. The corresponding C function is `close`.
    ///
    /// - Throws: `SocketError` only for an error other than `EINTR` (which is not retried: the
    ///   descriptor is released anyway).
    public func close() throws(SocketError) {
        let fd = descriptor.exchange(-1, ordering: .acquiringAndReleasing)
        guard fd >= 0 else { return }
        if let error = Sys.close(fd) { throw SocketError(syscall: "close", errno: error) }
    }

    /// Gives up ownership: returns the descriptor, which the caller must now close.
    /// Returns -1 if the socket was already closed.
    public func takeDescriptor() -> CInt {
        descriptor.exchange(-1, ordering: .acquiringAndReleasing)
    }

    /// Calls `body` with the open descriptor.
    ///
    /// - Throws: `SocketError` with `EBADF` when the socket is closed, or what `body` throws.
    @inline(__always)
    func withDescriptor<R>(_ syscall: String, _ body: (CInt) throws(SocketError) -> R) throws(SocketError) -> R {
        let fd = fileDescriptor
        guard fd >= 0 else { throw SocketError(syscall: syscall, errno: .badFileDescriptor, hints: ["the socket is closed"]) }
        return try body(fd)
    }

    static func readInt(_ fd: CInt, _ level: CInt, _ name: CInt, _ cName: String) throws(SocketError) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        _ = try Sys.getsockopt(fd, level, name, &value, &length).orThrow {
            SocketError(syscall: "getsockopt", errno: $0, option: cName)
        }
        return value
    }
}

// MARK: - Addresses, bind, listen, accept

extension Socket {
    /// Hook that fills `SocketError.diagnosis` when `bind` fails with `EADDRINUSE`.
    /// `SockitPorts` installs one (`PortInspector.installBindDiagnoser()`); nil by default.
    public typealias BindDiagnoser = @Sendable (_ address: SocketAddress, _ type: SocketType) -> PortDiagnosis?

    private static let diagnoser = Mutex<BindDiagnoser?>(nil)

    /// Installs (or with nil removes) the diagnoser consulted when `bind` fails with `EADDRINUSE`.
    public static func setBindDiagnoser(_ diagnoser: BindDiagnoser?) {
        self.diagnoser.withLock { $0 = diagnoser }
    }

    /// Binds to `address`. The corresponding C function is `bind`.
    ///
    /// - Throws: `SocketError`; for `EADDRINUSE` its hints tell TIME_WAIT from a live holder and
    ///   say whether `SO_REUSEADDR` helps, for `EACCES` on a port below 1024 how to get the privilege.
    public func bind(to address: SocketAddress) throws(SocketError) {
        try withDescriptor("bind") { fd throws(SocketError) in
            let result = address.withSockAddr { pointer, length in Sys.call { Glibc.bind(fd, pointer, length) } }
            guard case .failure(let errno) = result else { return }
            var reuse: Bool?
            var diagnosis: PortDiagnosis?
            if errno == .addressInUse {
                reuse = (try? Self.readInt(fd, SOL_SOCKET, SO_REUSEADDR, "SO_REUSEADDR")).map { $0 != 0 }
                if let diagnoser = Self.diagnoser.withLock({ $0 }) { diagnosis = diagnoser(address, type) }
            }
            throw SocketError(
                syscall: "bind", errno: errno, address: address, diagnosis: diagnosis, socketType: type,
                reuseAddressWasSet: reuse)
        }
    }

    /// Starts listening. The corresponding C function is `listen`.
    ///
    /// - Parameter backlog: the accept-queue length; the kernel caps it at `net.core.somaxconn`.
    ///   The default asks for that cap.
    public func listen(backlog: Int32 = Socket.defaultBacklog) throws(SocketError) {
        try withDescriptor("listen") { fd throws(SocketError) in
            _ = try Sys.call { Glibc.listen(fd, backlog) }.orThrow {
                SocketError(syscall: "listen", errno: $0, address: try? self.localAddress())
            }
        }
    }

    /// `net.core.somaxconn`, the kernel's cap on the accept queue (4096 when unreadable).
    public static var defaultBacklog: Int32 {
        readSysctl("net/core/somaxconn").flatMap { Int32($0) } ?? 4096
    }

    /// Accepts a connection, waiting for one on a blocking socket. The new socket has
    /// `SOCK_CLOEXEC`, and `SOCK_NONBLOCK` when asked. The corresponding C function is `accept4`.
    public func accept(nonBlocking: Bool = false) throws(SocketError) -> (Socket, SocketAddress?) {
        switch try acceptNonBlocking(nonBlocking: nonBlocking) {
        case .processed(let pair): return pair
        case .wouldBlock: throw SocketError(syscall: "accept4", errno: .wouldBlock)
        }
    }

    /// Accepts a connection on a non-blocking listener: `.wouldBlock` when none is waiting.
    public func acceptNonBlocking(nonBlocking: Bool = true) throws(SocketError) -> IOResult<(Socket, SocketAddress?)> {
        try withDescriptor("accept4") { fd throws(SocketError) in
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            var flags = CInt(SOCKIT_SOCK_CLOEXEC)
            if nonBlocking { flags |= CInt(SOCKIT_SOCK_NONBLOCK) }
            let result = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    Sys.nonBlocking { sockit_accept4(fd, address, &length, flags) }
                }
            }
            switch result {
            case .success(.processed(let newFD)):
                let peer = SocketAddress(storage: storage, length: length)
                return .processed((Socket(owning: newFD, domain: domain, type: type), peer))
            case .success(.wouldBlock):
                return .wouldBlock
            case .failure(let errno):
                throw SocketError(syscall: "accept4", errno: errno, address: try? self.localAddress())
            }
        }
    }

    /// The address this socket is bound to. The corresponding C function is `getsockname`.
    public func localAddress() throws(SocketError) -> SocketAddress {
        try withDescriptor("getsockname") { fd throws(SocketError) in
            try Self.address(fd, "getsockname") { Glibc.getsockname($0, $1, $2) }
        }
    }

    /// The address of the connected peer. The corresponding C function is `getpeername`.
    public func remoteAddress() throws(SocketError) -> SocketAddress {
        try withDescriptor("getpeername") { fd throws(SocketError) in
            try Self.address(fd, "getpeername") { Glibc.getpeername($0, $1, $2) }
        }
    }

    private static func address(
        _ fd: CInt, _ syscall: String,
        _ call: (CInt, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt
    ) throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                Sys.call { call(fd, address, &length) }
            }
        }
        if case .failure(let errno) = result { throw SocketError(syscall: syscall, errno: errno) }
        guard let address = SocketAddress(storage: storage, length: length) else {
            throw SocketError(
                syscall: syscall, errno: .addressFamilyNotSupported, hints: ["the address family is not IPv4, IPv6 or Unix"])
        }
        return address
    }
}

// MARK: - Connect

extension Socket {
    /// Connects to `address`, waiting up to `timeout` (nil: as long as the kernel tries).
    /// The corresponding C function is `connect`.
    ///
    /// A timeout is implemented with a non-blocking connect and `poll`; the socket's blocking mode
    /// is restored afterwards.
    /// - Throws: `SocketError`: `ECONNREFUSED` when nothing listens, `ETIMEDOUT` past the timeout.
    public func connect(to address: SocketAddress, timeout: Duration? = nil) throws(SocketError) {
        guard let timeout else {
            try withDescriptor("connect") { fd throws(SocketError) in
                let result = address.withSockAddr { pointer, length in
                    Sys.call(retryOnInterrupt: false) { Glibc.connect(fd, pointer, length) }
                }
                switch result {
                case .success: return
                case .failure(.interrupted), .failure(.inProgress):
                    // An interrupted blocking connect goes on in the background; wait for it.
                    try waitForConnect(address: address, timeout: nil)
                case .failure(let errno):
                    throw SocketError(syscall: "connect", errno: errno, address: address, socketType: type)
                }
            }
            return
        }
        if domain == .unix {
            try connectUnix(to: address, timeout: timeout)
            return
        }
        let wasNonBlocking = try isNonBlocking()
        if !wasNonBlocking { try setNonBlocking(true) }
        defer { if !wasNonBlocking { try? setNonBlocking(false) } }
        if try connectNonBlocking(to: address) { return }
        try waitForConnect(address: address, timeout: timeout)
    }

    /// A Unix stream connect completes at once or not at all: when the listener's backlog is
    /// full a non-blocking connect fails with `EAGAIN` (nothing is in progress, and the socket
    /// polls writable while unconnected), and a blocking one waits for room for up to
    /// `SO_SNDTIMEO`. So: a blocking connect with the send timeout set to `timeout`.
    private func connectUnix(to address: SocketAddress, timeout: Duration) throws(SocketError) {
        let wasNonBlocking = try isNonBlocking()
        let sendTimeout = try getOption(.sendTimeout)
        if wasNonBlocking { try setNonBlocking(false) }
        try setOption(.sendTimeout, max(timeout, .microseconds(1)))
        defer {
            try? setOption(.sendTimeout, sendTimeout)
            if wasNonBlocking { try? setNonBlocking(true) }
        }
        try withDescriptor("connect") { fd throws(SocketError) in
            let result = address.withSockAddr { pointer, length in Sys.call { Glibc.connect(fd, pointer, length) } }
            switch result {
            case .success: return
            case .failure(.wouldBlock):
                throw SocketError(
                    syscall: "connect", errno: .timedOut, address: address,
                    hints: ["the listener's backlog stayed full for \(timeout): it does not accept connections"])
            case .failure(let errno):
                throw SocketError(syscall: "connect", errno: errno, address: address, socketType: type)
            }
        }
    }

    /// Starts a connect on a non-blocking socket: true when it completed at once, false when it
    /// is in progress (`EINPROGRESS`; wait for writability, then read `SocketOption.error`).
    public func connectNonBlocking(to address: SocketAddress) throws(SocketError) -> Bool {
        try withDescriptor("connect") { fd throws(SocketError) in
            let result = address.withSockAddr { pointer, length in
                Sys.call(retryOnInterrupt: false) { Glibc.connect(fd, pointer, length) }
            }
            switch result {
            case .success: return true
            case .failure(.inProgress), .failure(.interrupted): return false
            case .failure(.wouldBlock) where self.domain == .unix:
                // Not in progress: the listener's backlog is full, and nothing will complete.
                throw SocketError(
                    syscall: "connect", errno: .wouldBlock, address: address,
                    hints: ["the listener's backlog is full; try again later, or connect with a timeout"])
            case .failure(let errno):
                throw SocketError(syscall: "connect", errno: errno, address: address, socketType: type)
            }
        }
    }

    private func waitForConnect(address: SocketAddress, timeout: Duration?) throws(SocketError) {
        let ready = try poll(for: Int16(POLLOUT), timeout: timeout)
        guard ready else { throw SocketError(syscall: "connect", errno: .timedOut, address: address) }
        let pending = try getOption(.error)
        if let pending { throw SocketError(syscall: "connect", errno: pending, address: address, socketType: type) }
    }

    /// Waits until the socket is ready for `events` (`POLLIN`, `POLLOUT`) or `timeout` passes.
    /// Returns false on timeout. `EINTR` restarts the wait with the time that is left.
    public func poll(for events: Int16, timeout: Duration?) throws(SocketError) -> Bool {
        try withDescriptor("poll") { fd throws(SocketError) in
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + $0 }
            while true {
                var entry = pollfd(fd: fd, events: events, revents: 0)
                var milliseconds: CInt = -1
                if let deadline {
                    let left = clock.now.duration(to: deadline)
                    milliseconds = left <= .zero ? 0 : CInt(clamping: left.milliseconds + 1)
                }
                switch Sys.poll(&entry, 1, milliseconds) {
                case .success(0):
                    if let deadline, clock.now >= deadline { return false }
                case .success: return true
                case .failure(.interrupted): continue
                case .failure(let errno): throw SocketError(syscall: "poll", errno: errno)
                }
            }
        }
    }

    /// Whether `O_NONBLOCK` is set.
    public func isNonBlocking() throws(SocketError) -> Bool {
        try withDescriptor("fcntl") { fd throws(SocketError) in
            let flags = try Sys.fcntl(fd, F_GETFL, 0).orThrow { SocketError(syscall: "fcntl", errno: $0) }
            return flags & O_NONBLOCK != 0
        }
    }

    /// Sets or clears `O_NONBLOCK`. The corresponding C function is `fcntl(F_SETFL)`.
    public func setNonBlocking(_ nonBlocking: Bool) throws(SocketError) {
        try withDescriptor("fcntl") { fd throws(SocketError) in
            let flags = try Sys.fcntl(fd, F_GETFL, 0).orThrow { SocketError(syscall: "fcntl", errno: $0) }
            let wanted = nonBlocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
            if wanted != flags {
                _ = try Sys.fcntl(fd, F_SETFL, wanted).orThrow { SocketError(syscall: "fcntl", errno: $0) }
            }
        }
    }

    /// Closes one or both directions. `.write` sends a FIN: the peer reads end-of-file.
    /// The corresponding C function is `shutdown`.
    public func shutdown(_ how: ShutdownHow) throws(SocketError) {
        try withDescriptor("shutdown") { fd throws(SocketError) in
            _ = try Sys.call { Glibc.shutdown(fd, how.rawValue) }.orThrow { SocketError(syscall: "shutdown", errno: $0) }
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
