import Logging
import Sockit
import SockitServer
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `UDPEchoServer` driven in-process: it reads and answers in batches (`recvmmsg`/`sendmmsg`),
/// and each reply must still go to its own datagram's sender, whole.
@Suite("UDPEchoServer in-process: batches keep each sender, every size, every datagram")
struct UDPEchoServerTests {
    /// Runs a UDP echo server on 127.0.0.1:0 for the duration of `body`.
    private func withServer(_ body: (SocketAddress) async throws -> Void) async throws {
        let bound = AsyncStream.makeStream(of: SocketAddress.self)
        let configuration = EchoConfiguration(address: try SocketAddress("127.0.0.1:0"))
        let server = UDPEchoServer(configuration: configuration, logger: Logger(label: "test")) {
            bound.continuation.yield($0)
        }
        let running = Task {
            defer { bound.continuation.finish() }
            try await server.run()
        }
        var addresses = bound.stream.makeAsyncIterator()
        guard let address = await addresses.next() else {
            try await running.value
            Issue.record("the server returned before it listened")
            return
        }
        do {
            try await body(address)
        } catch {
            running.cancel()
            _ = try? await running.value
            throw error
        }
        running.cancel()
        try await running.value
    }

    private func client(timeout: Duration = .seconds(5)) throws -> Socket {
        let socket = try Socket(.ipv4, .datagram)
        try socket.bind(to: SocketAddress("127.0.0.1:0"))
        try socket.setOption(.receiveTimeout, timeout)
        return socket
    }

    /// A datagram that says who sent it and which one it is, `size` bytes (at least 16).
    private func message(client: Int, sequence: Int, size: Int = 48) -> [UInt8] {
        let head = Array("c\(client) s\(sequence) ".utf8)
        return head + payload(max(0, size - head.count), seed: UInt64(client * 1000 + sequence))
    }

    @Test("64 clients send at once, 4 rounds: each gets exactly its own echoes, from the server's address")
    func everySenderGetsItsOwnReplies() async throws {
        try await withServer { server in
            let clients = try (0..<64).map { _ in try client() }
            for round in 0..<4 {
                // All send before any reads: the server's batches mix the clients.
                for (index, socket) in clients.enumerated() {
                    _ = try socket.send(message(client: index, sequence: round), to: server)
                }
                for (index, socket) in clients.enumerated() {
                    let (reply, sender) = try socket.receiveFrom()
                    #expect(reply == message(client: index, sequence: round), "client \(index), round \(round)")
                    #expect(sender == server)
                }
            }
            // Nothing more arrives: no client got another's echo on top of its own.
            for (index, socket) in clients.enumerated() {
                let extra = try socket.receiveFrom(timeout: .zero)
                #expect(extra == nil, "client \(index) got one more: \(extra.map { $0.bytes.count } ?? 0) bytes")
            }
        }
    }

    @Test("bursts of 100 datagrams of varying sizes (more than a batch): each comes back whole, once")
    func burstLargerThanABatch() async throws {
        try await withServer { server in
            let socket = try client()
            for burst in 0..<3 {
                var sent: [[UInt8]] = []
                for sequence in 0..<100 {
                    // Sizes go up and down, so a slot that held a short datagram gets a long one.
                    let size = 16 + (sequence * 37 + burst * 101) % 580
                    let datagram = message(client: burst, sequence: sequence, size: size)
                    sent.append(datagram)
                    _ = try socket.send(datagram, to: server)
                }
                var echoed: [[UInt8]] = []
                for _ in 0..<sent.count {
                    echoed.append(try socket.receiveFrom().0)
                }
                #expect(
                    echoed.sorted { $0.lexicographicallyPrecedes($1) }
                        == sent.sorted { $0.lexicographicallyPrecedes($1) })
            }
        }
    }

    @Test("the largest UDP datagram (65,507 bytes) in a batch of small ones comes back whole, not truncated")
    func largestDatagramIsNotTruncated() async throws {
        try await withServer { server in
            let socket = try client()
            let largest = payload(65507, seed: 7)
            let small = (0..<5).map { message(client: 0, sequence: $0) }
            _ = try socket.send(small[0], to: server)
            _ = try socket.send(largest, to: server)
            for datagram in small.dropFirst() { _ = try socket.send(datagram, to: server) }
            var echoed: [[UInt8]] = []
            for _ in 0..<6 { echoed.append(try socket.receiveFrom(maxBytes: 65536).0) }
            #expect(echoed.contains(largest), "sizes echoed: \(echoed.map(\.count))")
            #expect(Set(echoed.filter { $0.count < 100 }) == Set(small))
        }
    }
}

/// The batch calls of the library: `Socket.receiveDatagrams`/`sendDatagrams` and
/// `AsyncUDPSocket.receive(maxCount:)`/`send(_:)`.
@Suite("Datagram batches: recvmmsg and sendmmsg through Socket and AsyncUDPSocket")
struct DatagramBatchTests {
    private func bound() throws -> Socket {
        let socket = try Socket(.ipv4, .datagram)
        try socket.bind(to: SocketAddress("127.0.0.1:0"))
        try socket.setOption(.receiveTimeout, .seconds(5))
        return socket
    }

    @Test("a datagram larger than maxBytes is cut and marked truncated; the one after it in the batch is not")
    func truncationIsReported() throws {
        let receiver = try bound()
        let sender = try bound()
        let long = payload(300, seed: 1)
        let short = payload(50, seed: 2)
        _ = try sender.send(long, to: receiver.localAddress())
        _ = try sender.send(short, to: receiver.localAddress())
        var datagrams: [Datagram] = []
        for _ in 0..<2 where datagrams.count < 2 {
            datagrams += try receiver.receiveDatagrams(maxCount: 2 - datagrams.count, maxBytes: 100)
        }
        try #require(datagrams.count == 2)
        #expect(datagrams[0].truncated)
        #expect(datagrams[0].bytes == Array(long.prefix(100)))
        #expect(!datagrams[1].truncated)
        #expect(datagrams[1].bytes == short)
        #expect(datagrams.allSatisfy { $0.address == (try? sender.localAddress()) })
    }

    @Test("a blocking receiveDatagrams returns what is queued at once, without waiting for maxCount")
    func blockingBatchWaitsForOneOnly() throws {
        let receiver = try bound()
        try receiver.setOption(.receiveTimeout, .seconds(10))
        let sender = try bound()
        _ = try sender.send(Array("only one".utf8), to: receiver.localAddress())
        let start = ContinuousClock.now
        let datagrams = try receiver.receiveDatagrams(maxCount: 8)
        #expect(datagrams.map(\.bytes) == [Array("only one".utf8)])
        #expect(ContinuousClock.now - start < .seconds(5), "waited for more than the one queued")
    }

    @Test("receiveDatagrams bounds what it is asked for: any maxCount and maxBytes, no trap")
    func outlandishBatchSizesAreBounded() throws {
        let receiver = try bound()
        let sender = try bound()
        for _ in 0..<2 { _ = try sender.send(Array("bounded".utf8), to: receiver.localAddress()) }
        // Int.max datagrams of 2 KiB would overflow count * room: at most 1,024 are asked for.
        let first = try receiver.receiveDatagrams(maxCount: .max, maxBytes: 2048, flags: CInt(MSG_DONTWAIT))
        #expect(first.map(\.bytes) == [Array("bounded".utf8), Array("bounded".utf8)])
        _ = try sender.send(Array("room".utf8), to: receiver.localAddress())
        let second = try receiver.receiveDatagrams(maxCount: 1, maxBytes: .max, flags: CInt(MSG_DONTWAIT))
        #expect(second.map(\.bytes) == [Array("room".utf8)] && second.allSatisfy { !$0.truncated })
    }

    @Test("sendDatagrams stops at a datagram the kernel refuses (EMSGSIZE) and says how many it sent")
    func partialSendIsCounted() throws {
        let receiver = try bound()
        let sender = try bound()
        let to = try receiver.localAddress()
        let batch = [
            Datagram(Array("first".utf8), address: to), Datagram(payload(70000), address: to),
            Datagram(Array("third".utf8), address: to),
        ]
        #expect(try sender.sendDatagrams(batch) == 1)
        #expect(throws: SocketError.self) { try sender.sendDatagrams(Array(batch.dropFirst())) }
        #expect(try sender.sendDatagrams(Array(batch.dropFirst(2))) == 1)
        let received = try receiver.receiveDatagrams(maxCount: 4, maxBytes: 100)
        var all = received
        if all.count < 2 { all += try receiver.receiveDatagrams(maxCount: 4, maxBytes: 100) }
        #expect(all.map(\.bytes) == [Array("first".utf8), Array("third".utf8)])
    }

    @Test(
        "AsyncUDPSocket.receive(maxCount:): several datagrams at once, each with its own sender; send([Datagram]) answers each"
    )
    func asyncBatch() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let server = try AsyncUDPSocket(bindingTo: SocketAddress("127.0.0.1:0"), group: group)
        let clients = try (0..<8).map { _ in try bound() }
        for (index, client) in clients.enumerated() {
            _ = try client.send(Array("from \(index)".utf8), to: server.localAddress)
        }
        var datagrams: [Datagram] = []
        for _ in 0..<8 where datagrams.count < 8 {
            datagrams += try await server.receive(maxCount: 8 - datagrams.count)
        }
        try #require(datagrams.count == 8)
        for (index, client) in clients.enumerated() {
            let from = datagrams.first { $0.bytes == Array("from \(index)".utf8) }
            #expect(from?.address == (try client.localAddress()), "client \(index)")
            #expect(from?.truncated == false)
        }
        // One batch of replies, each to its datagram's sender.
        try await server.send(datagrams.map { Datagram(Array("to ".utf8) + $0.bytes, address: $0.address) })
        for (index, client) in clients.enumerated() {
            let (reply, sender) = try client.receiveFrom()
            #expect(reply == Array("to from \(index)".utf8))
            #expect(sender == server.localAddress)
        }
        server.close()
    }

    @Test("AsyncUDPSocket.send([Datagram]) sends the rest after a partial sendmmsg and throws at a refused one")
    func asyncSendResumesAndThrows() async throws {
        let group = try EventLoopGroup(count: 1)
        defer { group.shutdown() }
        let socket = try AsyncUDPSocket(bindingTo: SocketAddress("127.0.0.1:0"), group: group)
        let receiver = try bound()
        let to = try receiver.localAddress()
        let refused = [Datagram(Array("one".utf8), address: to), Datagram(payload(70000), address: to)]
        await #expect(throws: SocketError.self) { try await socket.send(refused) }
        #expect(try receiver.receiveFrom().0 == Array("one".utf8))
        // More than one batch's worth in one call: all of it arrives, in order.
        let many = (0..<64).map { Datagram(Array("n\($0)".utf8), address: to) }
        try await socket.send(many)
        var got: [[UInt8]] = []
        for _ in 0..<64 { got.append(try receiver.receiveFrom().0) }
        #expect(got == many.map(\.bytes))
        socket.close()
    }
}
