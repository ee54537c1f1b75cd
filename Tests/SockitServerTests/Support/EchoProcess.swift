#if canImport(Glibc)
import Glibc
#endif
import CSockit
import Sockit
import SockitTestSupport
import Testing

/// The `sockit` under test: the one helper every suite uses (`TestSupport.sockitBinary`), so a
/// sanitizer build runs its own instrumented `sockit` in every process a test starts.
func sockitBinary() -> String { TestSupport.sockitBinary }

/// `sockit echo ARGS` started on port 0 (unless the arguments name an address), with its port.
final class EchoProcess {
    let child: ChildProcess
    let address: SocketAddress

    init(_ arguments: [String] = [], address: String = "127.0.0.1:0", wrapper: [String]? = nil) throws {
        let binary = sockitBinary()
        if let wrapper {
            child = try ChildProcess(wrapper[0], Array(wrapper.dropFirst()) + [binary, "echo", address] + arguments)
        } else {
            child = try ChildProcess(binary, ["echo", address] + arguments)
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

/// A blocking client socket with a receive timeout, so that no read in a test waits forever.
func connectClient(_ address: SocketAddress, timeout: Duration = .seconds(10)) throws(SocketError) -> Socket {
    let socket = try Socket(for: address, .stream)
    try socket.connect(to: address, timeout: timeout)
    try socket.setOption(.receiveTimeout, timeout)
    try socket.setOption(.sendTimeout, timeout)
    return socket
}

/// Receives exactly `count` bytes (or fewer at end-of-file).
func receiveExactly(_ socket: Socket, _ count: Int) throws(SocketError) -> [UInt8] {
    var bytes: [UInt8] = []
    while bytes.count < count {
        let chunk = try socket.receive(maxBytes: min(65536, count - bytes.count))
        if chunk.isEmpty { break }
        bytes += chunk
    }
    return bytes
}

/// A deterministic pseudo-random payload with every byte value.
func payload(_ count: Int, seed: UInt64 = 42) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

/// Runs `bash -c script` and returns (status, stdout, stderr).
func shell(_ script: String, timeout: Duration = .seconds(30)) throws -> (Int32?, [UInt8], String) {
    let child = try ChildProcess("/bin/bash", ["-c", script])
    let out = child.readStdout(timeout: timeout)
    let status = child.waitForExit(timeout: timeout)
    return (status, out, child.stderr)
}
