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

    /// The `sockit` under test, for every suite: `$SOCKIT_BIN`, else the one beside the test
    /// bundle, which `swift test` (and `Scripts/sanitize.sh`, in its own build folder) built with
    /// the tests. Never a binary of another build folder: under a sanitizer that would run the
    /// uninstrumented build and the sanitizer would check nothing the tests start.
    public static let sockitBinary: String = {
        if let path = ProcessInfo.processInfo.environment["SOCKIT_BIN"], !path.isEmpty { return path }
        return sockitBesideBundle
    }()

    /// `sockit` in the build folder of the running test bundle (`.build/debug`, `.build-tsan/debug`, …).
    public static var sockitBesideBundle: String {
        var bundle = URL(fileURLWithPath: CommandLine.arguments[0])
        // The runner may be the bundle itself or a file inside it (`….xctest` is a directory on Darwin).
        while bundle.pathComponents.count > 1, bundle.path.contains(".xctest") {
            bundle.deleteLastPathComponent()
        }
        return bundle.appendingPathComponent("sockit").standardizedFileURL.path
    }

    /// This test process's scratch folder (`/tmp/sockit-tests-PID`), removed when the process
    /// exits (`atexit`), so control sockets and fixtures never pile up in /tmp.
    public static let scratchDirectory: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sockit-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        atexit {
            try? FileManager.default.removeItem(
                at: FileManager.default.temporaryDirectory.appendingPathComponent("sockit-tests-\(getpid())"))
        }
        return directory
    }()

    /// A new directory in `scratchDirectory`, named `prefix` and a random suffix.
    public static func temporaryDirectory(_ prefix: String) throws -> URL {
        let directory = scratchDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// What a finished process left: exit status (or 128+signal), stdout and stderr.
    public struct ProcessResult: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var timedOut: Bool
    }

    /// Runs a program to completion, killing it (by its pid) after `timeout`. Started with
    /// `posix_spawn` (`ChildProcess`), not Foundation's `Process`, whose weak-reference table
    /// LeakSanitizer reports at exit.
    /// A `/proc` file read to its end. `String(contentsOfFile:)` trusts the size `stat` gives,
    /// which is 0 for `/proc`: on a machine with many sockets it returned `/proc/net/udp` cut
    /// short, and a test missed its socket.
    public static func readProcFile(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw HolderFailure(message: "cannot open \(path)")
        }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }

    public static func run(
        _ executable: String, _ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(30),
        environment: [String: String]? = nil
    ) throws -> ProcessResult {
        let child = try ChildProcess(executable, arguments, keepStdin: stdin != nil, environment: environment ?? [:])
        if let stdin {
            child.writeStdin(Array(stdin))
            child.closeStdin()
        }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        let out = child.readStdout(timeout: timeout)
        var timedOut = false
        var status = child.waitForExit(timeout: max(.milliseconds(100), clock.now.duration(to: deadline)))
        if status == nil {
            timedOut = true
            child.signal(SIGKILL)
            status = child.waitForExit(timeout: .seconds(5))
        }
        return ProcessResult(
            status: status ?? -1, stdout: String(decoding: out, as: UTF8.self), stderr: child.stderr,
            timedOut: timedOut)
    }

    /// Runs the built `sockit` with `arguments`.
    public static func sockit(
        _ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(30)
    )
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

    /// Runs `body` with SIGPIPE blocked on this thread and says whether it raised one: a
    /// SIGPIPE raised meanwhile waits, pending, where `sigpending` sees it (then it is taken, so
    /// it never reaches the process). Neither kills the test process nor vanishes if ignored.
    public static func raisesSIGPIPE<T>(_ body: () throws -> T) rethrows -> (result: T, raised: Bool) {
        var pipeOnly = sigset_t()
        sigemptyset(&pipeOnly)
        sigaddset(&pipeOnly, SIGPIPE)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &pipeOnly, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let result = try body()
        var pending = sigset_t()
        sigpending(&pending)
        let raised = sigismember(&pending, SIGPIPE) == 1
        if raised {
            var zero = timespec()
            _ = sigtimedwait(&pipeOnly, nil, &zero)
        }
        return (result, raised)
    }

    /// A listening TCP socket on 127.0.0.1 (or ::1) with an ephemeral port.
    public static func loopbackListener(
        ipv6: Bool = false, reuseAddress: Bool = false
    ) throws -> (Socket, SocketAddress) {
        let address: SocketAddress = ipv6 ? .ipv6(.loopback(port: 0)) : .ipv4(.loopback(port: 0))
        let socket = try Socket(for: address, .stream)
        if reuseAddress { try socket.setOption(.reuseAddress, true) }
        try socket.bind(to: address)
        try socket.listen()
        return (socket, try socket.localAddress())
    }
}
