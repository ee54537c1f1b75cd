#if canImport(Glibc)
import Glibc
#endif
import CSockit
import Sockit

// The hot path of the servers calls libc on raw descriptors: no `Socket` object, no
// `SocketError` built, no allocation per call. The policy is Sockit's (`Sys.call` /
// `Sys.nonBlocking`): `EINTR` is retried, `EAGAIN` is "would block", errno is read at once.
// The result is Sockit's: `IOResult` for done or would block, `Errno` for a failure.

@usableFromInline
enum RawIO {
    /// `recv(2)`; with `MSG_PEEK` in `flags` the bytes stay queued.
    @inline(__always) @usableFromInline
    static func receive(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int, flags: CInt = 0)
        -> Result<IOResult<Int>, Errno>
    {
        while true {
            let result = recv(fd, buffer, count, flags)
            if result >= 0 { return .success(.processed(result)) }
            let code = sockit_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .success(.wouldBlock) }
            return .failure(Errno(rawValue: code))
        }
    }

    @inline(__always) @usableFromInline
    static func send(_ fd: CInt, _ buffer: UnsafeRawPointer, _ count: Int) -> Result<IOResult<Int>, Errno> {
        while true {
            let result = Glibc.send(fd, buffer, count, CInt(MSG_NOSIGNAL))
            if result >= 0 { return .success(.processed(result)) }
            let code = sockit_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .success(.wouldBlock) }
            return .failure(Errno(rawValue: code))
        }
    }

    /// `accept4` with `SOCK_CLOEXEC | SOCK_NONBLOCK`; the peer address is not read.
    @inline(__always) @usableFromInline
    static func accept(_ fd: CInt) -> Result<IOResult<CInt>, Errno> {
        let flags = CInt(SOCK_CLOEXEC.rawValue) | CInt(SOCK_NONBLOCK.rawValue)
        while true {
            let result = sockit_accept4(fd, nil, nil, flags)
            if result >= 0 { return .success(.processed(result)) }
            let code = sockit_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .success(.wouldBlock) }
            return .failure(Errno(rawValue: code))
        }
    }

    /// `close(2)`, never retried (see `Sys.close` in Sockit).
    @inline(__always) @usableFromInline
    static func close(_ fd: CInt) {
        _ = Glibc.close(fd)
    }

    @inline(__always) @usableFromInline
    static func shutdownWrite(_ fd: CInt) {
        _ = Glibc.shutdown(fd, CInt(SHUT_WR))
    }
}
