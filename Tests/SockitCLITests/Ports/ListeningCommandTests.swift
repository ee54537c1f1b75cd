import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `who` without a port (every listener, as `ss -tulpn`), with a range, a busy port on a
/// terminal, and the warning before a restart fails.
@Suite("sockit who: listeners, busy ports, restart warnings")
struct ListeningCommandTests {
    static let listeners = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/listeners.py").path
    static let terminal = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/on-a-terminal.py").path

    /// (protocol, local address, pid) of every listener `ss -tulpnH` lists for `pids`.
    static func fromSS(_ pids: Set<Int>) throws -> Set<String> {
        let ss = try TestSupport.run("/usr/bin/ss", ["-tulpnH"])
        #expect(ss.status == 0)
        var rows = Set<String>()
        for line in ss.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 7 else { continue }
            for match in line.matches(of: /pid=(\d+),fd=\d+/) {
                guard let pid = Int(match.1), pids.contains(pid) else { continue }
                rows.insert("\(fields[0]) \(fields[4]) \(pid)")
            }
        }
        return rows
    }

    @Test(.enabled(if: access("/usr/bin/ss", X_OK) == 0, "needs ss"))
    func withoutAPortEveryListenerAsSSListsIt() throws {
        let fixture = try Holder(command: [python3, Self.listeners, "5", "6", "--udp"])
        let pids = Set(fixture.fields.compactMap { Int($0) })
        #expect(pids.count == 5)
        let (result, document) = try sockitJSON(["who", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let fromSockit = Set(
            sockets(document).compactMap { entry -> String? in
                guard let pid = entry["pid"] as? Int, pids.contains(pid) else { return nil }
                return "\(entry["protocol"] as! String) \(entry["local"] as! String) \(pid)"
            })
        let expected = try Self.fromSS(pids)
        #expect(expected.count == 60, "5 processes x 6 TCP and 6 UDP")
        #expect(fromSockit == expected)
        // Each listener's own SO_REUSEADDR and SO_REUSEPORT, read from its socket (with this many,
        // half of the processes on a second thread): Python sets neither, so none is unknown.
        let mine = sockets(document).filter { pids.contains($0["pid"] as? Int ?? -1) }
        let unread = mine.filter { $0["reuse_address"] as? Bool != false || $0["reuse_port"] as? Bool != false }
        #expect(mine.count == 60 && unread.isEmpty, "\(unread.count) of \(mine.count) without both options read")
        let ports = sockets(document).compactMap {
            ($0["local"] as? String)?.split(separator: ":").last.flatMap { Int($0) }
        }
        #expect(ports == ports.sorted())

        // A range: only its ports, every listener of ours in it.
        let ours = sockets(document).filter { pids.contains($0["pid"] as? Int ?? -1) }
        let ourPorts = ours.compactMap { ($0["local"] as? String)?.split(separator: ":").last.flatMap { Int($0) } }
            .sorted()
        let (low, high) = (ourPorts[10], ourPorts[40])
        let (_, ranged) = try sockitJSON(["who", "\(low)-\(high)", "--json"])
        let rangedPorts = sockets(ranged).compactMap {
            ($0["local"] as? String)?.split(separator: ":").last.flatMap { Int($0) }
        }
        #expect(rangedPorts.allSatisfy { (low...high).contains($0) })
        #expect(Set(ourPorts.filter { (low...high).contains($0) }).isSubset(of: Set(rangedPorts)))
    }

    /// 400 connections: on a 40-row terminal, a screenful with the listener, counts and the
    /// verdict; with --all, piped, or --json, every row. The port number may also be the remote
    /// end of closed connections a process made earlier (TIME-WAIT to an old listener on the same
    /// ephemeral number): those rows are counted apart.
    @Test func aBusyPortIsSummarizedOnATerminalOnly() throws {
        let holder = try Holder(["listen", "--reuse", "--connections", "400"])
        let port = String(holder.port)
        let (_, before) = try sockitJSON(["who", port, "--json"])
        let strays = sockets(before).filter { !["LISTEN", "ESTAB"].contains($0["state"] as? String ?? "") }.count
        let summary = try TestSupport.run(python3, [Self.terminal, "120x40", TestSupport.sockitBinary, "who", port])
        #expect(summary.status == 0, "\(summary.stderr)")
        let lines = summary.stdout.split(separator: "\n")
        #expect(lines.count <= 40, "\(lines.count) lines")
        #expect(lines.contains { $0.hasPrefix("tcp") && $0.contains("LISTEN") && $0.contains(" \(holder.pid) ") })
        #expect(
            summary.stdout.contains("\(800 + strays) more sockets on port \(port), not shown (sockit who \(port) --all")
        )
        #expect(summary.stdout.contains("connections on port \(port):   ESTAB 400"), "\(summary.stdout)")
        #expect(summary.stdout.contains("connections to port \(port):   ESTAB 400"))
        #expect(summary.stdout.contains("busiest remote hosts:  127.0.0.1 400"))
        #expect(lines.last?.hasPrefix("bind 0.0.0.0:\(port) (tcp): in use") == true)

        let all = try TestSupport.run(
            python3, [Self.terminal, "120x40", TestSupport.sockitBinary, "who", port, "--all"])
        #expect(all.stdout.split(separator: "\n").filter { $0.contains(" ESTAB ") }.count == 800)
        let piped = try TestSupport.sockit(["who", port])
        #expect(piped.stdout.split(separator: "\n").filter { $0.contains(" ESTAB ") }.count == 800)
        let (_, document) = try sockitJSON(["who", port, "--json"])
        #expect(sockets(document).filter { ["LISTEN", "ESTAB"].contains($0["state"] as? String ?? "") }.count == 801)
    }

    /// A listener without SO_REUSEADDR, with one accepted connection: who warns that its
    /// restart will fail; with SO_REUSEADDR, no warning; another user cannot read the option:
    /// null, and no warning rather than a false one.
    @Test(arguments: [false, true])
    func aListenerWithoutReuseAddressIsWarnedAbout(reuse: Bool) throws {
        let holder = try Holder(["listen", "--self-connect"] + (reuse ? ["--reuse"] : []))
        let port = String(holder.port)
        let result = try TestSupport.sockit(["who", port, "--tcp"])
        let warning =
            "warning: the listener on 127.0.0.1:\(port) (pid \(holder.pid)) did not set SO_REUSEADDR: when it stops"
        #expect(result.stdout.contains(warning) == !reuse, "\(result.stdout)")
        let (_, document) = try sockitJSON(["who", port, "--tcp", "--json"])
        let listener = try #require(sockets(document).first { $0["state"] as? String == "LISTEN" })
        #expect(listener["reuse_address"] as? Bool == reuse)
        #expect(listener["reuse_port"] as? Bool == false)

        guard geteuid() == 0 else { return }
        let other = try TestSupport.run(
            "/usr/bin/setpriv",
            [
                "--reuid=nobody", "--regid=nogroup", "--clear-groups", TestSupport.sockitBinary, "who", port, "--tcp",
                "--json",
            ])
        let hidden = try #require(try JSONSerialization.jsonObject(with: Data(other.stdout.utf8)) as? [String: Any])
        let seen = try #require(sockets(hidden).first { $0["state"] as? String == "LISTEN" })
        #expect(seen["reuse_address"] is NSNull)
        let text = try TestSupport.run(
            "/usr/bin/setpriv",
            ["--reuid=nobody", "--regid=nogroup", "--clear-groups", TestSupport.sockitBinary, "who", port, "--tcp"])
        #expect(!text.stdout.contains("warning:"))
    }
}
