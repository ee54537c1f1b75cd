import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("sockit who")
struct WhoTests {
    @Test func namesThePythonListenerAndAgreesWithSS() throws {
        let holder = try Holder(["listen", "--self-connect"])
        let port = holder.port
        let (result, document) = try sockitJSON(["who", String(port), "--tcp", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(document["port"] as? Int == Int(port))
        let entries = sockets(document)
        let listener = try #require(entries.first { $0["state"] as? String == "LISTEN" })
        #expect(listener["pid"] as? Int == Int(holder.pid))
        #expect(listener["user"] as? String == currentUserName)
        #expect((listener["command"] as? String)?.contains("portholder.py listen") == true)
        #expect(listener["local"] as? String == "127.0.0.1:\(port)")
        #expect(listener["side"] as? String == "local")
        // The self-connection shows twice: accepted (local side) and the client (remote side).
        #expect(entries.contains { $0["state"] as? String == "ESTAB" && $0["side"] as? String == "local" })
        #expect(entries.contains { $0["state"] as? String == "ESTAB" && $0["side"] as? String == "remote" })

        // The same (state, local, remote, pid) set as ss -tanp for the same filter.
        let ss = try TestSupport.run("/usr/bin/ss", ["-Htanp", "sport = :\(port) or dport = :\(port)"])
        #expect(ss.status == 0)
        var fromSS = Set<String>()
        for line in ss.stdout.split(separator: "\n") {
            let columns = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard columns.count >= 5 else { continue }
            let remote = columns[4].hasSuffix(":*") ? "*" : columns[4]
            let pids = line.components(separatedBy: "pid=").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
            for pid in pids.isEmpty ? [-1] : pids { fromSS.insert("\(columns[0]) \(columns[3]) \(remote) \(pid)") }
        }
        let fromSockit = Set(
            entries.map { entry in
                let remote = entry["remote"] as? String ?? "*"
                return
                    "\(entry["state"] as! String) \(entry["local"] as! String) \(remote) \(entry["pid"] as? Int ?? -1)"
            })
        #expect(!fromSS.isEmpty)
        #expect(fromSockit == fromSS)
    }

    @Test func listeningShowsOnlyTheListener() throws {
        let holder = try Holder(["listen", "--self-connect"])
        let (result, document) = try sockitJSON(["who", String(holder.port), "--listening", "--json"])
        #expect(result.status == 0)
        #expect(sockets(document, family: "ipv4").map { $0["state"] as? String } == ["LISTEN"])
        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "in_use")
    }

    /// `who` end to end with each source forced (netlink alone: a netlink failure would be an
    /// error, never /proc in disguise): the same rows, holders and inodes, for TCP and UDP, IPv4
    /// and IPv6, a listener with a connection to itself, a bound UDP socket and TIME-WAIT.
    @Test(arguments: [
        (["listen", "--self-connect"], ["tcp LISTEN", "tcp ESTAB", "tcp ESTAB"]),
        (["listen", "--v6", "--self-connect"], ["tcp LISTEN", "tcp ESTAB", "tcp ESTAB"]),
        (["listen", "--udp"], ["udp UNCONN"]),
        (["listen", "--udp", "--v6"], ["udp UNCONN"]),
        (["timewait", "--count", "2"], ["tcp TIME-WAIT", "tcp TIME-WAIT"]),
    ])
    func netlinkAndProcNetGiveTheSameAnswer(holderArguments: [String], expected: [String]) throws {
        let holder = try Holder(holderArguments)
        // One transport: a TCP connection elsewhere may have the UDP port's number as its own.
        let arguments = ["who", String(holder.port), expected[0].hasPrefix("udp") ? "--udp" : "--tcp", "--json"]
        func rows(_ source: String) throws -> [String] {
            let result = try TestSupport.run(
                TestSupport.sockitBinary, arguments, environment: ["SOCKIT_SOCKET_TABLE": source])
            #expect(result.status == 0, "\(source): \(result.stderr)")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            return sockets(document).map { entry in
                ["protocol", "state", "family", "local", "remote", "side", "pid", "fd", "inode", "uid", "timer"]
                    .map { "\(entry[$0] ?? "?")" }.joined(separator: " ")
            }.sorted()
        }
        // `who PORT` shows every socket on the number; a parallel test's IPv4 socket may share
        // the number of this IPv6 holder (127.0.0.1:P and [::1]:P coexist). Keep the holder's
        // family, and of TIME-WAIT connections (whose listener is gone, so the number is free
        // again) the holder's own, by their remote ports.
        let family = holderArguments.contains("--v6") ? " ipv6 " : " ipv4 "
        let clients = holderArguments[0] == "timewait" ? holder.timeWaitClientPorts : []
        let remotes = Set(clients.map { "127.0.0.1:\($0)" })
        func holders(_ row: String) -> Bool {
            let fields = row.split(separator: " ").map(String.init)
            return row.contains(family) && (remotes.isEmpty || remotes.contains(fields[4]))
        }
        let netlink = try rows("netlink").filter(holders)
        let proc = try rows("proc").filter(holders)
        #expect(netlink == proc)
        #expect(netlink.map { $0.split(separator: " ").prefix(2).joined(separator: " ") }.sorted() == expected.sorted())
        if holderArguments[0] == "listen" {
            #expect(netlink.allSatisfy { $0.contains(" \(holder.pid) ") }, "\(netlink)")
        }
    }

    @Test func tableShowsHolderAndVerdict() throws {
        let holder = try Holder(["listen"])
        let result = try TestSupport.sockit(["who", String(holder.port)])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("PROTO  STATE") == true)
        #expect(
            lines.contains {
                $0.contains("LISTEN") && $0.contains("127.0.0.1:\(holder.port)") && $0.contains(" \(holder.pid) ")
            })
        #expect(lines.last?.contains("bind 0.0.0.0:\(holder.port) (tcp): in use: pid \(holder.pid) (") == true)
    }

    @Test func timeWaitHasTimersAndIsFreeWithReuseAddress() throws {
        let holder = try Holder(["timewait", "--reuse", "--count", "3"])
        let (result, document) = try sockitJSON(["who", "127.0.0.1:\(holder.port)", "--tcp", "--json"])
        #expect(result.status == 0)
        let local = sockets(document).filter { entry in
            entry["side"] as? String == "local"
                && holder.timeWaitClientPorts.contains { entry["remote"] as? String == "127.0.0.1:\($0)" }
        }
        #expect(local.count == 3)
        for entry in local {
            #expect(entry["state"] as? String == "TIME-WAIT")
            #expect(entry["pid"] is NSNull)
            let timer = try #require(entry["timer_ms"] as? Int)
            #expect(timer > 0 && timer <= 60_000)
        }
        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "free_with_reuse_address")
        #expect(verdict["bindable"] as? Bool == true)
        #expect(verdict["needs_reuse_address"] as? Bool == true)
        #expect((verdict["reason"] as? String)?.contains("3 connections in TIME-WAIT") == true)
    }

    @Test func timeWaitFromAListenerWithoutReuseAddressMustBeWaitedOut() throws {
        let holder = try Holder(["timewait", "--count", "2"])
        let (_, document) = try sockitJSON(["who", "127.0.0.1:\(holder.port)", "--tcp", "--json"])
        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "time_wait")
        #expect(verdict["bindable"] as? Bool == false)
        let wait = try #require(verdict["wait_ms"] as? Int)
        #expect(wait > 0 && wait <= 60_000)
        #expect((verdict["reason"] as? String)?.contains("no option helps now") == true)

        // sockit echo sets SO_REUSEADDR, and its error says that it cannot help here.
        let echo = try TestSupport.sockit(["echo", "127.0.0.1:\(holder.port)"], timeout: .seconds(20))
        #expect(echo.status == 2)
        #expect(
            echo.stderr.contains("cannot bind 127.0.0.1:\(holder.port): address already in use (EADDRINUSE, errno 98)"))
        #expect(echo.stderr.contains("2 connections on this port are in TIME_WAIT"))
        #expect(echo.stderr.contains("did not set SO_REUSEADDR, so no option helps now"))
        #expect(
            echo.stderr.split(separator: "\n").contains { $0.hasPrefix("  wait ") && $0.hasSuffix(" s") },
            "\(echo.stderr)")
    }

    @Test func liveListenerIsInUseAndEchoNamesIt() throws {
        let holder = try Holder(["listen"])
        let (_, document) = try sockitJSON(["who", "127.0.0.1:\(holder.port)", "--json"])
        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "in_use")
        #expect(verdict["bindable"] as? Bool == false)
        #expect(verdict["holders"] as? [Int] == [Int(holder.pid)])

        let echo = try TestSupport.sockit(["echo", "127.0.0.1:\(holder.port)"], timeout: .seconds(20))
        #expect(echo.status == 2)
        let lines = echo.stderr.split(separator: "\n").map(String.init)
        #expect(
            lines.first == "sockit: cannot bind 127.0.0.1:\(holder.port): address already in use (EADDRINUSE, errno 98)"
        )
        #expect(
            lines.contains {
                $0.hasPrefix("  held by pid \(holder.pid) (python3 ")
                    && $0.hasSuffix(", user \(currentUserName)) in LISTEN on 127.0.0.1:\(holder.port)")
            }, "\(lines)")
        // The holder did not set SO_REUSEADDR: once stopped, it would block its own restart.
        #expect(lines.contains { $0.contains("pid \(holder.pid) did not set SO_REUSEADDR") }, "\(lines)")
        #expect(
            lines.suffix(2) == [
                "  stop it with: sockit free \(holder.port)", "  as root: sockit free \(holder.port) --leftovers",
            ])
    }

    @Test func findsAnIPv6ListenerAndABoundUDPSocket() throws {
        let v6 = try Holder(["listen", "--v6"])
        let (_, tcp) = try sockitJSON(["who", String(v6.port), "--tcp", "--json"])
        #expect(
            sockets(tcp).contains {
                $0["local"] as? String == "[::1]:\(v6.port)" && $0["pid"] as? Int == Int(v6.pid)
                    && $0["family"] as? String == "ipv6"
            })

        let udp = try Holder(["listen", "--udp"])
        let (result, document) = try sockitJSON(["who", String(udp.port), "--udp", "--json"])
        #expect(result.status == 0)
        let entry = try #require(sockets(document, family: "ipv4").first)
        #expect(entry["protocol"] as? String == "udp")
        #expect(entry["state"] as? String == "UNCONN")
        #expect(entry["pid"] as? Int == Int(udp.pid))
        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["protocol"] as? String == "udp")
        #expect(verdict["bindable"] as? Bool == false)
    }

    /// Regression: names were copied out of each readdir entry as 256 bytes, reading past the end
    /// of readdir's buffer for a late, short entry (AddressSanitizer: heap-buffer-overflow).
    @Test func findsAListenerBehindThousandsOfDescriptors() throws {
        let holder = try Holder(["listen", "--fds", "3000"])
        let (result, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let listener = try #require(sockets(document).first { $0["state"] as? String == "LISTEN" })
        #expect(listener["pid"] as? Int == Int(holder.pid))
        #expect((listener["fd"] as? Int ?? 0) > 3000)
    }

    @Test func everyHolderOfAForkedSocketIsListed() throws {
        let holder = try Holder(["listen", "--fork"])
        let childPID = try #require(Int(holder.fields[2]))
        let (_, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        let pids = Set(
            sockets(document, family: "ipv4").filter { $0["state"] as? String == "LISTEN" }.compactMap {
                $0["pid"] as? Int
            })
        #expect(pids == [Int(holder.pid), childPID])
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to run sockit as another user"))
    func anotherUsersHolderIsHiddenNeverFree() throws {
        let holder = try Holder(["listen"])
        let result = try TestSupport.run(
            "/usr/bin/setpriv",
            [
                "--reuid=nobody", "--regid=nogroup", "--clear-groups", TestSupport.sockitBinary, "who",
                "127.0.0.1:\(holder.port)", "--tcp", "--json",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let listener = try #require(sockets(document).first { $0["state"] as? String == "LISTEN" })
        #expect(listener["hidden"] as? Bool == true)
        #expect(listener["pid"] is NSNull)
        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["bindable"] as? Bool == false)
        #expect(verdict["kind"] as? String == "in_use_hidden")
        #expect((document["unreadable_processes"] as? Int ?? 0) > 0)
    }

    /// In a network namespace of its own where it can (root): a port free here may be taken by
    /// a parallel test's connection before sockit looks; nothing uses any port there.
    @Test func nothingOnThePortExitsOne() throws {
        let port = try freePort()
        let ownNamespace = geteuid() == 0 && access("/usr/bin/unshare", X_OK) == 0
        let result =
            ownNamespace
            ? try TestSupport.run("/usr/bin/unshare", ["-n", TestSupport.sockitBinary, "who", String(port), "--tcp"])
            : try TestSupport.sockit(["who", String(port), "--tcp"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("no socket uses port \(port)"))
        #expect(result.stdout.contains("bind 0.0.0.0:\(port) (tcp): free: nothing holds it"))
    }
}
