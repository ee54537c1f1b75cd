import Foundation
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Helpers shared by sockit's test targets: run the built CLI, bounded waits, loopback sockets
/// on ephemeral ports. Not part of any product.
public enum TestSupport {
    /// The package root, found from this file's path.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built `sockit` binary: `$SOCKIT_BIN`, else the one next to the test bundle, else
    /// `.build/debug/sockit` under the package root.
    public static var sockitBinary: String {
        if let path = ProcessInfo.processInfo.environment["SOCKIT_BIN"] { return path }
        let besideBundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
            .appendingPathComponent("sockit").path
        if FileManager.default.isExecutableFile(atPath: besideBundle) { return besideBundle }
        for configuration in ["debug", "release"] {
            let path = packageRoot.appendingPathComponent(".build/\(configuration)/sockit").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return packageRoot.appendingPathComponent(".build/debug/sockit").path
    }

    /// What a finished process left: exit status (or 128+signal), stdout and stderr.
    public struct ProcessResult: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool
    }

    /// Runs a program to completion, killing it (by its pid) after `timeout`.
    public static func run(
        _ executable: String, _ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(30),
        environment: [String: String]? = nil
    ) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let outPipe = Pipe()
        let errPipe = Pipe()
        let inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        try process.run()
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try? inPipe.fileHandleForWriting.close()
        // Read both pipes concurrently so a full pipe never blocks the child.
        let outData = LockedData()
        let errData = LockedData()
        let group = DispatchGroup()
        for (pipe, sink) in [(outPipe, outData), (errPipe, errData)] {
            group.enter()
            DispatchQueue.global().async {
                sink.set(pipe.fileHandleForReading.readDataToEndOfFile())
                group.leave()
            }
        }
        let deadline = DispatchTime.now() + .milliseconds(Int(timeout.components.seconds * 1000))
        var timedOut = false
        if group.wait(timeout: deadline) == .timedOut {
            timedOut = true
            kill(process.processIdentifier, SIGKILL)
            _ = group.wait(timeout: .now() + 5)
        }
        process.waitUntilExit()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProcessResult(
            status: status, stdout: String(decoding: outData.get(), as: UTF8.self),
            stderr: String(decoding: errData.get(), as: UTF8.self), timedOut: timedOut)
    }

    /// Runs the built `sockit` with `arguments`.
    public static func sockit(_ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(30))
        throws -> ProcessResult
    {
        try run(sockitBinary, arguments, stdin: stdin, timeout: timeout)
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
    /// For conditions the kernel makes true with no event to wait on (a socket state change).
    public static func eventually(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            if try condition() { return true }
            usleep(10_000)
        }
        return try condition()
    }

    /// A listening TCP socket on 127.0.0.1 (or ::1) with an ephemeral port.
    public static func loopbackListener(ipv6: Bool = false, reuseAddress: Bool = false) throws -> (Socket, SocketAddress) {
        let address: SocketAddress = ipv6 ? .ipv6(.loopback(port: 0)) : .ipv4(.loopback(port: 0))
        let socket = try Socket(for: address, .stream)
        if reuseAddress { try socket.setOption(.reuseAddress, true) }
        try socket.bind(to: address)
        try socket.listen()
        return (socket, try socket.localAddress())
    }
}

/// A Data box filled by one reader thread and read after it finished.
private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}
