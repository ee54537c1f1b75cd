import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The `.socket` units of a systemd manager, from `systemctl list-sockets` (run with
/// `posix_spawn`, only when `systemctl` is on `PATH`, and killed after `timeout`).
public struct SystemctlSocketUnits: SocketUnitSource {
    /// How long `systemctl` may take before it is killed and the units count as unknown.
    public var timeout: Duration

    /// A source that gives `systemctl` at most `timeout` to answer.
    public init(timeout: Duration = .seconds(2)) {
        self.timeout = timeout
    }

    public func socketUnits(of manager: UnitManager) -> Result<[SocketUnitListing], SocketUnitLookupError> {
        guard let systemctl = Self.systemctlPath() else {
            return .failure(SocketUnitLookupError(reason: "systemctl is not installed"))
        }
        var arguments = ["systemctl"]
        switch manager {
        case .system: break
        case .callingUser: arguments += ["--user"]
        case .user(let name): arguments += ["--user", "-M", "\(name)@"]
        }
        arguments += ["list-sockets", "--all", "--no-legend", "--no-pager", "--full"]
        let result = Self.run(systemctl, arguments, timeout: timeout, limit: 1 << 20)
        switch result {
        case .failure(let error):
            return .failure(error)
        case .success(let (status, output)):
            guard status == 0 else {
                let first = output.split(separator: "\n").first.map(String.init) ?? ""
                return .failure(
                    SocketUnitLookupError(
                        reason: "\(arguments.joined(separator: " ")) failed (exit \(status))"
                            + (first.isEmpty ? "" : ": \(first)")))
            }
            return .success(SocketUnitListing.parse(output))
        }
    }

    /// `systemctl` on `PATH` (or the usual directories when `PATH` is not set); nil when none.
    static func systemctlPath() -> String? {
        let path = PortSys.environment("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") where directory.hasPrefix("/") {
            let candidate = "\(directory)/systemctl"
            if PortSys.isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// Runs `path` and collects what it writes (stdout and stderr, at most `limit` bytes) until
    /// it exits; after `timeout` it is killed (through a pidfd) and reaped.
    static func run(
        _ path: String, _ arguments: [String], timeout: Duration, limit: Int
    ) -> Result<(status: Int32, output: String), SocketUnitLookupError> {
        let ends: (read: CInt, write: CInt)
        switch PortSys.pipe() {
        case .success(let pipe): ends = pipe
        case .failure(let error): return .failure(SocketUnitLookupError(reason: "cannot make a pipe: \(error)"))
        }
        let spawned = PortSys.spawn(path, arguments, output: ends.write)
        Sys.close(ends.write)
        defer { Sys.close(ends.read) }
        guard case .success(let pid) = spawned else {
            if case .failure(let error) = spawned {
                return .failure(SocketUnitLookupError(reason: "cannot run \(path): \(error)"))
            }
            return .failure(SocketUnitLookupError(reason: "cannot run \(path)"))
        }
        let handle = try? ProcessHandle(pid: pid)
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        var timedOut = false
        // Until end of file (every writer closed: the child exited, or closed its output).
        while true {
            let left = clock.now.duration(to: deadline)
            if left <= .zero {
                timedOut = true
                break
            }
            var entry = pollfd(fd: ends.read, events: Int16(POLLIN), revents: 0)
            guard case .success(let ready) = Sys.poll(&entry, 1, CInt(clamping: max(1, left.milliseconds))),
                ready > 0
            else { continue }
            let read = chunk.withUnsafeMutableBytes { PortSys.read(ends.read, $0.baseAddress, $0.count) }
            guard case .success(let count) = read, count > 0 else { break }
            if output.count < limit { output += chunk[0..<min(count, limit - output.count)] }
        }
        // End of file, but it may not have exited yet: wait for that within the same deadline.
        if !timedOut, let handle,
            !ProcessHandle.waitForExit([handle], timeout: clock.now.duration(to: deadline)).isEmpty
        {
            timedOut = true
        }
        if timedOut { try? handle?.send(SIGKILL) }
        let status = PortSys.waitForChild(pid) ?? -1
        if timedOut {
            return .failure(
                SocketUnitLookupError(
                    reason: "\(arguments.joined(separator: " ")) did not answer within \(timeout.milliseconds) ms"))
        }
        return .success((status, String(decoding: output, as: UTF8.self)))
    }
}
