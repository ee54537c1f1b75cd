import Sockit
import SockitPorts
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `Leftovers` destroys the closed connections no process holds, and nothing else: tested from
/// the side of the connections that must survive it.
@Suite("Leftovers: destroying what no signal stops")
struct LeftoversTests {
    /// The port's listener lives on, with one connection open both ways and one the server
    /// half-closed (FIN-WAIT-2, its file still open here), beside three connections the server
    /// closed first (TIME-WAIT). Only those three go; the others still carry data both ways
    /// where they can, and the listener still accepts.
    @Test(.enabled(if: geteuid() == 0, "SOCK_DESTROY needs CAP_NET_ADMIN"))
    func onlyTheProcessLessSocketsAreDestroyed() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let port = try #require(address.port)
        for _ in 0..<3 {
            let client = try connectClient(address)
            let (server, _) = try listener.accept()
            try server.close()  // the server closes first: its side goes to TIME-WAIT once the client closes
            #expect(try client.receive(maxBytes: 16).isEmpty)
            try client.close()
        }
        let open = try connectClient(address)
        let (openServer, _) = try listener.accept()
        let halfClosed = try connectClient(address)
        let (halfClosedServer, _) = try listener.accept()
        try halfClosedServer.shutdown(.write)
        #expect(try halfClosed.receive(maxBytes: 16).isEmpty, "the client saw the FIN (and acknowledged it)")

        // On loopback the kernel moves the server ends to TIME-WAIT and FIN-WAIT-2 while the
        // client's close and shutdown run; read the table again (at most 200 times) if not yet.
        var before: [PortSocket] = []
        for _ in 0..<200 {
            before = try SocketTable(mode: .netlink).read(SocketQuery(port: port, localOnly: true, transports: [.tcp]))
                .sockets
            if before.filter({ $0.state == .timeWait }).count == 3 && before.contains(where: { $0.state == .finWait2 })
            {
                break
            }
        }
        #expect(before.filter { $0.state == .timeWait }.count == 3, "\(before.map(\.stateName))")
        #expect(try Leftovers().find(port: port).map(\.stateName) == ["TIME-WAIT", "TIME-WAIT", "TIME-WAIT"])

        let report = try Leftovers().destroy(port: port)
        #expect(report.destroyed.count + report.gone.count == 3)
        #expect(report.destroyed.allSatisfy { $0.state == .timeWait && $0.local.port == port })
        let after = try SocketTable(mode: .netlink).read(SocketQuery(port: port, localOnly: true, transports: [.tcp]))
            .sockets
        #expect(after.filter { $0.state == .timeWait }.isEmpty, "\(after.map(\.stateName))")
        #expect(after.map(\.stateName).sorted() == ["ESTAB", "FIN-WAIT-2", "LISTEN"])

        // The survivors, from their side: data still flows where TCP lets it.
        try open.sendAll(Array("ping".utf8))
        #expect(try receiveExactly(openServer, 4) == Array("ping".utf8))
        try openServer.sendAll(Array("pong".utf8))
        #expect(try receiveExactly(open, 4) == Array("pong".utf8))
        try halfClosed.sendAll(Array("late".utf8))
        #expect(try receiveExactly(halfClosedServer, 4) == Array("late".utf8))
        let another = try connectClient(address)
        let (anotherServer, _) = try listener.accept()
        try another.sendAll([1])
        #expect(try receiveExactly(anotherServer, 1) == [1])
    }
}
