import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// A process held by a pidfd (`pidfd_open`, Linux 5.3): a signal sent through it reaches this
/// process or fails with `ESRCH`, never a new process that was given the same pid meanwhile.
public final class ProcessHandle: Sendable {
    /// The process id the handle was opened for.
    public let pid: Int32
    private let descriptor: CInt

    /// Opens a pidfd for `pid`. The corresponding C function is `pidfd_open`.
    public init(pid: Int32) throws(ProcessError) {
        guard pid > 0 else { throw ProcessError(syscall: "pidfd_open", errno: .noSuchProcess, pid: pid) }
        let fd: CInt
        switch PortSys.openPidfd(pid) {
        case .success(let opened): fd = opened
        case .failure(let error): throw ProcessError(syscall: "pidfd_open", errno: error, pid: pid)
        }
        // pidfd_open sets close-on-exec itself.
        self.pid = pid
        self.descriptor = fd
    }

    deinit { Sys.close(descriptor) }

    /// Sends `signal`. The corresponding C function is `pidfd_send_signal`.
    public func send(_ signal: Int32) throws(ProcessError) {
        if case .failure(let error) = PortSys.sendSignal(descriptor, signal) {
            throw ProcessError(syscall: "pidfd_send_signal", errno: error, pid: pid)
        }
    }

    /// Whether the process has exited (the pidfd is readable once it has).
    public var hasExited: Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return Sys.poll(&entry, 1, 0) == .success(1)
    }

    /// A copy of the process's descriptor `fd` in this process (close-on-exec), as with
    /// `SCM_RIGHTS` but without the process's help. Needs ptrace access to it (the same user and
    /// `kernel.yama.ptrace_scope` allowing it, or `CAP_SYS_PTRACE`). The corresponding C function
    /// is `pidfd_getfd` (Linux 5.6).
    public func duplicateDescriptor(_ fd: CInt) throws(ProcessError) -> CInt {
        switch PortSys.takeDescriptor(descriptor, fd) {
        case .success(let copy): return copy
        case .failure(let error): throw ProcessError(syscall: "pidfd_getfd", errno: error, pid: pid, fd: fd)
        }
    }

    /// Waits until every process in `handles` has exited or `timeout` passes, calling `progress`
    /// about ten times a second with the handles still alive. Returns those still alive.
    public static func waitForExit(
        _ handles: [ProcessHandle], timeout: Duration,
        progress: (_ alive: [ProcessHandle], _ elapsed: Duration) -> Void =
            { _, _ in }
    ) -> [ProcessHandle] {
        let clock = ContinuousClock()
        let start = clock.now
        var alive = handles.filter { !$0.hasExited }
        while !alive.isEmpty {
            let elapsed = clock.now - start
            progress(alive, elapsed)
            let left = timeout - elapsed
            if left <= .zero { break }
            waitForAnyExit(alive, timeout: min(left, .milliseconds(100)))
            alive = alive.filter { !$0.hasExited }
        }
        return alive
    }

    /// Waits until one of `handles` has exited or `timeout` passes (at least 1 ms): one `poll`
    /// of their pidfds, which become readable when their process exits.
    static func waitForAnyExit(_ handles: [ProcessHandle], timeout: Duration) {
        var entries = handles.map { pollfd(fd: $0.descriptor, events: Int16(POLLIN), revents: 0) }
        _ = Sys.poll(&entries, nfds_t(entries.count), CInt(clamping: max(1, timeout.milliseconds)))
    }
}
