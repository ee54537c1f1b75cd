import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sockit free PORT --leftovers`: the TIME-WAIT and orphan sockets of a listener that lacked
/// SO_REUSEADDR block every bind; free destroys them, and a plain bind works right after.
@Suite("sockit free --leftovers")
struct LeftoversCommandTests {
    /// A plain bind (no SO_REUSEADDR) of 0.0.0.0:port: nil when it works, else its errno.
    func plainBind(_ port: UInt16) -> Errno? {
        do {
            let socket = try Socket(.ipv4, .stream)
            try socket.bind(to: .ipv4(.any(port: port)))
            try socket.close()
            return nil
        } catch {
            return error.errno
        }
    }

    /// The states of the closed connections on `port`; of TIME-WAIT ones, only those connected to
    /// `clients` when given (the listener is gone: another test's socket may have the number).
    func closedConnections(_ port: UInt16, clients: Set<UInt16> = []) throws -> [String] {
        let (_, document) = try sockitJSON(["who", String(port), "--tcp", "--json"])
        return sockets(document).filter { entry in
            entry["side"] as? String == "local"
                && (clients.isEmpty || clients.contains { entry["remote"] as? String == "127.0.0.1:\($0)" })
        }.compactMap { $0["state"] as? String }
    }

    @Test(
        .enabled(if: geteuid() == 0, "needs root (CAP_NET_ADMIN, and setpriv to run as nobody)"),
        arguments: [
            (["timewait", "--count", "3"], ["TIME-WAIT", "TIME-WAIT", "TIME-WAIT"]),
            (["closing", "fin-wait-2"], ["FIN-WAIT-2"]),
        ])
    func leftoversGoAndAPlainBindWorksRightAfter(holderArguments: [String], states: [String]) throws {
        let holder = try Holder(holderArguments)
        let port = holder.port
        let clients = holderArguments[0] == "timewait" ? holder.timeWaitClientPorts : []
        func closedConnections(_ port: UInt16) throws -> [String] { try self.closedConnections(port, clients: clients) }
        #expect(try closedConnections(port).sorted() == states)
        #expect(plainBind(port) == .addressInUse)

        // who's verdict says what helps.
        let who = try TestSupport.sockit(["who", String(port), "--tcp"])
        #expect(who.stdout.contains("as root: sockit free \(port) --leftovers"), "\(who.stdout)")

        // A dry run destroys nothing, and says what it would.
        let (dry, plan) = try sockitJSON(["free", String(port), "--leftovers", "--dry-run", "--json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let wouldDestroy = (plan["leftovers"] as? [String: Any])?["would_destroy"] as? [[String: Any]]
        #expect(wouldDestroy?.compactMap { $0["state"] as? String }.sorted() == states)
        #expect(try closedConnections(port).sorted() == states)

        // Without CAP_NET_ADMIN: a clear error, and nothing destroyed.
        let unprivileged = try TestSupport.run(
            "/usr/bin/setpriv",
            [
                "--reuid=nobody", "--regid=nogroup", "--clear-groups", TestSupport.sockitBinary, "free", String(port),
                "--leftovers",
            ])
        #expect(unprivileged.status == 2)
        #expect(unprivileged.stderr.contains("needs CAP_NET_ADMIN, which this process lacks"), "\(unprivileged.stderr)")
        #expect(try closedConnections(port).sorted() == states)

        let (result, document) = try sockitJSON(["free", String(port), "--leftovers", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let destroyed = (document["leftovers"] as? [String: Any])?["destroyed"] as? [[String: Any]]
        #expect(destroyed?.compactMap { $0["state"] as? String }.sorted() == states)
        #expect(document["free"] as? Bool == true)
        #expect(plainBind(port) == nil)
    }
}
