import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The socket table could not be read.
public struct SocketTableError: SockitError, Hashable {
    /// What went wrong, in a sentence.
    public var message: String
    /// The errno behind it (a syscall's, or the kernel's answer to a netlink request), if any.
    public var errno: Errno?

    /// An error saying `message`, caused by `errno` when there is one.
    public init(_ message: String, errno: Errno? = nil) {
        self.message = message
        self.errno = errno
    }

    /// The message.
    public var summary: String { message }

    /// Whether the error says that netlink's socket table is not available here, rather than
    /// that reading it went wrong: `EPROTONOSUPPORT` (a kernel without `NETLINK_SOCK_DIAG`),
    /// `EAFNOSUPPORT` (no netlink sockets at all: a sandbox, systemd's `RestrictAddressFamilies`),
    /// `EACCES` or `EPERM` (a seccomp filter or an LSM), `ENOENT` (the kernel's answer to a dump
    /// for a family or protocol without a diag handler: `inet_diag` or `udp_diag` not loaded).
    public var meansUnavailable: Bool {
        guard let errno else { return false }
        return [EPROTONOSUPPORT, EAFNOSUPPORT, EACCES, EPERM, ENOENT].contains(errno.rawValue)
    }
}
