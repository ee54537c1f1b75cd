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
        (["options", "--pid", "999999999", "--fd", "3"], "cannot open pid 999999999: no such process (ESRCH, errno 3)"),
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

        // A holder of a port survives every malformed free of that port.
        let (listener, address) = try TestSupport.loopbackListener()
        let port = String(address.port!)
        let child = try ChildProcess(
            "/bin/sh", ["-c", "exec \(TestSupport.sockitBinary) free \(port) --grace -5 --yes"])
        #expect(child.waitForExit(timeout: .seconds(20)) == 2)
        for arguments in [["free", port, "--signal", "NOPE", "--yes"], ["free", port, "--grace", "abc", "--yes"]] {
            #expect(try TestSupport.sockit(arguments).status == 2)
        }
        // Still listening, and still ours: a connection is accepted.
        let client = try Socket(.ipv4, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let (accepted, _) = try listener.accept()
        #expect(!accepted.isClosed)
    }
}
