import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The Debian python3 (CI installs it), else the first python3 on PATH.
public let python3: String = {
    for path in ["/usr/bin/python3", "/usr/local/bin/python3"] where access(path, X_OK) == 0 { return path }
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let path = "\(directory)/python3"
        if access(path, X_OK) == 0 { return path }
    }
    return "/usr/bin/python3"
}()

public let portholder = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/portholder.py").path

/// A `portholder.py` process: started, and ready (its "ready" line read) when `init` returns.
/// Killed by pid when dropped.
public final class Holder {
    public let child: ChildProcess
    /// The fields after "ready": usually the port and the pid.
    public let fields: [String]

    public convenience init(_ arguments: [String], wrapper: [String] = []) throws {
        try self.init(command: wrapper + [python3, portholder] + arguments)
    }

    /// Any fixture that says "ready ..." the same way (`Tests/Fixtures/listeners.py`).
    public init(command: [String]) throws {
        let arguments = command
        child = try ChildProcess(command[0], Array(command.dropFirst()), keepStdin: true)
        guard let line = child.readLine(timeout: .seconds(20)), line.hasPrefix("ready ") else {
            _ = child.waitForExit(timeout: .seconds(2))
            throw HolderFailure(message: "portholder \(arguments) did not start: \(child.stderr)")
        }
        fields = line.split(separator: " ").dropFirst().map(String.init)
    }

    public var port: UInt16 { UInt16(fields[0])! }
    /// A `timewait` holder's closed clients (other modes put other fields there): the ports its
    /// TIME-WAIT connections on `port` were connected to. A socket of another test may have
    /// `port`'s number too; these tell the holder's own apart.
    public var timeWaitClientPorts: Set<UInt16> { Set(fields.dropFirst().compactMap { UInt16($0) }) }
    public var pid: Int32 { child.pid }

    /// Whether the process is still running. Its pidfd says so (`waitForExit`, which reaps it
    /// once it has exited); `kill(pid, 0)` would succeed on a zombie that was never reaped.
    public var isAlive: Bool { child.waitForExit(timeout: .milliseconds(1)) == nil }
}

public struct HolderFailure: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
