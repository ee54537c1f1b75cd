import Logging
import Sockit
import SockitTestSupport
import Testing

@testable import SockitServer

#if canImport(Glibc)
import Glibc
#endif

/// The backend a test that asked for `asked` should find serving: io_uring only where asked and
/// where this kernel allows it (else the server falls back to epoll).
func expectedBackend(_ asked: EchoBackend) -> EchoBackend {
    asked == .ioUring && URingSupport.unavailableReason() == nil ? .ioUring : .epoll
}

/// The backend of the in-process servers that do not choose: io_uring when SOCKIT_ECHO_BACKEND
/// is io_uring (.ci/run's second pass over the server suites), else the default.
func environmentBackend() -> EchoBackend {
    getenv("SOCKIT_ECHO_BACKEND").map { String(cString: $0) } == "io_uring" ? .ioUring : .epoll
}

/// `TCPEchoServer` with `backend = .ioUring`: the limits, the back-pressure and the order of the
/// bytes that its completion loop keeps (the drain is `TCPEchoServerTests`, for each backend).
@Suite("TCPEchoServer on io_uring: max connections, idle timeout, the output cap")
struct URingEchoTests {
    static let available = URingSupport.unavailableReason() == nil

    private func start(_ change: (inout EchoConfiguration) -> Void) throws -> TCPEchoServer {
        var configuration = EchoConfiguration(address: try SocketAddress("127.0.0.1:0"))
        configuration.threads = 1
        configuration.backend = .ioUring
        change(&configuration)
        let server = TCPEchoServer(configuration: configuration, logger: Logger(label: "test"))
        try server.start()
        #expect(server.backend == .ioUring)
        return server
    }

    private func waitUntil(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<1000 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test("EchoBackend's names: each case by the name SOCKIT_ECHO_BACKEND and the logs use, nothing else")
    func backendNamesRoundTrip() {
        #expect(EchoBackend.allCases.map(\.rawValue) == ["epoll", "io_uring"])
        #expect(EchoBackend.allCases.allSatisfy { EchoBackend(rawValue: $0.rawValue) == $0 })
        #expect(EchoBackend(rawValue: "ioUring") == nil && EchoBackend(rawValue: "") == nil)
    }

    @Test(
        "beyond maxConnections a new connection is closed at once; a freed slot is reused",
        .enabled(if: URingEchoTests.available))
    func maxConnections() async throws {
        let server = try start { $0.maxConnections = 2 }
        let address = try server.start()
        let first = try connectClient(address)
        let second = try connectClient(address)
        for client in [first, second] {
            try client.sendAll([7])
            #expect(try client.receive(maxBytes: 1) == [7])
        }
        let third = try connectClient(address)
        #expect(try third.receive(maxBytes: 1).isEmpty, "the third connection is closed")
        try first.close()
        #expect(try await waitUntil { server.connectionCount == 1 })
        let fourth = try connectClient(address)
        try fourth.sendAll([9])
        #expect(try fourth.receive(maxBytes: 1) == [9])
        for client in [second, third, fourth] { try client.close() }
        await server.shutdown()
    }

    @Test("idleTimeout closes a quiet connection", .enabled(if: URingEchoTests.available))
    func idleTimeout() async throws {
        let server = try start { $0.idleTimeout = .milliseconds(300) }
        let client = try connectClient(try server.start())
        try client.sendAll([1, 2, 3])
        #expect(try receiveExactly(client, 3) == [1, 2, 3])
        let begin = ContinuousClock.now
        #expect(try client.receive(maxBytes: 1).isEmpty)
        let waited = begin.duration(to: .now)
        #expect(waited >= .milliseconds(250) && waited < .seconds(3), "closed after \(waited)")
        try client.close()
        await server.shutdown()
    }

    @Test(
        "a peer that does not read: its receive stops near pendingWriteLimit, others are served, and once it reads it gets every byte in order",
        .enabled(if: URingEchoTests.available))
    func outputCap() async throws {
        let limit = 64 * 1024
        let server = try start {
            $0.pendingWriteLimit = limit
            $0.listener.sendBufferSize = 4096
            $0.listener.receiveBufferSize = 4096
        }
        let address = try server.start()
        let client = try connectClient(address)
        let message = payload(8 * 1024 * 1024, seed: 9)
        let (sent, peak) = try await pushUntilTheServerStops(client, message, holding: limit, server)
        #expect(sent < message.count, "the server never stopped reading")
        // What the server holds: the buffers its connection keeps. It reached the limit (what
        // stopped the reading: without the cap the server would have taken all 8 MiB), plus what
        // the multishot receive delivered before its cancel took effect, which the load decides:
        // 0.5 to 1.5 MiB measured here under the whole suite (README, "io_uring").
        #expect(peak <= limit + 4 * 1024 * 1024, "the server held \(peak) bytes")
        #expect(peak >= limit, "the server held at most \(peak) bytes")
        // The cap stopped it in the ring: one capped peer never holds enough of the ring's
        // buffers to have its output moved to the heap (which would bound it all the same).
        #expect(server.spilledConnections == 0, "one capped peer put the buffer ring under pressure")

        let other = try connectClient(address)
        try other.sendAll(Array("other".utf8))
        #expect(try receiveExactly(other, 5) == Array("other".utf8))
        try other.close()

        // Now read: every byte sent comes back, in order, and the rest goes through too.
        try await expectEverythingBack(client, message, sent: sent, server)
    }

    /// Sends `message` without blocking until the server holds `limit` bytes and then takes
    /// nothing more for half a second (it stopped reading), or for 60 s at most: a loop slowed
    /// down (a sanitizer, a busy machine) can leave the client's small buffers full for half a
    /// second long before it reaches the limit, so a quiet half second alone proves nothing.
    /// Returns how many bytes were sent, and the most the server held meanwhile: once its
    /// receive stops at the cap, some of what it holds may still drain into the client's socket
    /// buffers (it reads again only once all is sent), so what it holds later can be less.
    /// Each send offers at most `chunk` bytes.
    private func pushUntilTheServerStops(
        _ client: Socket, _ message: [UInt8], holding limit: Int, _ server: TCPEchoServer, chunk: Int = 65536
    ) async throws -> (sent: Int, peak: Int) {
        try client.setNonBlocking(true)
        var sent = 0
        var quiet = 0
        var peak = 0
        let deadline = ContinuousClock.now + .seconds(60)
        while sent < message.count && !(quiet >= 50 && peak >= limit) && ContinuousClock.now < deadline {
            peak = max(peak, server.bufferedBytes)
            let result = try message[sent...].withUnsafeBytes { raw throws(SocketError) in
                try client.sendNonBlocking(UnsafeRawBufferPointer(rebasing: raw[..<min(raw.count, chunk)]))
            }
            if case .processed(let count) = result {
                sent += count
                quiet = 0
            } else {
                quiet += 1
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        return (sent, max(peak, server.bufferedBytes))
    }

    /// Reads the echo of `message` (bounded in rounds), sending the rest of it (from `sent`) as
    /// the server takes it; expects every byte back in order, then closes the client and shuts
    /// the server down once it holds nothing.
    private func expectEverythingBack(
        _ client: Socket, _ message: [UInt8], sent: Int, _ server: TCPEchoServer
    ) async throws {
        var sent = sent
        try client.setNonBlocking(false)
        var received: [UInt8] = []
        received.reserveCapacity(message.count)
        var rounds = 0
        while received.count < message.count && rounds < 100_000 {
            rounds += 1
            if sent < message.count {
                try client.setNonBlocking(true)
                let result = try message[sent...].withUnsafeBytes { raw throws(SocketError) in
                    try client.sendNonBlocking(UnsafeRawBufferPointer(rebasing: raw[..<min(raw.count, 65536)]))
                }
                if case .processed(let count) = result { sent += count }
                try client.setNonBlocking(false)
            }
            let chunk = try client.receive(maxBytes: 65536)
            if chunk.isEmpty { break }
            received += chunk
        }
        #expect(received.count == message.count)
        #expect(received == message, "the echoed bytes differ from those sent")
        try client.close()
        #expect(try await waitUntil { server.bufferedBytes == 0 })
        await server.shutdown()
    }

    @Test(
        "a multishot receive the kernel ends on its own (its completion queue overflowed) is armed again: a peer that does not read still fills its cap, then gets every byte in order",
        .enabled(if: URingEchoTests.available))
    func receiveEndedEarlyIsArmedAgain() async throws {
        // A completion queue of 8: a burst of receives overflows it, and the kernel ends the
        // multishot receive whose completion did not fit. The cap: 16 of the 16 KiB buffers.
        let limit = 256 * 1024
        let server = try start {
            $0.pendingWriteLimit = limit
            $0.listener.sendBufferSize = 4096
            $0.listener.receiveBufferSize = 1024 * 1024
            $0.uringQueueSizes = (8, 8)
        }
        let address = try server.start()
        // A client that takes little of the echo (its receive buffer fixed small): the server's
        // sends stop, and what it reads stays queued.
        let client = try Socket(.ipv4, .stream)
        try client.setOption(.receiveBufferSize, 4096)
        try client.connect(to: address, timeout: .seconds(10))
        try client.setOption(.receiveTimeout, .seconds(10))
        let message = payload(16 * 1024 * 1024, seed: 12)
        // Sends of up to 1 MiB: more arrives between two of the loop's waits than 8 completions hold.
        let (sent, peak) = try await pushUntilTheServerStops(
            client, message, holding: limit, server, chunk: 1024 * 1024)
        #expect(sent < message.count, "the server never stopped reading")
        #expect(server.receivesArmedAgain > 0, "no receive ended early: the test did not test it")
        #expect(peak >= limit, "the server stopped reading at \(peak) bytes, under its cap of \(limit)")
        try await expectEverythingBack(client, message, sent: sent, server)
    }

    @Test(
        "peers that stop reading while the buffer ring runs short: their output moves to the heap, and once they read each gets every byte in order",
        .enabled(if: URingEchoTests.available))
    func spilledOutputComesBackInOrder() async throws {
        // 64 buffers (the fewest; pressure from 48 held), 16 a connection at the cap: 8 peers
        // that do not read hold more than the ring can give.
        let server = try start {
            $0.maxBufferedBytes = 512 * 1024
            $0.listener.sendBufferSize = 4096
            $0.listener.receiveBufferSize = 4096
        }
        let address = try server.start()
        let messages = (0..<8).map { payload(1024 * 1024, seed: 100 + UInt64($0)) }
        var clients: [Socket] = []
        for _ in messages.indices {
            let client = try connectClient(address)
            try client.setNonBlocking(true)
            clients.append(client)
        }
        var sent = [Int](repeating: 0, count: messages.count)
        // Push round robin until nothing more is taken for half a second (the server stopped
        // reading from all of them).
        func push(_ index: Int) throws -> Bool {
            guard sent[index] < messages[index].count else { return false }
            let result = try messages[index][sent[index]...].withUnsafeBytes { raw throws(SocketError) in
                try clients[index].sendNonBlocking(UnsafeRawBufferPointer(rebasing: raw[..<min(raw.count, 65536)]))
            }
            guard case .processed(let count) = result else { return false }
            sent[index] += count
            return count > 0
        }
        // Quiet alone is not enough (a slowed loop leaves the small buffers full for half a
        // second before it has spilled anything): also until an output has left the ring, for
        // 60 s at most.
        var quiet = 0
        let deadline = ContinuousClock.now + .seconds(60)
        for _ in 0..<10_000 where !(quiet >= 50 && server.spilledConnections > 0) && ContinuousClock.now < deadline {
            var progress = false
            for index in clients.indices where try push(index) { progress = true }
            if progress {
                quiet = 0
            } else {
                quiet += 1
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        #expect(server.spilledConnections > 0, "no output left the ring (sent \(sent))")
        #expect(server.bufferedBytes <= 512 * 1024 + 4 * 1024 * 1024, "the server holds \(server.bufferedBytes) bytes")

        // Each peer now reads: every byte it sent comes back, in order, and the rest goes through.
        for (index, client) in clients.enumerated() {
            var received: [UInt8] = []
            received.reserveCapacity(messages[index].count)
            var buffer = [UInt8](repeating: 0, count: 65536)
            for _ in 0..<200_000 where received.count < messages[index].count {
                _ = try push(index)
                guard try client.poll(for: Int16(POLLIN), timeout: .seconds(10)) else { break }
                let result = try buffer.withUnsafeMutableBytes { raw throws(SocketError) in
                    try client.receiveNonBlocking(into: raw)
                }
                if case .processed(let count) = result {
                    if count == 0 { break }
                    received += buffer[0..<count]
                }
            }
            expectEchoed(received, messages[index], peer: index)
            try client.close()
        }
        #expect(try await waitUntil { server.bufferedBytes == 0 })
        await server.shutdown()
    }

    @Test(
        "input that comes while a connection's output is on the heap joins it there: every byte back, in order",
        .enabled(if: URingEchoTests.available))
    func inputWhileSpilledJoinsTheHeap() async throws {
        // The default budget (256 MiB) over 1,024 buffers of 16 KiB: the ring runs short long
        // before the budget is over. A connection holds at most 16 buffers (256 KiB counted a
        // buffer each); 64 peers that do not read, each holding 12 or 13 (a first 64 KiB, then
        // small messages, a buffer each), hold three quarters of the ring: their output moves to
        // the heap with their receive still armed, and what they send next lands there too.
        let server = try start { $0.listener.sendBufferSize = 4096 }
        let address = try server.start()
        let peers = 64
        var clients: [Socket] = []
        for _ in 0..<peers {
            let client = try Socket(.ipv4, .stream)
            try client.setOption(.receiveBufferSize, 4096)
            try client.connect(to: address, timeout: .seconds(5))
            try client.setOption(.tcpNoDelay, true)
            // A byte lost fails the read below in 10 s instead of waiting forever.
            try client.setOption(.receiveTimeout, .seconds(10))
            clients.append(client)
        }
        var sent = [[UInt8]](repeating: [], count: peers)
        // Each message different (its own seed), so that one out of order shows.
        var seed: UInt64 = 7
        func message(_ size: Int) -> [UInt8] {
            seed += 1
            return payload(size, seed: seed)
        }
        for index in clients.indices {
            let bytes = message(64 * 1024)
            try clients[index].sendAll(bytes)
            sent[index] += bytes
        }
        // A small message, waited for until the server holds it (one buffer more).
        func sendSmall(_ index: Int) async throws {
            let before = server.bufferedBytes
            let bytes = message(300)
            try clients[index].sendAll(bytes)
            sent[index] += bytes
            _ = try await waitUntil { server.bufferedBytes != before }
        }
        for _ in 0..<9 where server.spilledConnections == 0 {
            for index in clients.indices where server.spilledConnections == 0 { try await sendSmall(index) }
        }
        #expect(server.spilledConnections > 0, "no output left the ring (\(server.bufferedBytes) bytes held)")
        // Input while output is on the heap.
        for index in clients.indices {
            let bytes = message(300)
            try clients[index].sendAll(bytes)
            sent[index] += bytes
        }
        #expect(try await waitUntil { server.spilledReceives > 0 }, "no input came while output was on the heap")

        // Each peer reads: every byte it sent comes back, in order.
        for (index, client) in clients.enumerated() {
            let received = try receiveExactly(client, sent[index].count)
            expectEchoed(received, sent[index], peer: index)
            try client.close()
        }
        #expect(try await waitUntil { server.bufferedBytes == 0 })
        await server.shutdown()
    }

    /// Every byte `peer` sent came back, in order. Compared before the `#expect`: an `#expect` of
    /// two unequal arrays of a MiB diffs them for minutes.
    private func expectEchoed(
        _ received: [UInt8], _ sent: [UInt8], peer: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(
            received.count == sent.count, "peer \(peer) got \(received.count) of \(sent.count) bytes",
            sourceLocation: sourceLocation)
        let same = received == sent
        #expect(same, "peer \(peer): the echoed bytes differ from those sent", sourceLocation: sourceLocation)
    }

    @Test("URingSpillQueue: appended chunks come out in order through partial sends, each freed once sent")
    func spillQueueKeepsOrder() {
        let queue = URingSpillQueue()
        let bytes = payload(300_000, seed: 7)
        var expected: [UInt8] = []
        var out: [UInt8] = []
        var next = 0
        var generator = SystemRandomNumberGenerator()
        func append() {
            let count = min(Int.random(in: 1...4_096, using: &generator), bytes.count - next)
            bytes[next..<(next + count)].withUnsafeBytes { queue.append($0.baseAddress!, count) }
            expected += bytes[next..<(next + count)]
            next += count
        }
        // 100 chunks first, then appends of 1 B to 4 KiB and sends of 1 B to 2 KiB interleaved:
        // the queue stays long enough to compact its list of chunks, and empties at the end.
        for _ in 0..<100 { append() }
        for _ in 0..<10_000 where out.count < bytes.count {
            if next < bytes.count && Bool.random(using: &generator) { append() }
            #expect(queue.count == expected.count - out.count)
            let front = queue.front
            guard front.count > 0 else { continue }
            let sent = min(front.count, Int.random(in: 1...2_048, using: &generator))
            out += front[..<sent]
            queue.consume(sent)
        }
        #expect(out.count == bytes.count && queue.isEmpty)
        let same = out == bytes
        #expect(same, "the bytes came out of the queue in another order")
    }
}
