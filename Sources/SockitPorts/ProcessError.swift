import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// A pidfd call failed.
public struct ProcessError: SockitError {
    /// The C call that failed: `pidfd_open`, `pidfd_send_signal`, `pidfd_getfd`.
    public var syscall: String
    /// Why it failed.
    public var errno: Errno
    /// The process it was about.
    public var pid: Int32
    /// The descriptor of that process it was about (`pidfd_getfd`), if any.
    public var fd: CInt?

    /// A failure of `syscall` for `pid` (and its descriptor `fd`).
    public init(syscall: String, errno: Errno, pid: Int32, fd: CInt? = nil) {
        self.syscall = syscall
        self.errno = errno
        self.pid = pid
        self.fd = fd
    }

    /// `cannot take descriptor 3 of pid 42: operation not permitted (EPERM, errno 1)`.
    public var summary: String {
        let what = fd.map { "descriptor \($0) of pid \(pid)" } ?? "pid \(pid)"
        switch syscall {
        case "pidfd_getfd": return "cannot take \(what): \(errno)"
        case "pidfd_send_signal": return "cannot signal \(what): \(errno)"
        default: return "cannot open \(what): \(errno)"
        }
    }

    /// What the errno means here: no such descriptor, no ptrace access, another user's process,
    /// a kernel without the call.
    public var explanation: [String] {
        switch errno {
        case .badFileDescriptor:
            return ["pid \(pid) has no descriptor \(fd.map(String.init) ?? "") open (ls -l /proc/\(pid)/fd lists them)"]
        case .notPermitted, .permissionDenied:
            return [
                syscall == "pidfd_getfd"
                    ? "taking another process's descriptor needs ptrace access: the same user with "
                        + "kernel.yama.ptrace_scope at 0, or CAP_SYS_PTRACE"
                    : "this user may not signal pid \(pid): it belongs to another user"
            ]
        case Errno(rawValue: ENOSYS): return ["this kernel has no \(syscall) (Linux 5.6 or later has it)"]
        default: return []
        }
    }

    /// `CAP_SYS_PTRACE` for a refused `pidfd_getfd`, `.includeOtherUsers` for a refused signal.
    public var remedies: [Remedy] {
        switch errno {
        case .notPermitted, .permissionDenied:
            return syscall == "pidfd_getfd" ? [.grantCapability("CAP_SYS_PTRACE")] : [.includeOtherUsers]
        default: return []
        }
    }
}
