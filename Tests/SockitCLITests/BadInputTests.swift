import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Every command fed what a user might mistype: one clear error line on stderr (`sockit: …`),
/// nothing on stdout, exit status 2, and nothing done.
@Suite("bad input: one error line, exit 2, no side effect")
struct BadInputTests {
    static let longPath = "/tmp/sockit-" + String(repeating: "x", count: 200)

    static let cases: [([String], String)] = [
        // Ports
        (["who", "-1"], "invalid value -1"),
        (["who", "65536"], "invalid port 65536: a port is a number from 1 to 65535"),
        (["who", "abc"], "invalid port \"abc\""),
        (["who", "0"], "invalid port 0"),
        (["who", ""], "invalid port \"\""),
        (["free", "-1", "--yes"], "invalid value -1"),
        (["free", "65536", "--yes"], "invalid port 65536"),
        (["free", "abc", "--yes"], "invalid port \"abc\""),
        (["wait", "-1", "--listening"], "invalid value -1"),
        (["wait", "65536", "--free"], "invalid port 65536"),
        (["wait", "abc", "--free"], "invalid port \"abc\""),
        (["echo", "127.0.0.1:65536"], "invalid address \"127.0.0.1:65536\""),
        (["echo", "127.0.0.1:-1"], "invalid address \"127.0.0.1:-1\""),
        (["echo", "127.0.0.1:abc"], "invalid address \"127.0.0.1:abc\""),
        // Addresses
        (["echo", "::1:80"], "an IPv6 address needs brackets: [::1]:80"),
        (["echo", "300.1.1.1:80"], "\"300.1.1.1\" is not an IPv4 address"),
        (["echo", ""], "invalid address \"\": empty address"),
        (["echo", longPath], "sun_path holds at most 107"),
        (["echo", "--handoff", longPath], "--handoff path is 212 bytes long; a Unix socket path may have at most"),
        (["send", "::1:80", "hi"], "an IPv6 address needs brackets"),
        (["send", "300.1.1.1:80", "hi"], "is not an IPv4 address"),
        (["send", "", "hi"], "empty address"),
        (["listen", "::1:80", "--udp"], "an IPv6 address needs brackets"),
        (["who", "::1:80"], "an IPv6 address needs brackets"),
        (["who", "300.1.1.1:80"], "is not an IPv4 address"),
        // Numbers and options
        (["free", "8080", "--grace", "-5", "--yes"], "--grace takes seconds from 0 to 86400, not -5"),
        (["free", "8080", "--signal", "NOPE", "--yes"], "unknown signal \"NOPE\""),
        (["wait", "8080", "--free", "--timeout", "-1"], "--timeout takes seconds from 0 up, not -1"),
        (["wait", "8080"], "missing one of: '--listening', '--free'"),
        (["echo", "--threads", "-1"], "--threads must be at least 1"),
        (["echo", "--threads", "abc"], "'abc' is invalid for '--threads"),
        (["echo", "--max-connections", "0"], "--max-connections must be at least 1"),
        (["send", "127.0.0.1:9", "hi", "--timeout", "-5"], "--timeout"),
        (["pick", "abc"], "unexpected argument 'abc'"),
        (["bogus"], "unexpected argument 'bogus'"),
        // Processes
        (
            ["options", "--pid", "999999999", "--fd", "3"],
            "cannot open pid 999999999: no such process (ESRCH, errno 3)"
        ),
        (["options", "--pid", "-1", "--fd", "3"], "--pid takes a process id of 1 or more, not -1"),
        (["options", "--pid", "1"], "--pid and --fd go together"),
        (["options", "--fd", "3"], "--pid and --fd go together"),
        (["options", "--pid", "1", "--fd", "3", "--udp"], "--pid reads the socket as it is"),
    ]

    @Test(arguments: cases)
    func oneErrorLineAndStatusTwo(arguments: [String], message: String) throws {
        let result = try TestSupport.sockit(arguments, timeout: .seconds(20))
        #expect(result.status == 2, "\(arguments): \(result.stderr)")
        #expect(result.stdout.isEmpty, "\(arguments): \(result.stdout)")
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.count == 2 && lines[1].isEmpty, "\(arguments): not one line: \(result.stderr)")
        #expect(lines[0].hasPrefix("sockit: "), "\(arguments): \(lines[0])")
        #expect(lines[0].contains(message), "\(arguments): \(lines[0])")
    }

    @Test func noSideEffects() throws {
        // A too-long Unix path is refused before anything is created.
        _ = try TestSupport.sockit(["echo", Self.longPath])
        _ = try TestSupport.sockit(["echo", "--handoff", Self.longPath])
        #expect(access(Self.longPath, F_OK) != 0)
        #expect(access(String(Self.longPath.prefix(107)), F_OK) != 0)

        // A holder that free WOULD signal (a process this test started, not sockit's parent,
        // of this user: a dry run names it) survives every malformed free of its port, alive
        // and still answering.
        let python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "/usr/local/bin/python3"
        let portholder = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/portholder.py").path
        let holder = try ChildProcess(python, [portholder, "listen", "--echo"], keepStdin: true)
        let ready = try #require(holder.readLine(timeout: .seconds(20)), "portholder: \(holder.stderr)")
        let fields = ready.split(separator: " ")
        try #require(fields.count == 3 && fields[0] == "ready", "\(ready)")
        let port = String(fields[1])
        let dryRun = try TestSupport.sockit(["free", port, "--dry-run"])
        #expect(dryRun.status == 0)
        #expect(dryRun.stdout.contains("dry run: would send SIGTERM to process \(holder.pid),"), "\(dryRun.stdout)")

        func serves() throws -> Bool {
            let client = try Socket(.ipv4, .stream)
            try client.connect(to: .ipv4(.loopback(port: UInt16(port)!)), timeout: .seconds(5))
            try client.sendAll(Array("ping".utf8))
            var reply: [UInt8] = []
            while reply.count < 4, try client.poll(for: Int16(POLLIN), timeout: .seconds(5)) {
                let chunk = try client.receive(maxBytes: 4 - reply.count)
                if chunk.isEmpty { break }
                reply += chunk
            }
            try client.close()
            return reply == Array("ping".utf8)
        }
        for arguments in [
            ["free", port, "--grace", "-5", "--yes"], ["free", port, "--signal", "NOPE", "--yes"],
            ["free", port, "--grace", "abc", "--yes"], ["free", port, "--grace", "nan", "--yes"],
            ["free", port, "--signal", "0", "--yes"], ["free", port, "--yes", "--bogus"],
        ] {
            let result = try TestSupport.sockit(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stdout)\(result.stderr)")
            // (A zero timeout would not look: waitForExit checks the pidfd only while time is left.)
            #expect(holder.waitForExit(timeout: .milliseconds(1)) == nil, "\(arguments) ended the holder")
            #expect(try serves(), "\(arguments): the holder no longer answers")
        }
        holder.closeStdin()
        #expect(holder.waitForExit(timeout: .seconds(10)) == 0)
    }
}
