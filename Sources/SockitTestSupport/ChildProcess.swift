import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// A child process the test started, with its stdout and stderr on pipes. Killed (SIGKILL) and
/// reaped when dropped, by pid: nothing else is ever signalled.
public final class ChildProcess {
    public let pid: pid_t
    private let stdoutFD: CInt
    private let stderrFD: CInt
    public private(set) var stdinFD: CInt
    private var stdoutBuffer: [UInt8] = []
    public private(set) var stderrText: [UInt8] = []
    private var pidfd: CInt
    public private(set) var exitStatus: Int32?

    /// Starts `path` with `arguments`; stdin is a pipe (closed at once unless `keepStdin`).
    /// - Parameter environment: variables to set (or override) on top of this process's.
    public init(
        _ path: String, _ arguments: [String], keepStdin: Bool = false, environment: [String: String] = [:]
    )
        throws
    {
        var outPipe: [CInt] = [-1, -1]
        var errPipe: [CInt] = [-1, -1]
        var inPipe: [CInt] = [-1, -1]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0, pipe(&inPipe) == 0 else {
            throw SocketError(syscall: "pipe", errno: Errno(rawValue: errno))
        }
        // Close-on-exec, so that other children spawned meanwhile do not hold these pipes open.
        for fd in outPipe + errPipe + inPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The test process may block or ignore signals (Swift Testing, dispatch): the child starts clean.
        var none = sigset_t()
        sigemptyset(&none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        var envp: [UnsafeMutablePointer<CChar>?] = []
        if !environment.isEmpty {
            var index = 0
            while let entry = environ[index] {
                let text = String(cString: entry)
                let name = String(text.prefix { $0 != "=" })
                if environment[name] == nil { envp.append(strdup(entry)) }
                index += 1
            }
            for (name, value) in environment { envp.append(strdup("\(name)=\(value)")) }
            envp.append(nil)
        }
        defer { for pointer in envp { free(pointer) } }
        let result =
            envp.isEmpty
            ? posix_spawn(&pid, path, &actions, &attributes, argv, environ)
            : posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard result == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            close(errPipe[0])
            throw SocketError(syscall: "posix_spawn", errno: Errno(rawValue: result), explanation: [path])
        }
        self.pid = pid
        self.stdoutFD = outPipe[0]
        self.stderrFD = errPipe[0]
        self.stdinFD = inPipe[1]
        self.pidfd = sockit_pidfd_open(pid, 0)
        if !keepStdin { closeStdin() }
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: CInt = 0
            waitpid(pid, &status, 0)
        }
        if stdinFD >= 0 { close(stdinFD) }
        close(stdoutFD)
        close(stderrFD)
        if pidfd >= 0 { close(pidfd) }
    }

    public func closeStdin() {
        if stdinFD >= 0 { close(stdinFD) }
        stdinFD = -1
    }

    /// Writes all of `bytes` to the child's stdin.
    public func writeStdin(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(stdinFD, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }

    /// Reads whatever the child wrote to stdout and stderr, waiting up to `timeout` for something.
    @discardableResult
    private func pump(timeout: Duration) -> Bool {
        var fds = [
            pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0),
        ]
        let ready = poll(&fds, 2, CInt(max(0, timeout.milliseconds)))
        guard ready > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        var progress = false
        for (index, fd) in [stdoutFD, stderrFD].enumerated() where fds[index].revents != 0 {
            let count = read(fd, &chunk, chunk.count)
            if count > 0 {
                progress = true
                if index == 0 { stdoutBuffer += chunk[0..<count] } else { stderrText += chunk[0..<count] }
            }
        }
        return progress
    }

    /// The next stdout line, waiting up to `timeout`; nil on timeout or end of output.
    public func readLine(timeout: Duration = .seconds(10)) -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = stdoutBuffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: stdoutBuffer[..<newline], as: UTF8.self)
                stdoutBuffer.removeSubrange(...newline)
                return line
            }
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return nil }
            if !pump(timeout: left) && exitStatus == nil && hasExited() && !pump(timeout: .zero) { return nil }
        }
    }

    /// Waits until stderr contains `text` (up to `timeout`).
    public func waitForStderr(_ text: String, timeout: Duration = .seconds(10)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !String(decoding: stderrText, as: UTF8.self).contains(text) {
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return false }
            pump(timeout: min(left, .milliseconds(200)))
        }
        return true
    }

    public var stderr: String { String(decoding: stderrText, as: UTF8.self) }

    /// All remaining stdout until the child closes it, up to `timeout`.
    public func readStdout(timeout: Duration = .seconds(20)) -> [UInt8] {
        // Both pipes are drained meanwhile, so a child that writes much to stderr never blocks.
        let deadline = ContinuousClock.now + timeout
        var chunk = [UInt8](repeating: 0, count: 65536)
        var stdoutOpen = true
        var stderrOpen = true
        while stdoutOpen {
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { break }
            var fds = [
                pollfd(fd: stdoutOpen ? stdoutFD : -1, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stderrOpen ? stderrFD : -1, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 2, CInt(max(1, left.milliseconds))) <= 0 { break }
            if fds[0].revents != 0 {
                let count = read(stdoutFD, &chunk, chunk.count)
                if count > 0 { stdoutBuffer += chunk[0..<count] } else { stdoutOpen = false }
            }
            if fds[1].revents != 0 {
                let count = read(stderrFD, &chunk, chunk.count)
                if count > 0 { stderrText += chunk[0..<count] } else { stderrOpen = false }
            }
        }
        let all = stdoutBuffer
        stdoutBuffer = []
        return all
    }

    public func signal(_ number: CInt) {
        if exitStatus == nil { kill(pid, number) }
    }

    private func hasExited() -> Bool {
        var status: CInt = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return false }
        record(status)
        return true
    }

    private func record(_ status: CInt) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG by hand (macros).
        if status & 0x7f == 0 {
            exitStatus = (status >> 8) & 0xff
        } else {
            exitStatus = 128 + (status & 0x7f)
        }
    }

    /// Waits for the child to exit (readiness of its pidfd), up to `timeout`. Returns the exit
    /// status (128 + signal when killed), nil on timeout.
    public func waitForExit(timeout: Duration = .seconds(10)) -> Int32? {
        if let exitStatus { return exitStatus }
        if pidfd >= 0 {
            let deadline = ContinuousClock.now + timeout
            while true {
                let left = ContinuousClock.now.duration(to: deadline)
                if left <= .zero { return nil }
                // Keep draining the pipes so a chatty child never blocks on a full pipe.
                pump(timeout: .zero)
                var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                if poll(&entry, 1, CInt(min(left, .milliseconds(200)).milliseconds)) > 0 { break }
            }
        }
        var status: CInt = 0
        guard waitpid(pid, &status, 0) == pid else { return nil }
        record(status)
        pump(timeout: .zero)
        return exitStatus
    }

    /// User plus system CPU time of the child so far, from /proc/PID/stat, in clock ticks.
    public func cpuTicks() -> Int {
        guard let file = fopen("/proc/\(pid)/stat", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 4096)
        guard fgets(&buffer, CInt(buffer.count), file) != nil else { return 0 }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // Fields after the command (which may contain spaces) start after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        guard fields.count > 13, let user = Int(fields[11]), let system = Int(fields[12]) else { return 0 }
        return user + system
    }

    /// Resident memory of the child in KiB (VmRSS).
    public func residentKiB() -> Int {
        guard let file = fopen("/proc/\(pid)/status", "r") else { return 0 }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 512)
        while fgets(&buffer, CInt(buffer.count), file) != nil {
            let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if line.hasPrefix("VmRSS:") {
                return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
            }
        }
        return 0
    }
}
