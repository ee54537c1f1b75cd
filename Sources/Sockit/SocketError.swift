/// A failed socket call, with everything needed to understand and fix it: the syscall, the
/// errno by name and number and its text, the address or option involved, what it means, and
/// what to do (`Remedy`).
///
/// `description` reads like:
/// ```
/// cannot bind 127.0.0.1:8080: address already in use (EADDRINUSE, errno 98)
///   this socket did not set SO_REUSEADDR: if no process listens on the port, it is held by …
///   set SO_REUSEADDR (SocketOption.reuseAddress) before bind to rebind over TIME_WAIT at once
/// ```
///
/// On the errno numbers: `EADDRINUSE` is 98 on Linux, 48 on macOS and the BSDs, and
/// `WSAEADDRINUSE` (10048) on Windows: the same condition everywhere, and the same remedies.
public struct SocketError: SockitError {
    /// The C call that failed, e.g. `bind`, `setsockopt`.
    public var syscall: String
    /// Why it failed.
    public var errno: Errno
    /// The address being bound, connected or sent to, when there is one.
    public var address: SocketAddress?
    /// The option being set or read, e.g. `SO_RCVBUF`, when the call was `setsockopt`/`getsockopt`.
    public var option: String?
    /// Lines that explain the cause, most useful first.
    public var explanation: [String]
    /// What to do about it, most useful first.
    public var remedies: [Remedy]

    /// A failure of `syscall`. Without `explanation`, the explanation and the remedies are those
    /// sockit knows for `errno` in that call (`socketType` and `reuseAddressWasSet` refine them).
    public init(
        syscall: String, errno: Errno, address: SocketAddress? = nil, option: String? = nil,
        explanation: [String]? = nil, remedies: [Remedy] = [], socketType: SocketType? = nil,
        reuseAddressWasSet: Bool? = nil
    ) {
        self.syscall = syscall
        self.errno = errno
        self.address = address
        self.option = option
        if let explanation {
            self.explanation = explanation
            self.remedies = remedies
        } else {
            let known = SocketError.explain(
                syscall: syscall, errno: errno, address: address, option: option, socketType: socketType,
                reuseAddressWasSet: reuseAddressWasSet)
            self.explanation = known.explanation
            self.remedies = known.remedies + remedies
        }
    }

    /// `cannot bind 127.0.0.1:8080: address already in use (EADDRINUSE, errno 98)`.
    public var summary: String {
        "cannot \(action): \(errno)"
    }

    /// The verb phrase of the summary: `bind 127.0.0.1:8080`, `set SO_RCVBUF`, `connect to [::1]:80`.
    public var action: String {
        let target = address.map { " \($0)" } ?? ""
        switch syscall {
        case "socket": return "create a socket"
        case "bind": return "bind" + target
        case "listen": return "listen on" + (address.map { " \($0)" } ?? " the socket")
        case "accept", "accept4": return "accept a connection" + (address.map { " on \($0)" } ?? "")
        case "connect": return "connect" + (address.map { " to \($0)" } ?? "")
        case "send", "sendto", "sendmsg", "write", "writev": return "send" + (address.map { " to \($0)" } ?? "")
        case "recv", "recvfrom", "recvmsg", "read": return "receive" + (address.map { " from \($0)" } ?? "")
        case "setsockopt": return "set \(option ?? "a socket option")"
        case "getsockopt": return "read \(option ?? "a socket option")"
        case "shutdown": return "shut down the socket"
        case "close": return "close the socket"
        case "getsockname": return "read the local address"
        case "getpeername": return "read the remote address"
        case "fcntl": return "set the socket's flags"
        default: return syscall + target
        }
    }
}
