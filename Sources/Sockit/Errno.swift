import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// A typed `errno` value, with its C name and the system's text.
///
/// `catch let error as SocketError where error.errno == .addressInUse` or
/// `case Errno.addressInUse:` both work; the C spellings are available as renamed aliases.
public struct Errno: RawRepresentable, Hashable, Sendable, Error, CustomStringConvertible {
    /// The raw C value, e.g. 98 for `EADDRINUSE` on Linux.
    public let rawValue: CInt

    /// The error with C value `rawValue`; any number is accepted.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// The C name, e.g. `EADDRINUSE`; `errno N` for a number the system does not name.
    public var name: String {
        Sys.errorName(rawValue) ?? "errno \(rawValue)"
    }

    /// The system's text, lower-cased at the start: `address already in use`.
    public var message: String {
        guard var message = Sys.errorText(rawValue) else { return "unknown error \(rawValue)" }
        if let first = message.first, first.isUppercase, !(message.dropFirst().first?.isUppercase ?? false) {
            message = first.lowercased() + message.dropFirst()
        }
        return message
    }

    /// `address already in use (EADDRINUSE, errno 98)`.
    public var description: String { "\(message) (\(name), errno \(rawValue))" }

    /// The calling thread's current `errno`.
    public static var current: Errno { Errno(rawValue: Sys.currentErrno) }

    /// Matches an error against an errno in a `catch` or `case` pattern: true when `rhs` is this
    /// `Errno`, or a `SocketError` carrying it.
    public static func ~= (lhs: Errno, rhs: any Error) -> Bool {
        if let errno = rhs as? Errno { return errno == lhs }
        if let error = rhs as? SocketError { return error.errno == lhs }
        return false
    }
}

extension Errno {
    /// Interrupted system call. The corresponding C error is `EINTR`.
    public static var interrupted: Errno { Errno(rawValue: EINTR) }
    /// Resource temporarily unavailable (would block). The corresponding C error is `EAGAIN`.
    public static var wouldBlock: Errno { Errno(rawValue: EAGAIN) }
    /// Operation now in progress (non-blocking connect). The corresponding C error is `EINPROGRESS`.
    public static var inProgress: Errno { Errno(rawValue: EINPROGRESS) }
    /// Address already in use. macOS calls it errno 48, Windows `WSAEADDRINUSE` (10048).
    /// The corresponding C error is `EADDRINUSE`.
    public static var addressInUse: Errno { Errno(rawValue: EADDRINUSE) }
    /// Cannot assign requested address. The corresponding C error is `EADDRNOTAVAIL`.
    public static var addressNotAvailable: Errno { Errno(rawValue: EADDRNOTAVAIL) }
    /// Permission denied. The corresponding C error is `EACCES`.
    public static var permissionDenied: Errno { Errno(rawValue: EACCES) }
    /// Operation not permitted. The corresponding C error is `EPERM`.
    public static var notPermitted: Errno { Errno(rawValue: EPERM) }
    /// Connection refused. The corresponding C error is `ECONNREFUSED`.
    public static var connectionRefused: Errno { Errno(rawValue: ECONNREFUSED) }
    /// Connection reset by peer. The corresponding C error is `ECONNRESET`.
    public static var connectionReset: Errno { Errno(rawValue: ECONNRESET) }
    /// Broken pipe. The corresponding C error is `EPIPE`.
    public static var brokenPipe: Errno { Errno(rawValue: EPIPE) }
    /// Connection timed out. The corresponding C error is `ETIMEDOUT`.
    public static var timedOut: Errno { Errno(rawValue: ETIMEDOUT) }
    /// Protocol not available (an option this kernel does not know). The corresponding C error is `ENOPROTOOPT`.
    public static var protocolNotAvailable: Errno { Errno(rawValue: ENOPROTOOPT) }
    /// Invalid argument. The corresponding C error is `EINVAL`.
    public static var invalidArgument: Errno { Errno(rawValue: EINVAL) }
    /// Too many open files in this process. The corresponding C error is `EMFILE`.
    public static var tooManyOpenFiles: Errno { Errno(rawValue: EMFILE) }
    /// Too many open files in the system. The corresponding C error is `ENFILE`.
    public static var tooManyOpenFilesInSystem: Errno { Errno(rawValue: ENFILE) }
    /// Bad file descriptor. The corresponding C error is `EBADF`.
    public static var badFileDescriptor: Errno { Errno(rawValue: EBADF) }
    /// Socket operation on non-socket. The corresponding C error is `ENOTSOCK`.
    public static var notSocket: Errno { Errno(rawValue: ENOTSOCK) }
    /// Transport endpoint is not connected. The corresponding C error is `ENOTCONN`.
    public static var notConnected: Errno { Errno(rawValue: ENOTCONN) }
    /// Network is unreachable. The corresponding C error is `ENETUNREACH`.
    public static var networkUnreachable: Errno { Errno(rawValue: ENETUNREACH) }
    /// No such device (e.g. `SO_BINDTODEVICE` to an unknown interface). The corresponding C error is `ENODEV`.
    public static var noSuchDevice: Errno { Errno(rawValue: ENODEV) }
    /// No such process. The corresponding C error is `ESRCH`.
    public static var noSuchProcess: Errno { Errno(rawValue: ESRCH) }
    /// No such file or directory. The corresponding C error is `ENOENT`.
    public static var noSuchFile: Errno { Errno(rawValue: ENOENT) }
    /// Address family not supported by protocol. The corresponding C error is `EAFNOSUPPORT`.
    public static var addressFamilyNotSupported: Errno { Errno(rawValue: EAFNOSUPPORT) }
    /// Message too long. The corresponding C error is `EMSGSIZE`.
    public static var messageTooLong: Errno { Errno(rawValue: EMSGSIZE) }
    /// No buffer space available. The corresponding C error is `ENOBUFS`.
    public static var noBufferSpace: Errno { Errno(rawValue: ENOBUFS) }
    /// Out of memory. The corresponding C error is `ENOMEM`.
    public static var noMemory: Errno { Errno(rawValue: ENOMEM) }
    /// Already connected / connection already in progress. The corresponding C error is `EALREADY`.
    public static var already: Errno { Errno(rawValue: EALREADY) }
    /// Transport endpoint is already connected. The corresponding C error is `EISCONN`.
    public static var isConnected: Errno { Errno(rawValue: EISCONN) }

}
