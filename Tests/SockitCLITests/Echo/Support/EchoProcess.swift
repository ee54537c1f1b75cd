import CSockit
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `sockit` under test: the one helper every suite uses (`TestSupport.sockitBinary`), so a
/// sanitizer build runs its own instrumented `sockit` in every process a test starts.
func sockitBinary() -> String { TestSupport.sockitBinary }

/// The backend the echo tests run TCP servers on: `--io-uring` when SOCKIT_ECHO_BACKEND is
/// io_uring (.ci/run runs the echo suites a second time so), else the default.
func echoBackendArguments(_ arguments: [String]) -> [String] {
    guard let value = getenv("SOCKIT_ECHO_BACKEND"), String(cString: value) == "io_uring" else { return [] }
    if arguments.contains("--udp") || arguments.contains("--epoll") || arguments.contains("--io-uring") { return [] }
    return ["--io-uring"]
}

/// `sockit echo ARGS` started on port 0 (unless the arguments name an address), with its port;
/// on the backend SOCKIT_ECHO_BACKEND names unless `backendFromEnvironment` is false.
final class EchoProcess {
    let child: ChildProcess
    let address: SocketAddress

    init(
        _ arguments: [String] = [], address: String = "127.0.0.1:0", wrapper: [String]? = nil,
        environment: [String: String] = [:], backendFromEnvironment: Bool = true
    ) throws {
        let arguments = arguments + (backendFromEnvironment ? echoBackendArguments(arguments) : [])
        let binary = sockitBinary()
        if let wrapper {
            child = try ChildProcess(
                wrapper[0], Array(wrapper.dropFirst()) + [binary, "echo", address] + arguments, environment: environment
            )
        } else {
            child = try ChildProcess(binary, ["echo", address] + arguments, environment: environment)
        }
        guard let line = child.readLine(timeout: .seconds(20)), line.hasPrefix("listening on ") else {
            _ = child.waitForExit(timeout: .seconds(2))
            throw StartFailure(status: child.exitStatus, stderr: child.stderr)
        }
        self.address = try SocketAddress(String(line.dropFirst("listening on ".count)))
    }

    var port: UInt16 { address.port ?? 0 }

    struct StartFailure: Error, CustomStringConvertible {
        var status: Int32?
        var stderr: String
        var description: String { "sockit echo did not start (status \(status.map(String.init) ?? "none")): \(stderr)" }
    }
}

/// Runs `bash -c script` and returns (status, stdout, stderr).
func shell(_ script: String, timeout: Duration = .seconds(30)) throws -> (Int32?, [UInt8], String) {
    let child = try ChildProcess("/bin/bash", ["-c", script])
    let out = child.readStdout(timeout: timeout)
    let status = child.waitForExit(timeout: timeout)
    return (status, out, child.stderr)
}
