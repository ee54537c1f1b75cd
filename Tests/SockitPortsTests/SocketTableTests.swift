import Foundation
import Sockit
import SockitTestSupport
import Testing

@_spi(Fuzzing) @testable import SockitPorts

#if canImport(Glibc)
import Glibc
#endif

/// Netlink and `/proc/net` each asked on their own (neither can stand in for the other here),
/// on real sockets in several states, and compared.
@Suite("socket table: netlink and /proc/net, each forced")
struct SocketTableTests {
    /// TCP on one loopback port: a listener, an established connection (both ends: the accepted
    /// socket bound to the port, the client whose peer it is) and a connection in TIME-WAIT (the
    /// server side closed first).
    static func tcpScene(ipv6: Bool) throws -> (port: UInt16, sockets: [Socket]) {
        let (listener, address) = try TestSupport.loopbackListener(ipv6: ipv6)
        let client = try Socket(for: address, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let (accepted, _) = try listener.accept()
        let closer = try Socket(for: address, .stream)
        try closer.connect(to: address, timeout: .seconds(5))
        let (closedFirst, _) = try listener.accept()
        try closedFirst.close()
        try #require(try closer.poll(for: Int16(POLLIN), timeout: .seconds(5)))
        #expect(try closer.receive(maxBytes: 1).isEmpty)  // the FIN
        try closer.close()
        let port = address.port!
        // The server side turns TIME-WAIT when the client's FIN arrives, and the client's
        // LAST-ACK goes once its ACK does: wait for the kernel to settle (no event says so).
        // This family only: a parallel test's socket of the other family may share the number.
        let family: FamilySet = ipv6 ? [.ipv6] : [.ipv4]
        let settled = try TestSupport.eventually {
            let states = try ProcNetTable().sockets(SocketQuery(port: port, transports: [.tcp], families: family))
                .map(\.state)
            return states.sorted { $0.rawValue < $1.rawValue } == [.established, .established, .timeWait, .listen]
        }
        try #require(settled, "the TCP sockets on port \(port) did not settle")
        return (port, [listener, client, accepted])
    }

    /// UDP on one loopback port: a bound socket (UNCONN), and a connected one (ESTAB, bound to a
    /// port of its own) whose peer it is.
    static func udpScene(ipv6: Bool) throws -> (port: UInt16, sockets: [Socket]) {
        let any: SocketAddress = ipv6 ? .ipv6(.loopback(port: 0)) : .ipv4(.loopback(port: 0))
        let bound = try Socket(for: any, .datagram)
        try bound.bind(to: any)
        let address = try bound.localAddress()
        let connected = try Socket(for: any, .datagram)
        try connected.bind(to: any)
        try connected.connect(to: address)
        return (address.port!, [bound, connected])
    }

    /// What both sources must agree on, but the timer's value (it runs between two reads).
    static func key(_ socket: PortSocket) -> String {
        "\(socket.transport) \(socket.stateName) \(socket.local) \(socket.remoteDescription) uid \(socket.uid) "
            + "inode \(socket.inode) timer \(socket.timerKind ?? "-")"
    }

    @Test(arguments: [TransportProtocol.tcp, .udp])
    func netlinkAndProcNetGiveTheSameSockets(transport: TransportProtocol) throws {
        let v4 = transport == .tcp ? try Self.tcpScene(ipv6: false) : try Self.udpScene(ipv6: false)
        let v6 = transport == .tcp ? try Self.tcpScene(ipv6: true) : try Self.udpScene(ipv6: true)
        let netlink = SocketTable(mode: .netlink)
        let proc = SocketTable(mode: .proc)
        let states: [StateSet?] = transport == .tcp ? [nil, [.listen], [.timeWait], [.established]] : [nil, [.close]]
        for (port, family) in [(v4.port, SocketDomain.ipv4), (v6.port, .ipv6)] {
            // Both families (TCP: the one TCPDIAG_GETSOCK dump), this family, the other; the port
            // at either end or only the local one; every state or a few.
            for families in [FamilySet.both, [family], [family == .ipv4 ? .ipv6 : .ipv4]] {
                for localOnly in [false, true] {
                    for states in states {
                        let query = SocketQuery(
                            port: port, localOnly: localOnly, transports: [transport], families: families,
                            states: states)
                        let before = try netlink.read(query)
                        let fromProc = try proc.read(query)
                        let after = try netlink.read(query)
                        let label =
                            "\(transport) port \(port) \(family) \(families) localOnly \(localOnly) "
                            + String(describing: states)
                        #expect(before.fallbacks.isEmpty && fromProc.fallbacks.isEmpty, "\(label)")
                        #expect(
                            Set(before.sockets.map(Self.key)) == Set(fromProc.sockets.map(Self.key)),
                            "\(label): netlink \(before.sockets.map(Self.key)) /proc \(fromProc.sockets.map(Self.key))")
                        #expect(before.sockets.count == fromProc.sockets.count, "\(label)")
                        // A timer read from /proc between two netlink reads lies between them
                        // (less /proc's 10 ms clock ticks).
                        for socket in fromProc.sockets {
                            guard let timer = socket.timerMilliseconds else { continue }
                            let first = before.sockets.first { Self.key($0) == Self.key(socket) }?.timerMilliseconds
                            let last = after.sockets.first { Self.key($0) == Self.key(socket) }?.timerMilliseconds
                            let netlinkTimers = "netlink \(String(describing: first)) then \(String(describing: last))"
                            #expect(
                                first.map { timer <= $0 + 20 } == true && last.map { timer >= $0 - 30 } == true,
                                "\(label): \(Self.key(socket)) /proc \(timer) ms, \(netlinkTimers)")
                        }
                    }
                }
            }
            // What each family's query must hold, so that agreeing on nothing cannot pass.
            let all = try netlink.sockets(SocketQuery(port: port, transports: [transport], families: [family]))
            let expected: [String] =
                transport == .tcp
                ? ["ESTAB local", "ESTAB remote", "LISTEN local", "TIME-WAIT local"]
                : ["ESTAB remote", "UNCONN local"]
            #expect(all.map { "\($0.stateName) \($0.side(for: port).rawValue)" }.sorted() == expected, "\(family)")
            #expect(all.allSatisfy { $0.local.domain == family })
            #expect(all.filter { $0.state != .timeWait }.allSatisfy { $0.inode != 0 && $0.uid == geteuid() })
            let timeWait = all.filter { $0.state == .timeWait }
            #expect(timeWait.allSatisfy { $0.timerKind == "timewait" && $0.timerMilliseconds != nil })
        }
        _ = (v4.sockets, v6.sockets)
    }

    /// A source that always fails with one errno: the policy of `SocketTable` under each.
    struct Failing: SocketTableSource {
        var errno: CInt
        func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket] {
            throw SocketTableError("netlink failed", errno: Errno(rawValue: errno))
        }
    }

    /// `/proc/net` stands in only where netlink is not available, and says so; any other netlink
    /// failure is an error, and forcing netlink makes every failure one.
    @Test func procNetStandsInOnlyWhereNetlinkIsNotAvailable() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let query = SocketQuery(port: address.port!, transports: [.tcp, .udp])
        for errno in [EPROTONOSUPPORT, EAFNOSUPPORT, EACCES, EPERM, ENOENT] {
            let table = SocketTable(mode: .automatic, netlink: Failing(errno: errno), proc: ProcNetTable())
            let reading = try table.read(query)
            #expect(reading.sockets.map(\.stateName) == ["LISTEN"], "\(errno)")
            #expect(reading.fallbacks.map(\.transport) == [.tcp, .udp], "\(errno)")
            #expect(reading.fallbacks.allSatisfy { $0.reason.errno == Errno(rawValue: errno) })
            let forced = SocketTable(mode: .netlink, netlink: Failing(errno: errno), proc: ProcNetTable())
            #expect(throws: SocketTableError.self) { try forced.read(query) }
        }
        for errno in [EPROTO, EINVAL, EMFILE, ENOBUFS, EOPNOTSUPP] {
            let table = SocketTable(mode: .automatic, netlink: Failing(errno: errno), proc: ProcNetTable())
            #expect(throws: SocketTableError.self, "\(errno)") { try table.read(query) }
        }
        // A reply that ends the dump with the kernel's ENOENT (no udp_diag) means unavailable;
        // a malformed reply (EPROTO from the parser) does not.
        var refused = InetDiag.ReplyParser(transport: .udp)
        (le32(20) + le16(3) + le16(2) + le32(1) + le32(0) + le32(UInt32(bitPattern: -ENOENT))).withUnsafeBytes {
            refused.consume($0)
        }
        #expect(SocketTableError("", errno: refused.error).meansUnavailable)
        var malformed = InetDiag.ReplyParser(transport: .udp)
        (le32(200) + le16(3) + le16(2) + le32(1) + le32(0)).withUnsafeBytes { malformed.consume($0) }
        #expect(malformed.error == Errno(rawValue: EPROTO))
        #expect(!SocketTableError("", errno: malformed.error).meansUnavailable)
        _ = listener
    }
}
