#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockit

// Every libc call of the Sockit module is made here, and `errno` is read right after the call
// returns, before anything else can run and overwrite it (NIO's `@inline(never)` note: ARC
// traffic between the call and the read may call into the runtime, which may touch errno).

/// The outcome of a call on a non-blocking descriptor: done, or it would block.
public enum IOResult<Value: Sendable>: Sendable {
    /// The call would block (`EAGAIN`/`EWOULDBLOCK`); try again once the descriptor is ready.
    case wouldBlock
    /// The call completed with this value.
    case processed(Value)
}

extension IOResult: Equatable where Value: Equatable {}

internal enum Sys {
    /// Runs `body` until it returns something other than -1, retrying `EINTR` when asked.
    /// `close` is never retried (see `Sys.close`).
    @inline(never)
    static func call<T: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ body: () -> T) -> Result<T, Errno> {
        while true {
            let result = body()
            if result != -1 { return .success(result) }
            let code = sockit_errno()
            if code == EINTR && retryOnInterrupt { continue }
            return .failure(Errno(rawValue: code))
        }
    }

    /// Like `call`, but `EAGAIN`/`EWOULDBLOCK` becomes `.wouldBlock` instead of an error.
    @inline(never)
    static func nonBlocking<T: FixedWidthInteger & Sendable>(_ body: () -> T) -> Result<IOResult<T>, Errno> {
        while true {
            let result = body()
            if result != -1 { return .success(.processed(result)) }
            let code = sockit_errno()
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return .success(.wouldBlock) }
            return .failure(Errno(rawValue: code))
        }
    }

    /// `close(2)`, never retried: on Linux the descriptor is released even when close reports
    /// `EINTR`, and retrying could close a descriptor another thread has just been given.
    /// See https://lwn.net/Articles/576478/.
    @inline(never)
    static func close(_ fd: CInt) -> Errno? {
        if Glibc.close(fd) == 0 { return nil }
        let code = sockit_errno()
        return code == EINTR ? nil : Errno(rawValue: code)
    }

    static func socket(_ domain: CInt, _ type: CInt, _ proto: CInt) -> Result<CInt, Errno> {
        call { Glibc.socket(domain, type, proto) }
    }

    static func setsockopt(_ fd: CInt, _ level: CInt, _ name: CInt, _ value: UnsafeRawPointer?, _ length: socklen_t)
        -> Result<CInt, Errno>
    {
        call { Glibc.setsockopt(fd, level, name, value, length) }
    }

    static func getsockopt(
        _ fd: CInt, _ level: CInt, _ name: CInt, _ value: UnsafeMutableRawPointer?,
        _ length: UnsafeMutablePointer<socklen_t>
    ) -> Result<CInt, Errno> {
        call { Glibc.getsockopt(fd, level, name, value, length) }
    }

    static func fcntl(_ fd: CInt, _ command: CInt, _ argument: CInt) -> Result<CInt, Errno> {
        call { Glibc.fcntl(fd, command, argument) }
    }

    static func poll(_ fds: UnsafeMutablePointer<pollfd>, _ count: nfds_t, _ timeout: CInt) -> Result<CInt, Errno> {
        call(retryOnInterrupt: false) { Glibc.poll(fds, count, timeout) }
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
