import Foundation
import Sockit
import SockitPorts
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
        #expect(!result.stdout.split(separator: "\n").contains { $0.split(separator: " ").first == "\(decoy.pid)" })
        #expect(!result.stdout.contains("pid \(decoy.pid)"))
        #expect(decoy.isAlive)
    }

    @Test func termIsEnoughForAPoliteHolder() throws {
        let holder = try Holder(["listen"])
        let result = try TestSupport.sockit(["free", "127.0.0.1:\(holder.port)", "--yes", "--grace", "10"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("SIGKILL"))
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
        #expect(
            result.stdout.contains(
                "port \(holder.port) is free: nothing holds it: a server can bind 127.0.0.1:\(holder.port) now"))
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
        let run = try ChildProcess(
            python3, [portholder, "run", "--", TestSupport.sockitBinary, "free", "{port}", "--yes"])
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
            [
                "--pid", "--fork", "--mount-proc", python3, portholder, "run", "--", "/bin/sh", "-c",
                "\(TestSupport.sockitBinary) free {port} --yes; exit $?",
            ])
        let output = String(decoding: run.readStdout(timeout: .seconds(60)), as: UTF8.self)
        _ = run.waitForExit(timeout: .seconds(30))
        #expect(output.contains("refused: pid 1 (init) is never signalled"), "\(output)")
        #expect(output.contains("not signalling anything"))
        #expect(output.contains("status 1"))
    }

    /// Another user's holder (run as nobody) is shown and refused: nothing is signalled, the
    /// port stays held. With --all-users it is signalled and the port is freed.
    @Test(.enabled(if: geteuid() == 0, "needs root to run a holder as another user"))
    func anotherUsersHolderIsRefusedUnlessAllUsers() throws {
        let holder = try Holder(
            ["listen"], wrapper: ["/usr/bin/setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        let port = String(holder.port)
        let (refused, document) = try sockitJSON(["free", port, "--yes", "--json"])
        #expect(refused.status == 1, "\(refused.stderr)")
        let candidates = document["candidates"] as? [[String: Any]] ?? []
        #expect(candidates.map { $0["pid"] as? Int } == [Int(holder.pid)])
        #expect(candidates.first?["user"] as? String == "nobody")
        #expect(candidates.first?["refused"] as? String == "it belongs to user nobody (--all-users to include it)")
        #expect(document["signalled"] as? [Int] == [])
        #expect(document["free"] as? Bool == false)
        #expect(refused.stderr.contains("not signalling anything: every holder of port \(port) is refused"))

        let text = try TestSupport.sockit(["free", port, "--yes"])
        #expect(text.status == 1)
        #expect(
            text.stdout.contains("refused: it belongs to user nobody (--all-users to include it)"), "\(text.stdout)")
        #expect(!text.stdout.contains("sent "))
        // Alive and still listening.
        #expect(holder.isAlive)
        let client = try Socket(.ipv4, .stream)
        try client.connect(to: .ipv4(.loopback(port: holder.port)), timeout: .seconds(5))
        try client.close()

        let freed = try TestSupport.sockit(["free", port, "--yes", "--all-users"])
        #expect(freed.status == 0, "\(freed.stdout)\(freed.stderr)")
        #expect(freed.stdout.contains("sent SIGTERM to pid \(holder.pid)"))
        #expect(freed.stdout.contains("port \(port) is free"))
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
        let server = try Socket(.ipv4, .stream)
        try server.bind(to: .ipv4(.loopback(port: holder.port)))
    }

    /// A listener passed with SCM_RIGHTS to a process started on its own (a hand-off) while the
    /// first still holds it: the second is no relative of the first, so the fast search,
    /// which follows the fork family of the first holder it finds, names only one of them.
    /// `who --scan-all` names both; `free` names both on a dry run, and otherwise stops the one
    /// it found, sees the port still busy, reads every process, and stops the other.
    ///
    /// sockit runs on one core (taskset): it then reads /proc on one thread, in a fixed order,
    /// without reading ahead while the socket table is read (which on a quiet machine may reach
    /// both holders by chance), so the fast search's miss happens every time.
    @Test(.enabled(if: access("/usr/bin/taskset", X_OK) == 0, "needs taskset"))
    func aSocketPassedWithSCMRightsIsFoundAndFreed() throws {
        let address = "@sockit-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let receiver = try Holder(["receive", address])
        let sender = try Holder(["send", address, "--keep"])
        #expect(receiver.child.readLine(timeout: .seconds(20)) == "received \(sender.port)")
        let port = String(sender.port)
        let both = Set([Int(sender.pid), Int(receiver.pid)])
        let oneCore = try oneCPU()
        func listenerPIDs(_ arguments: [String]) throws -> [Int] {
            let (result, document) = try runJSON(oneCore + [TestSupport.sockitBinary] + arguments)
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
            return sockets(document, family: "ipv4").filter { $0["state"] as? String == "LISTEN" }.compactMap {
                $0["pid"] as? Int
            }
        }

        #expect(Set(try listenerPIDs(["who", port, "--tcp", "--json", "--scan-all"])) == both)
        let fast = try listenerPIDs(["who", port, "--tcp", "--json"])
        #expect(fast.count == 1 && both.contains(fast[0]), "\(fast)")

        let (dryRun, plan) = try runJSON(oneCore + [TestSupport.sockitBinary, "free", port, "--dry-run", "--json"])
        #expect(dryRun.status == 0)
        // Candidates on 127.0.0.1: a parallel test's IPv6 socket may have the same port number.
        let candidates = (plan["candidates"] as? [[String: Any]] ?? []).filter {
            ($0["sockets"] as? [String] ?? []).contains { $0.contains("127.0.0.1:\(port)") }
        }
        #expect(Set(candidates.compactMap { $0["pid"] as? Int }) == both)

        let result = try TestSupport.run(
            oneCore[0], Array(oneCore.dropFirst()) + [TestSupport.sockitBinary, "free", port, "--yes", "--grace", "10"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("reading every process found another holder:"), "\(result.stdout)")
        for pid in both { #expect(result.stdout.contains("sent SIGTERM to pid \(pid)\n"), "\(result.stdout)") }
        #expect(result.stdout.contains("port \(port) is free"))
        #expect(sender.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
        #expect(receiver.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
    }

    /// Between the search and the signal, a holder may let the port go and go on living: the
    /// pidfd opened then is checked against /proc (it still holds one of the sockets), and a
    /// process that no longer does is skipped, not signalled.
    @Test func aHolderThatLetGoBeforeTheSignalIsNotSignalled() throws {
        let script = """
            import socket, sys
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            s.listen()
            print("ready", s.getsockname()[1], flush=True)
            sys.stdin.readline()
            s.close()
            print("closed", flush=True)
            sys.stdin.read()
            """
        let child = try ChildProcess(python3, ["-c", script], keepStdin: true)
        let ready = try #require(child.readLine(timeout: .seconds(20)), "no ready line: \(child.stderr)")
        let port = try #require(UInt16(ready.split(separator: " ").last ?? ""))
        let freer = PortFreer()
        let (candidates, _) = try freer.candidates(port: port, transports: [.tcp])
        #expect(candidates.map(\.holder.pid) == [child.pid])
        #expect(candidates.allSatisfy { $0.refusal == nil })

        child.writeStdin(Array("close\n".utf8))
        #expect(child.readLine(timeout: .seconds(20)) == "closed")
        let (handles, gone) = freer.open(candidates)
        #expect(handles.isEmpty, "would signal \(handles.map(\.1.pid)), which no longer holds the port")
        #expect(gone.map(\.holder.pid) == [child.pid])
        #expect(child.waitForExit(timeout: .milliseconds(1)) == nil, "still running")
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
        let waiter = try ChildProcess(
            TestSupport.sockitBinary, ["wait", String(port), "--listening", "--timeout", "30"])
        #expect(waiter.waitForExit(timeout: .milliseconds(200)) == nil)  // nothing listens yet
        let server = try Holder(["listen", "--port", String(port)])
        #expect(waiter.waitForExit(timeout: .seconds(20)) == 0)
        #expect(waiter.readLine(timeout: .seconds(1))?.hasPrefix("port \(port) is listening") == true)

        let freeWaiter = try ChildProcess(
            TestSupport.sockitBinary, ["wait", String(port), "--free", "--timeout", "30"])
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
