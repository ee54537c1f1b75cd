import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Debian python3 (CI installs it), else the first python3 on PATH.
let python3: String = {
    for path in ["/usr/bin/python3", "/usr/local/bin/python3"] where access(path, X_OK) == 0 { return path }
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let path = "\(directory)/python3"
        if access(path, X_OK) == 0 { return path }
    }
    return "/usr/bin/python3"
}()

let portholder = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/portholder.py").path

/// A `portholder.py` process: started, and ready (its "ready" line read) when `init` returns.
/// Killed by pid when dropped.
final class Holder {
    let child: ChildProcess
    /// The fields after "ready": usually the port and the pid.
    let fields: [String]

    init(_ arguments: [String], wrapper: [String] = []) throws {
        let command = wrapper + [python3, portholder] + arguments
        child = try ChildProcess(command[0], Array(command.dropFirst()), keepStdin: true)
        guard let line = child.readLine(timeout: .seconds(20)), line.hasPrefix("ready ") else {
            _ = child.waitForExit(timeout: .seconds(2))
            throw HolderFailure(message: "portholder \(arguments) did not start: \(child.stderr)")
        }
        fields = line.split(separator: " ").dropFirst().map(String.init)
    }

    var port: UInt16 { UInt16(fields[0])! }
    var pid: Int32 { child.pid }

    /// Whether the process is still running. Its pidfd says so (`waitForExit`, which reaps it
    /// once it has exited); `kill(pid, 0)` would succeed on a zombie that was never reaped.
    var isAlive: Bool { child.waitForExit(timeout: .milliseconds(1)) == nil }
}

struct HolderFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Runs `sockit ARGS` and parses its stdout as one JSON document.
func sockitJSON(_ arguments: [String]) throws -> (TestSupport.ProcessResult, [String: Any]) {
    let result = try TestSupport.sockit(arguments)
    guard let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) else {
        // Say what sockit said: a crash or a sanitizer report leaves stdout empty.
        throw HolderFailure(
            message: "sockit \(arguments.joined(separator: " ")) printed no JSON (exit \(result.status)): "
                + "stdout \(result.stdout.debugDescription), stderr \(result.stderr)")
    }
    guard let document = object as? [String: Any] else { throw HolderFailure(message: "not an object: \(result.stdout)") }
    return (result, document)
}

/// The `sockets` array of a `sockit who --json` document.
func sockets(_ document: [String: Any]) -> [[String: Any]] { document["sockets"] as? [[String: Any]] ?? [] }

/// The name of this process's user, as `sockit who` prints it.
var currentUserName: String {
    guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return String(geteuid()) }
    return String(cString: name)
}

/// An ephemeral port free right now (bound on port 0 and released).
func freePort() throws -> UInt16 {
    let socket = try Socket(.ipv4, .stream)
    try socket.bind(to: .ipv4(.loopback(port: 0)))
    let port = try socket.localAddress().port!
    try socket.close()
    return port
}

/// Runs `command` (a program and its arguments) and parses its stdout as one JSON document.
func runJSON(_ command: [String]) throws -> (TestSupport.ProcessResult, [String: Any]) {
    let result = try TestSupport.run(command[0], Array(command.dropFirst()))
    guard let document = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] else {
        throw HolderFailure(
            message: "\(command.joined(separator: " ")) printed no JSON object (exit \(result.status)): "
                + "stdout \(result.stdout.debugDescription), stderr \(result.stderr)")
    }
    return (result, document)
}

/// `taskset -c CPU` for the first CPU this process may run on: a command after it runs on one core.
func oneCPU() throws -> [String] {
    let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
        let cpu = line.dropFirst("Cpus_allowed_list:".count).drop(while: { $0 == "\t" || $0 == " " })
            .prefix(while: \.isNumber).nilIfEmpty
    else { throw HolderFailure(message: "no Cpus_allowed_list in /proc/self/status") }
    return ["/usr/bin/taskset", "-c", String(cpu)]
}

extension Substring {
    var nilIfEmpty: Substring? { isEmpty ? nil : self }
}
