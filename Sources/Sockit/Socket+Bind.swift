import CSockit

#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Binds to `address`. The corresponding C function is `bind`.
    ///
    /// - Parameters:
    ///   - address: the local address; port 0 lets the kernel pick a free port (read it back with
    ///     `localAddress()`).
    ///   - diagnoser: asked what holds the address when the bind fails with `EADDRINUSE`
    ///     (`PortInspector` from SockitPorts names the holder or the TIME_WAIT timers).
    /// - Throws: `SocketError`; for `EADDRINUSE` it tells TIME_WAIT from a live holder and says
    ///   whether `SO_REUSEADDR` helps, for `EACCES` on a port below 1024 how to get the privilege.
    public func bind(to address: SocketAddress, diagnoser: (any BindDiagnoser)? = nil) throws(SocketError) {
        try withDescriptor("bind") { fd throws(SocketError) in
            let result = address.withSockAddr { pointer, length in Sys.bind(fd, pointer, length) }
            guard case .failure(let errno) = result else { return }
            guard errno == .addressInUse else {
                throw SocketError(syscall: "bind", errno: errno, address: address, socketType: type)
            }
            let reuse = (try? getOption(.reuseAddress))
            if let found = diagnoser?.diagnoseAddressInUse(address, type: type, reuseAddressWasSet: reuse) {
                throw SocketError(
                    syscall: "bind", errno: errno, address: address, explanation: found.explanation,
                    remedies: found.remedies)
            }
            throw SocketError(
                syscall: "bind", errno: errno, address: address, socketType: type, reuseAddressWasSet: reuse)
        }
    }

    /// Starts listening. The corresponding C function is `listen`.
    ///
    /// - Parameter backlog: the accept-queue length; the kernel caps it at `net.core.somaxconn`.
    ///   The default asks for that cap.
    public func listen(backlog: Int32 = Socket.defaultBacklog) throws(SocketError) {
        try withDescriptor("listen") { fd throws(SocketError) in
            _ = try Sys.listen(fd, backlog).orThrow {
                SocketError(syscall: "listen", errno: $0, address: try? self.localAddress())
            }
        }
    }

    /// `net.core.somaxconn`, the kernel's cap on the accept queue (4096 when unreadable).
    public static var defaultBacklog: Int32 {
        Sys.readSysctl("net/core/somaxconn").flatMap { Int32($0) } ?? 4096
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
                    Sys.accept(fd, address, &length, flags: flags)
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
            try Self.address(fd, "getsockname") { Sys.getsockname($0, $1, $2) }
        }
    }

    /// The address of the connected peer. The corresponding C function is `getpeername`.
    public func remoteAddress() throws(SocketError) -> SocketAddress {
        try withDescriptor("getpeername") { fd throws(SocketError) in
            try Self.address(fd, "getpeername") { Sys.getpeername($0, $1, $2) }
        }
    }

    private static func address(
        _ fd: CInt, _ syscall: String,
        _ call: (CInt, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Result<CInt, Errno>
    ) throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                call(fd, address, &length)
            }
        }
        if case .failure(let errno) = result { throw SocketError(syscall: syscall, errno: errno) }
        guard let address = SocketAddress(storage: storage, length: length) else {
            throw SocketError(
                syscall: syscall, errno: .addressFamilyNotSupported,
                explanation: ["the address family is not IPv4, IPv6 or Unix"])
        }
        return address
    }
}
