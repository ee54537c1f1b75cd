import CSockit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
    public convenience init(
        for address: SocketAddress, _ type: SocketType, nonBlocking: Bool = false
    )
        throws(SocketError)
    {
        try self.init(address.domain, type, nonBlocking: nonBlocking)
    }

    /// Takes ownership of an open socket descriptor (inherited, received with `SCM_RIGHTS`,
    /// duplicated with `pidfd_getfd`). It will be closed with this object.
    ///
    /// - Throws: `SocketError` with `ENOTSOCK` when `fd` is not a socket; `fd` is then left open.
    public init(adopting fd: CInt) throws(SocketError) {
        let domain = try Self.getOption(.domain, descriptor: fd)
        let type = try Self.getOption(.type, descriptor: fd)
        self.descriptor = Atomic(fd)
        self.domain = domain
        self.type = type
    }

    init(owning fd: CInt, domain: SocketDomain, type: SocketType) {
        self.descriptor = Atomic(fd)
        self.domain = domain
        self.type = type
    }

    deinit {
        let fd = descriptor.load(ordering: .relaxed)
        if fd >= 0 { _ = Sys.close(fd) }
    }

    /// A connected pair of Unix sockets. The corresponding C function is `socketpair`.
    public static func pair(
        _ type: SocketType = .stream, nonBlocking: Bool = false
    ) throws(SocketError) -> (
        Socket, Socket
    ) {
        var fds: [CInt] = [-1, -1]
        var flags = type.rawValue | CInt(SOCKIT_SOCK_CLOEXEC)
        if nonBlocking { flags |= CInt(SOCKIT_SOCK_NONBLOCK) }
        _ = try Sys.socketpair(AF_UNIX, flags, &fds).orThrow {
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
        guard fd >= 0 else {
            throw SocketError(syscall: syscall, errno: .badFileDescriptor, explanation: ["the socket is closed"])
        }
        return try body(fd)
    }
}

// MARK: - Blocking mode, shutdown

extension Socket {
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
            _ = try Sys.shutdown(fd, how.rawValue).orThrow { SocketError(syscall: "shutdown", errno: $0) }
        }
    }
}
