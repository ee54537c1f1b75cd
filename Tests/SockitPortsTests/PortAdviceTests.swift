import Sockit
import SockitPorts
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the library says about a busy port is data: typed remedies, and text that names no
/// `sockit` command or flag (the CLI renders the remedies as its own advice).
@Suite("Port advice without the command line")
struct PortAdviceTests {
    @Test func aHeldPortsVerdictSaysStopTheHolderAsARemedy() throws {
        let holder = try Holder(["listen"])
        let verdict = try PortInspector().verdict(for: .ipv4(.loopback(port: holder.port)))
        #expect(verdict.kind == .inUse)
        #expect(verdict.remedies == [.stopHolder(port: holder.port)])
        #expect(verdict.holders.map(\.pid) == [holder.pid])
        #expect(!verdict.reason.contains("sockit"), "\(verdict.reason)")
    }

    @Test func anotherUsersProcessIsRefusedWithIncludeOtherUsersAsTheRemedy() throws {
        let stranger = SocketHolder(pid: 999_999, fd: 3, uid: geteuid() &+ 1, user: "stranger", command: "x")
        let refusal = try #require(PortFreer().refusal(for: stranger))
        #expect(refusal == .otherUser("stranger"))
        #expect(refusal.remedies == [.includeOtherUsers])
        #expect(!refusal.description.contains("--"), "\(refusal)")
        #expect(PortFreer(allowOtherUsers: true).refusal(for: stranger) == nil)
        #expect(
            PortFreer().refusal(for: SocketHolder(pid: 1, fd: 3, uid: geteuid(), user: "root", command: "init"))?
                .remedies == [])
    }
}
