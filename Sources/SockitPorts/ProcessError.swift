import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// A pidfd call failed.
public struct ProcessError: SockitError {
    public var syscall: String
    public var errno: Errno
    public var pid: Int32
    public var fd: CInt?

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

    public var remedies: [Remedy] {
        switch errno {
        case .notPermitted, .permissionDenied:
            return syscall == "pidfd_getfd" ? [.grantCapability("CAP_SYS_PTRACE")] : [.includeOtherUsers]
        default: return []
        }
    }
}
