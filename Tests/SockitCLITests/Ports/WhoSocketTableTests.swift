import Foundation
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sockit who` when netlink is not available, is forced, or is misnamed: the socket table's
/// policy seen from the command line (SockitPortsTests checks it in-process).
@Suite("sockit who: the socket table's sources")
struct WhoSocketTableTests {
    /// The real thing, end to end: `socket(AF_NETLINK)` made to fail as a sandbox makes it fail
    /// (strace injects the errno into the first socket call, the netlink one): `who` answers
    /// from /proc/net and, under SOCKIT_DEBUG, says so; with SOCKIT_SOCKET_TABLE=netlink it fails.
    /// LeakSanitizer cannot run under ptrace (it stops with a fatal error): an AddressSanitizer
    /// build of sockit traced by strace checks everything but leaks.
    static let traced: [String: String] = [
        "ASAN_OPTIONS": (ProcessInfo.processInfo.environment["ASAN_OPTIONS"].map { $0 + ":" } ?? "") + "detect_leaks=0"
    ]

    @Test(.enabled(if: access("/usr/bin/strace", X_OK) == 0, "needs strace"))
    func whoFallsBackVisiblyAndNetlinkOnlyRefusesTo() throws {
        let holder = try Holder(["listen"])
        let inject = ["-o", "/dev/null", "-e", "trace=socket", "-e", "inject=socket:error=EAFNOSUPPORT:when=1"]
        let who = [TestSupport.sockitBinary, "who", String(holder.port), "--tcp", "--json"]
        let fallback = try TestSupport.run(
            "/usr/bin/strace", inject + who, environment: Self.traced.merging(["SOCKIT_DEBUG": "1"]) { $1 })
        #expect(fallback.status == 0, "\(fallback.stderr)")
        #expect(
            fallback.stderr.contains(
                "sockit: debug: tcp sockets read from /proc/net, netlink is not available: cannot open a "
                    + "NETLINK_SOCK_DIAG socket: address family not supported by protocol (EAFNOSUPPORT"),
            "\(fallback.stderr)")
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(fallback.stdout.utf8)) as? [String: Any])
        #expect(sockets(document, family: "ipv4").map { $0["pid"] as? Int } == [Int(holder.pid)])

        let quiet = try TestSupport.run("/usr/bin/strace", inject + who, environment: Self.traced)
        #expect(quiet.status == 0)
        #expect(!quiet.stderr.contains("debug"), "\(quiet.stderr)")

        let forced = try TestSupport.run(
            "/usr/bin/strace", inject + who, environment: Self.traced.merging(["SOCKIT_SOCKET_TABLE": "netlink"]) { $1 }
        )
        #expect(forced.status == 2)
        #expect(forced.stdout.isEmpty)
        #expect(
            forced.stderr.contains("sockit: cannot read the socket table: cannot open a NETLINK_SOCK_DIAG socket"),
            "\(forced.stderr)")

        // Not "unavailable": an error, also without forcing.
        let broken = try TestSupport.run(
            "/usr/bin/strace",
            ["-o", "/dev/null", "-e", "trace=socket", "-e", "inject=socket:error=EMFILE:when=1"] + who,
            environment: Self.traced)
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("too many open files (EMFILE"), "\(broken.stderr)")

        let unknown = try TestSupport.run(
            TestSupport.sockitBinary, ["who", String(holder.port)], environment: ["SOCKIT_SOCKET_TABLE": "netlnk"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("SOCKIT_SOCKET_TABLE=\"netlnk\" is not a source: use netlink, proc or auto"))
    }
}
