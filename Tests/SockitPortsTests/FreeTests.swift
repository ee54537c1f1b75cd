import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("sockit free")
struct FreeTests {
    @Test func killsAHolderThatIgnoresTermAndLeavesItsClientAlone() throws {
        let holder = try Holder(["listen", "--ignore-term"])
        let decoy = try Holder(["connect", String(holder.port)])
        let result = try TestSupport.sockit(["free", String(holder.port), "--yes", "--grace", "1"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("sent SIGTERM to pid \(holder.pid)"))
        #expect(result.stdout.contains("pid \(holder.pid) did not exit within 1 s: sent SIGKILL"))
        #expect(result.stdout.contains("port \(holder.port) is free"))
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL)
        // The client connected *to* the port is not a candidate: it was never signalled.
        #expect(!result.stdout.contains("\(decoy.pid)"))
        #expect(decoy.isAlive)
    }

    @Test func termIsEnoughForAPoliteHolder() throws {
        let holder = try Holder(["listen"])
        let result = try TestSupport.sockit(["free", "127.0.0.1:\(holder.port)", "--yes", "--grace", "10"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("SIGKILL"))
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
        #expect(result.stdout.contains("port \(holder.port) is free: nothing holds it: a server can bind 127.0.0.1:\(holder.port) now"))
    }

    @Test func jsonReportsWhatWasDone() throws {
        let holder = try Holder(["listen"])
        let (result, document) = try sockitJSON(["free", String(holder.port), "--yes", "--json"])
        #expect(result.status == 0)
        #expect(document["signalled"] as? [Int] == [Int(holder.pid)])
        #expect(document["killed"] as? [Int] == [])
        #expect(document["free"] as? Bool == true)
        let candidates = document["candidates"] as? [[String: Any]] ?? []
        #expect(candidates.map { $0["pid"] as? Int } == [Int(holder.pid)])
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
    }

    @Test func dryRunSignalsNothing() throws {
        let holder = try Holder(["listen"])
        let result = try TestSupport.sockit(["free", String(holder.port), "--dry-run"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("dry run: would send SIGTERM to process \(holder.pid)"))
        #expect(!result.stdout.contains("sent "))
        #expect(holder.isAlive)
        // Still listening: sockit who still names it.
        let (_, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        #expect(sockets(document).contains { $0["pid"] as? Int == Int(holder.pid) })
    }

    @Test func withoutATerminalItAsksForYes() throws {
        let holder = try Holder(["listen"])
        let result = try TestSupport.sockit(["free", String(holder.port)])
        #expect(result.status == 2)
        #expect(result.stderr.contains("pass --yes"))
        #expect(holder.isAlive)
    }

    @Test func refusesItsOwnParent() throws {
        // portholder.py holds the port and runs sockit free as its child.
        let run = try ChildProcess(python3, [portholder, "run", "--", TestSupport.sockitBinary, "free", "{port}", "--yes"])
        let output = String(decoding: run.readStdout(timeout: .seconds(60)), as: UTF8.self)
        #expect(run.waitForExit(timeout: .seconds(30)) == 0)
        #expect(output.contains("refused: this is sockit's parent process"), "\(output)")
        #expect(output.contains("status 1"))
    }

    @Test(.enabled(if: geteuid() == 0, "needs root for a pid namespace"))
    func refusesPidOne() throws {
        // In a new pid namespace (with its own /proc) the holder is pid 1; sockit runs below a shell.
        let run = try ChildProcess(
            "/usr/bin/unshare",
            ["--pid", "--fork", "--mount-proc", python3, portholder, "run", "--", "/bin/sh", "-c",
             "\(TestSupport.sockitBinary) free {port} --yes; exit $?"])
        let output = String(decoding: run.readStdout(timeout: .seconds(60)), as: UTF8.self)
        _ = run.waitForExit(timeout: .seconds(30))
        #expect(output.contains("refused: pid 1 (init) is never signalled"), "\(output)")
        #expect(output.contains("not signalling anything"))
        #expect(output.contains("status 1"))
    }

    @Test func aFreePortNeedsNothing() throws {
        let port = try freePort()
        let result = try TestSupport.sockit(["free", String(port), "--yes"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("no process holds port \(port)"))
    }
}

@Suite("sockit wait, pick, options --pid")
struct WaitPickOptionsTests {
    @Test func waitListeningReturnsOnceAServerStartsAndFreeOnceItStops() throws {
        let port = try freePort()
        let waiter = try ChildProcess(TestSupport.sockitBinary, ["wait", String(port), "--listening", "--timeout", "30"])
        #expect(waiter.waitForExit(timeout: .milliseconds(200)) == nil)  // nothing listens yet
        let server = try Holder(["listen", "--port", String(port)])
        #expect(waiter.waitForExit(timeout: .seconds(20)) == 0)
        #expect(waiter.readLine(timeout: .seconds(1))?.hasPrefix("port \(port) is listening") == true)

        let freeWaiter = try ChildProcess(TestSupport.sockitBinary, ["wait", String(port), "--free", "--timeout", "30"])
        #expect(freeWaiter.waitForExit(timeout: .milliseconds(200)) == nil)  // still listening
        server.child.signal(SIGTERM)
        #expect(server.child.waitForExit(timeout: .seconds(10)) != nil)
        #expect(freeWaiter.waitForExit(timeout: .seconds(20)) == 0)
    }

    @Test func waitTimesOut() throws {
        let port = try freePort()
        let listening = try TestSupport.sockit(["wait", String(port), "--listening", "--timeout", "0.3"])
        #expect(listening.status == 1)
        #expect(listening.stderr.contains("port \(port) is still not listening after 0.3 s"))

        let holder = try Holder(["listen"])
        let free = try TestSupport.sockit(["wait", String(holder.port), "--free", "--timeout", "0.3", "--json"])
        #expect(free.status == 1)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(free.stdout.utf8)) as? [String: Any])
        #expect(document["met"] as? Bool == false)
    }

    @Test func pickGivesAPortFreeForIPv4AndIPv6() throws {
        let result = try TestSupport.sockit(["pick"])
        #expect(result.status == 0)
        let port = try #require(UInt16(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(port > 0)
        let v4 = try Socket(.ipv4, .stream)
        try v4.bind(to: .ipv4(.any(port: port)))
        let v6 = try Socket(.ipv6, .stream)
        try v6.setOption(.ipv6Only, true)
        try v6.bind(to: .ipv6(.any(port: port)))
    }

    @Test func optionsOfALiveSocketOfAChild() throws {
        let holder = try Holder(["listen", "--reuse"])
        let (_, who) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        let fd = try #require(sockets(who).first { $0["state"] as? String == "LISTEN" }?["fd"] as? Int)
        let (result, document) = try sockitJSON(["options", "--pid", String(holder.pid), "--fd", String(fd), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let options = document["options"] as? [[String: Any]] ?? []
        #expect(options.first { $0["name"] as? String == "SO_REUSEADDR" }?["value"] as? Bool == true)
        #expect(options.first { $0["name"] as? String == "SO_ACCEPTCONN" }?["value"] as? Bool == true)
        let socket = try #require(document["socket"] as? [String: Any])
        #expect(socket["local"] as? String == "127.0.0.1:\(holder.port)")

        // Descriptor 0 is a pipe, not a socket; a missing pid is named.
        let notSocket = try TestSupport.sockit(["options", "--pid", String(holder.pid), "--fd", "0"])
        #expect(notSocket.status == 2)
        #expect(notSocket.stderr.contains("descriptor 0 of pid \(holder.pid) is not a socket"))
        let noProcess = try TestSupport.sockit(["options", "--pid", "999999999", "--fd", "3"])
        #expect(noProcess.status == 2)
        #expect(noProcess.stderr.contains("no such process (ESRCH, errno 3)"))
    }
}
