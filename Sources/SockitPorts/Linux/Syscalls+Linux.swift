import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

// Every libc call of SockitPorts is made here or through Sockit's `Sys` (Scripts/check-layers.sh
// checks it), with `Sys`'s policy: `EINTR` is retried (never by `close`, which is `Sys.close`),
// `errno` is read once, right after the call, and failures come back as a typed `Errno`.
// Nothing here allocates: the per-descriptor loop of `sockit who` calls `readLink` and `openAt`.

/// The syscall layer of SockitPorts: `/proc`, pidfds, the process's identity and environment.
enum PortSys {
    /// Runs `body` until it returns something other than -1 or fails with another error than
    /// `EINTR`; the error, read once, as an `Errno`.
    @inline(__always)
    private static func retrying<T: FixedWidthInteger>(_ body: () -> T) -> Result<T, Errno> {
        while true {
            let result = body()
            if result != -1 { return .success(result) }
            let code = Sys.currentErrno
            if code != EINTR { return .failure(Errno(rawValue: code)) }
        }
    }

    // MARK: Files and directories

    /// `open(path, O_RDONLY | O_CLOEXEC | flags)`.
    static func open(_ path: String, flags: CInt = 0) -> Result<CInt, Errno> {
        retrying { Glibc.open(path, O_RDONLY | O_CLOEXEC | flags) }
    }

    /// `openat(directory, name, O_RDONLY | O_CLOEXEC | flags)`.
    static func openAt(_ directory: CInt, _ name: UnsafePointer<CChar>, flags: CInt = 0) -> Result<CInt, Errno> {
        retrying { Glibc.openat(directory, name, O_RDONLY | O_CLOEXEC | flags) }
    }

    /// `openat(directory, path, O_RDONLY | O_CLOEXEC | flags)` for a Swift string.
    static func openAt(_ directory: CInt, _ path: String, flags: CInt = 0) -> Result<CInt, Errno> {
        retrying { Glibc.openat(directory, path, O_RDONLY | O_CLOEXEC | flags) }
    }

    /// `read` on a file (`/proc`: never would block).
    static func read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Result<Int, Errno> {
        retrying { Glibc.read(fd, buffer, count) }
    }

    /// `readlinkat`: the link's target written to `buffer` (not NUL-terminated); its length.
    static func readLink(
        at directory: CInt, _ name: UnsafePointer<CChar>, into buffer: UnsafeMutablePointer<CChar>,
        count: Int
    ) -> Result<Int, Errno> {
        retrying { Glibc.readlinkat(directory, name, buffer, count) }
    }

    /// `getdents64`: directory entries (`struct linux_dirent64`) into `buffer`; 0 at the end.
    static func directoryEntries(_ fd: CInt, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Result<Int, Errno> {
        retrying { sockit_getdents64(fd, buffer, count) }
    }

    /// `fstatat(directory, name)`: the owner of the entry; nil when it cannot be read.
    static func owner(at directory: CInt, _ name: UnsafePointer<CChar>) -> UInt32? {
        var info = stat()
        guard case .success = retrying({ fstatat(directory, name, &info, 0) }) else { return nil }
        return info.st_uid
    }

    /// `stat(path)`: the inode of what `path` names (`/run/netns/NAME`: the namespace's).
    static func inode(_ path: String) -> Result<UInt64, Errno> {
        var info = stat()
        return retrying { stat(path, &info) }.map { _ in UInt64(info.st_ino) }
    }

    /// `fstat(fd)`: the inode of the open file (a socket's: the number in `socket:[INODE]`).
    static func inode(ofDescriptor fd: CInt) -> UInt64? {
        var info = stat()
        guard case .success = retrying({ fstat(fd, &info) }) else { return nil }
        return UInt64(info.st_ino)
    }

    /// `setns(fd, CLONE_NEWNET)` for the calling thread.
    static func enterNetworkNamespace(_ fd: CInt) -> Result<CInt, Errno> {
        retrying { sockit_enter_network_namespace(fd) }
    }

    // MARK: Processes

    /// `pidfd_open(pid, 0)`.
    static func openPidfd(_ pid: Int32) -> Result<CInt, Errno> { retrying { sockit_pidfd_open(pid, 0) } }

    /// `pidfd_send_signal(pidfd, signal, NULL, 0)`.
    static func sendSignal(_ pidfd: CInt, _ signal: Int32) -> Result<CInt, Errno> {
        retrying { sockit_pidfd_send_signal(pidfd, signal, 0) }
    }

    /// `pidfd_getfd(pidfd, fd, 0)`: a copy of the process's descriptor `fd` (close-on-exec).
    static func takeDescriptor(_ pidfd: CInt, _ fd: CInt) -> Result<CInt, Errno> {
        retrying { sockit_pidfd_getfd(pidfd, fd, 0) }
    }

    static var processID: Int32 { getpid() }
    static var parentProcessID: Int32 { getppid() }
    static var effectiveUserID: UInt32 { geteuid() }

    /// The cores this process may run on (`sched_getaffinity`: `taskset` counts), at least 1.
    static func affinityCPUCount() -> Int { Int(sockit_affinity_cpu_count()) }

    /// The user's name (`getpwuid_r`); nil when the uid has none.
    static func userName(_ uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, let result, let raw = result.pointee.pw_name
        else { return nil }
        return String(cString: raw)
    }

    // MARK: Environment and time

    /// The environment variable `name`, or nil when it is not set.
    static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`), at least 1.
    static var clockTicks: Int { max(1, sysconf(Int32(_SC_CLK_TCK))) }

    /// Sleeps `microseconds` (`usleep`). A signal may end it early; callers re-check their
    /// deadline and sleep again, so it is not retried.
    static func sleep(microseconds: Int64) { _ = usleep(useconds_t(clamping: max(1, microseconds))) }
}
