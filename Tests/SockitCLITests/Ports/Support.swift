import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs `sockit ARGS` and parses its stdout as one JSON document.
func sockitJSON(_ arguments: [String]) throws -> (TestSupport.ProcessResult, [String: Any]) {
    let result = try TestSupport.sockit(arguments)
    guard let object = try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) else {
        // Say what sockit said: a crash or a sanitizer report leaves stdout empty.
        throw HolderFailure(
            message: "sockit \(arguments.joined(separator: " ")) printed no JSON (exit \(result.status)): "
                + "stdout \(result.stdout.debugDescription), stderr \(result.stderr)")
    }
    guard let document = object as? [String: Any] else {
        throw HolderFailure(message: "not an object: \(result.stdout)")
    }
    return (result, document)
}

/// The `sockets` array of a `sockit who --json` document.
func sockets(_ document: [String: Any]) -> [[String: Any]] { document["sockets"] as? [[String: Any]] ?? [] }

/// The rows of `document` in `family` ("ipv4" or "ipv6"). `who PORT` lists every socket with that
/// number, and the kernel lets 127.0.0.1:P and [::1]:P coexist: a test running in parallel may
/// hold the same number in the other family. A test that counts rows counts its own family's.
func sockets(_ document: [String: Any], family: String) -> [[String: Any]] {
    sockets(document).filter { $0["family"] as? String == family }
}

/// The name of this process's user, as `sockit who` prints it.
var currentUserName: String {
    guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return String(geteuid()) }
    return String(cString: name)
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
