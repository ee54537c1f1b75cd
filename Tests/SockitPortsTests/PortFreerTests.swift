import Sockit
import SockitPorts
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `PortFreer.free` called in-process: the whole sequence `sockit free` runs, from Swift.
@Suite("PortFreer.free")
struct PortFreerTests {
    /// A holder that exits on SIGTERM: signalled once, never killed, and the port binds after.
    @Test func stopsAPoliteHolderAndReportsWhatItDid() async throws {
        let holder = try Holder(["listen"])
        var events: [FreeProgress] = []
        let report = try await PortFreer().free(
            port: holder.port, transports: [.tcp], verdictAddress: .ipv4(.loopback(port: holder.port)),
            grace: .seconds(10), progress: { events.append($0) })
        #expect(report.outcome == .stopped)
        #expect(report.candidates.map(\.holder.pid) == [holder.pid])
        #expect(report.signalled == [holder.pid])
        #expect(report.killed == [] && report.skipped == [] && report.stillAlive == [])
        #expect(report.verdict?.kind == .free)
        #expect(report.isFree)
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
        #expect(events.contains { if case .signalled(holder.pid, SIGTERM) = $0 { true } else { false } })
        #expect(events.contains { if case .exited(holder.pid, _) = $0 { true } else { false } })
        #expect(!events.contains { if case .escalated = $0 { true } else { false } })
        // Free indeed: a server binds it without SO_REUSEADDR.
        let server = try Socket(.ipv4, .stream)
        try server.bind(to: .ipv4(.loopback(port: holder.port)))
    }

    /// A holder that ignores SIGTERM is sent SIGKILL once the grace time is over.
    @Test func killsAHolderThatIgnoresTerm() async throws {
        let holder = try Holder(["listen", "--ignore-term"])
        var events: [FreeProgress] = []
        let report = try await PortFreer().free(
            port: holder.port, transports: [.tcp], grace: .milliseconds(300), progress: { events.append($0) })
        #expect(report.outcome == .stopped)
        #expect(report.signalled == [holder.pid])
        #expect(report.killed == [holder.pid])
        #expect(report.stillAlive == [])
        #expect(report.isFree, "\(String(describing: report.verdict))")
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGKILL)
        #expect(events.contains { if case .escalated(holder.pid) = $0 { true } else { false } })
    }

    /// A port only a UDP socket holds: the final bind is tried for UDP, not TCP.
    ///
    /// The holder's UDP port number may also be a TCP port of some other test's connection (the
    /// two transports draw ephemeral ports from the same range, and the suite leaves thousands
    /// of connections in TIME-WAIT): then TCP is the right check, and the sample says nothing.
    /// Such a holder is replaced before `free` runs, and a sample spoilt while it ran is taken
    /// again, 20 times at most.
    @Test func aUDPHoldersPortIsCheckedWithAUDPBind() async throws {
        func tcpSockets(_ port: UInt16) throws -> [PortSocket] {
            try SocketTable().sockets(SocketQuery(port: port, transports: [.tcp]))
        }
        for _ in 0..<20 {
            let holder = try Holder(["listen", "--udp"])
            if try !tcpSockets(holder.port).isEmpty { continue }
            let report = try await PortFreer().free(port: holder.port, grace: .seconds(10))
            #expect(report.signalled == [holder.pid])
            #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
            if report.verdict?.transport == .tcp, try !tcpSockets(holder.port).isEmpty { continue }
            #expect(report.verdict?.transport == .udp)
            #expect(report.isFree)
            return
        }
        Issue.record("every UDP holder's port was also in use for TCP")
    }

    /// `confirm` sees the candidates before any signal; no means nothing is signalled.
    @Test func aDeclinedConfirmationSignalsNothing() async throws {
        let holder = try Holder(["listen"])
        var asked: [Int32] = []
        let report = try await PortFreer().free(
            port: holder.port, transports: [.tcp],
            confirm: { candidates in
                asked = candidates.map(\.holder.pid)
                return false
            })
        #expect(asked == [holder.pid])
        #expect(report.outcome == .declined)
        #expect(report.signalled == [])
        #expect(report.verdict == nil)
        #expect(holder.isAlive)
    }
}

/// A listener's SO_REUSEADDR, read from its own socket: what decides whether its restart binds.
@Suite("PortInspector: a listener's reuse options")
struct ListenerReuseTests {
    @Test(arguments: [(["listen"], false), (["listen", "--reuse"], true)])
    func theListenersOwnSettingIsRead(arguments: [String], reuse: Bool) throws {
        let holder = try Holder(arguments)
        let report = try PortInspector().report(port: holder.port, transports: [.tcp])
        let listener = try #require(
            report.local.first { $0.socket.state == .listen && $0.socket.local.domain == .ipv4 })
        #expect(listener.holders.map(\.pid) == [holder.pid])
        #expect(listener.reuseAddress == reuse)
        #expect(listener.reusePort == false)
        #expect(listener.restartWillBeBlocked == !reuse)
        // The diagnosis of a bind that fails on that port says the same.
        let diagnosis = try #require(
            PortInspector().diagnoseAddressInUse(
                .ipv4(.loopback(port: holder.port)), type: .stream, reuseAddressWasSet: true))
        #expect(diagnosis.explanation.contains { $0.contains("did not set SO_REUSEADDR") } == !reuse)
        #expect(diagnosis.remedies.contains(.destroyLeftovers(port: holder.port)) == !reuse)
        // Listed (`who` without a port: the search's own threads read it, from the holder found).
        let listing = try PortInspector().listening(ports: holder.port...holder.port, transports: [.tcp])
        let listed = try #require(listing.entries.first { $0.socket.local.domain == .ipv4 })
        #expect(listed.holders.map(\.pid) == [holder.pid])
        #expect(listed.reuseAddress == reuse)
        #expect(listed.reusePort == false)
    }
}

/// Every listener of the machine, or of a range of ports, as `ss -tulpn` lists them.
@Suite("PortInspector.listening")
struct ListeningTests {
    @Test func everyListenerAndOnlyListenersInTheRange() throws {
        let (tcp, tcpAddress) = try TestSupport.loopbackListener()
        let (tcp6, tcp6Address) = try TestSupport.loopbackListener(ipv6: true)
        let udp = try Socket(.ipv4, .datagram)
        try udp.bind(to: .ipv4(.loopback(port: 0)))
        let udpAddress = try udp.localAddress()
        // A connection to the TCP listener: its two ends are not listeners.
        let client = try connectClient(tcpAddress)
        let (accepted, _) = try tcp.accept()
        let mine = Set([tcpAddress, tcp6Address, udpAddress].map { "\($0)" })

        let all = try PortInspector().listening()
        let listed = all.entries.filter { mine.contains("\($0.socket.local)") }
        #expect(Set(listed.map { "\($0.socket.local)" }) == mine)
        #expect(listed.allSatisfy { $0.holders.contains { $0.pid == getpid() } && $0.side == .local })
        #expect(
            all.entries.allSatisfy {
                $0.socket.state == .listen || ($0.socket.transport == .udp && $0.socket.remote == nil)
            })
        let ports = all.entries.map { $0.socket.local.port ?? 0 }
        #expect(ports == ports.sorted())

        let low = [tcpAddress, tcp6Address, udpAddress].map { $0.port! }.min()!
        let high = [tcpAddress, tcp6Address, udpAddress].map { $0.port! }.max()!
        let range = try PortInspector().listening(ports: low...high)
        #expect(range.entries.allSatisfy { (low...high).contains($0.socket.local.port ?? 0) })
        #expect(Set(range.entries.map { "\($0.socket.local)" }).isSuperset(of: mine))
        let tcpOnly = try PortInspector().listening(ports: low...high, transports: [.tcp])
        #expect(tcpOnly.entries.allSatisfy { $0.socket.transport == .tcp })
        _ = (tcp6, client, accepted)
    }
}
