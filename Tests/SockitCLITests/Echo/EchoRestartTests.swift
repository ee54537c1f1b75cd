import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The classic scenario: a server with open connections is killed and started again at once.
@Suite("sockit echo: restart")
struct EchoRestartTests {
    /// Opens `count` connections and makes each round-trip a byte, so that they are established
    /// and accepted: killing the server then leaves its side of each in FIN_WAIT/TIME_WAIT.
    private func holdConnections(_ address: SocketAddress, _ count: Int) throws -> [Socket] {
        var sockets: [Socket] = []
        for _ in 0..<count {
            let socket = try connectClient(address)
            try socket.sendAll([0x2a])
            #expect(try socket.receive(maxBytes: 1) == [0x2a])
            sockets.append(socket)
        }
        return sockets
    }

    @Test("kill -9 with connections open, restart on the same port: binds, 50 times in a row")
    func restartFiftyTimes() throws {
        var server = try EchoProcess(["--threads", "1"])
        let address = server.address
        for round in 1...50 {
            let held = try holdConnections(address, 3)
            server.child.signal(SIGKILL)
            #expect(server.child.waitForExit() == 128 + SIGKILL)
            for socket in held {
                // The kernel closed the dead server's side: the client reads end-of-file.
                #expect(try socket.receive(maxBytes: 1).isEmpty)
                try socket.close()
            }
            do {
                server = try EchoProcess(["--threads", "1"], address: "\(address)")
            } catch {
                Issue.record("round \(round): restart failed: \(error)")
                return
            }
            #expect(server.address == address)
        }
        let client = try connectClient(address)
        try client.sendAll(Array("still here".utf8))
        #expect(try receiveExactly(client, 10) == Array("still here".utf8))
    }

    @Test("--no-reuse-address: the same sequence fails with the error that explains TIME_WAIT")
    func noReuseAddressFails() throws {
        // On epoll: its descriptors close as the process dies, so its side closes first and
        // keeps the port in TIME_WAIT. An io_uring server's sockets are closed by the ring's
        // teardown, after the clients here closed theirs: then no TIME_WAIT holds the port.
        let server = try EchoProcess(["--threads", "1", "--no-reuse-address", "--epoll"])
        let held = try holdConnections(server.address, 3)
        server.child.signal(SIGKILL)
        #expect(server.child.waitForExit() == 128 + SIGKILL)
        for socket in held { try socket.close() }
        let restart = try ChildProcess(sockitBinary(), ["echo", "\(server.address)", "--no-reuse-address"])
        #expect(restart.waitForExit(timeout: .seconds(20)) == 2)
        let message = restart.stderr
        #expect(
            message.hasPrefix("sockit: cannot bind \(server.address): address already in use (EADDRINUSE, errno 98)"))
        #expect(message.contains("TIME_WAIT"))
        #expect(message.contains("SO_REUSEADDR"))
        #expect(restart.readStdout(timeout: .seconds(1)).isEmpty)
    }

    @Test("a port held by a live listener: exit 2 with the bind error and its hints")
    func bindFailureExitsTwo() throws {
        let holder = try Socket(.ipv4, .stream)
        try holder.bind(to: SocketAddress("127.0.0.1:0"))
        try holder.listen()
        let address = try holder.localAddress()
        let child = try ChildProcess(sockitBinary(), ["echo", "\(address)"])
        #expect(child.waitForExit(timeout: .seconds(20)) == 2)
        #expect(
            child.stderr.hasPrefix("sockit: cannot bind \(address): address already in use (EADDRINUSE, errno 98)\n  "))
        // The CLI's diagnoser names the holder: this test process.
        #expect(child.stderr.contains("  held by pid \(getpid()) ("))
        #expect(child.stderr.contains("in LISTEN on \(address)"))
        // This test's listener has no SO_REUSEADDR: the advice adds what frees its leftovers.
        #expect(
            child.stderr.hasSuffix(
                "  stop it with: sockit free \(address.port!)\n  as root: sockit free \(address.port!) --leftovers\n"))
    }
}

@Suite("sockit echo and send: options and errors")
struct EchoOptionTests {
    @Test("--reuse-port: two servers listen on one port together")
    func reusePortShares() throws {
        let first = try EchoProcess(["--threads", "1", "--reuse-port"])
        let second = try EchoProcess(["--threads", "1", "--reuse-port"], address: "\(first.address)")
        #expect(second.address == first.address)
        let client = try connectClient(first.address)
        try client.sendAll(Array("shared".utf8))
        #expect(try receiveExactly(client, 6) == Array("shared".utf8))
    }

    @Test("without --reuse-port a second server on a listening port fails with exit 2")
    func secondServerFails() throws {
        let first = try EchoProcess(["--threads", "1"])
        let second = try ChildProcess(sockitBinary(), ["echo", "\(first.address)", "--threads", "1"])
        #expect(second.waitForExit(timeout: .seconds(20)) == 2)
        #expect(second.stderr.hasPrefix("sockit: cannot bind \(first.address): address already in use"))
    }

    @Test("sockit send to a port nobody listens on: exit 2, connection refused explained")
    func sendRefused() throws {
        let unused = try Socket(.ipv4, .stream)
        try unused.bind(to: SocketAddress("127.0.0.1:0"))
        let address = try unused.localAddress()
        let (status, out, stderr) = try shell("\(sockitBinary()) send \(address) hello")
        #expect(status == 2)
        #expect(out.isEmpty)
        #expect(
            stderr.hasPrefix("sockit: cannot connect to \(address): connection refused (ECONNREFUSED, errno 111)\n"))
    }
}
