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

    /// `fstatat(directory, path)`: the owner and the size of the entry (of `PID/fd` under
    /// `/proc`: the process's owner, and from Linux 6.2 the descriptors it has open; 0 before).
    static func ownerAndSize(at directory: CInt, _ path: UnsafePointer<CChar>) -> (uid: UInt32, size: Int)? {
        var info = stat()
        guard case .success = retrying({ fstatat(directory, path, &info, 0) }) else { return nil }
        return (info.st_uid, Int(info.st_size))
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

    /// `SO_REUSEADDR` and `SO_REUSEPORT` of the socket `fd` (`getsockopt`); nil where it fails.
    static func reuseOptions(_ fd: CInt) -> (address: Bool?, port: Bool?) {
        (
            intSocketOption(fd, SOL_SOCKET, SO_REUSEADDR).map { $0 != 0 },
            intSocketOption(fd, SOL_SOCKET, SO_REUSEPORT).map { $0 != 0 }
        )
    }

    /// `getsockopt(fd, level, name)` of an `int` option; nil when it fails.
    private static func intSocketOption(_ fd: CInt, _ level: CInt, _ name: CInt) -> CInt? {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        guard case .success = retrying({ getsockopt(fd, level, name, &value, &length) }) else { return nil }
        return value
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

    // MARK: Child processes (systemctl list-sockets)

    /// `access(path, X_OK)`: whether `path` is a file this process may run.
    static func isExecutable(_ path: String) -> Bool { access(path, X_OK) == 0 }

    /// `pipe2(O_CLOEXEC)`: the read end and the write end.
    static func pipe() -> Result<(read: CInt, write: CInt), Errno> {
        var ends: [CInt] = [-1, -1]
        switch retrying({ sockit_pipe_cloexec(&ends) }) {
        case .success: return .success((ends[0], ends[1]))
        case .failure(let error): return .failure(error)
        }
    }

    /// `posix_spawn`: runs `path` with `arguments` (the first is its name) and this process's
    /// environment; stdin is /dev/null, stdout and stderr are `output`, and the child starts
    /// with no signal blocked or ignored. The child's pid.
    static func spawn(_ path: String, _ arguments: [String], output: CInt) -> Result<pid_t, Errno> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { Glibc.free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        return result == 0 ? .success(pid) : .failure(Errno(rawValue: result))
    }

    /// `waitpid(pid, 0)`: waits for the child to exit and reaps it; its exit status, or 128 +
    /// the signal that ended it.
    static func waitForChild(_ pid: pid_t) -> Int32? {
        var status: CInt = 0
        guard case .success = retrying({ waitpid(pid, &status, 0) }) else { return nil }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
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
