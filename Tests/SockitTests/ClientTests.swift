import Foundation
import SockitTestSupport
import Testing

@testable import Sockit

/// The client API `sockit send` is built on, against real loopback peers. Every server thread
/// reads (and writes) with a timeout set, so a client that misbehaves fails the test instead of hanging it.
@Suite("StreamClient and DatagramClient: send, half-close, read to EOF, time out")
struct ClientTests {
    /// The server reads the whole request (it ends only at the client's FIN), then answers with
    /// the bytes reversed and closes: the reply comes back whole, after the half-close.
    @Test func streamExchangeHalfClosesAndReadsToEndOfFile() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let request = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let server = Thread {
            guard let (connection, _) = try? listener.accept() else { return }
            try? connection.setOption(.receiveTimeout, .seconds(10))
            let whole = (try? connection.receiveAll(limit: 1 << 20)) ?? []
            try? connection.sendAll(whole.reversed())
            try? connection.close()
        }
        server.start()
        let client = try StreamClient(connectingTo: address, timeout: .seconds(10))
        let reply = try client.exchange(request)
        #expect(reply.count == request.count, "the server saw end-of-file after every byte")
        #expect(reply == request.reversed())
    }

    /// Over ::1 against a server that echoes each chunk as it reads it, with small socket buffers
    /// on both ends (64 KiB asked): 4 MiB is far more than they hold, so the client must read
    /// while it sends.
    @Test func streamExchangeOverlapsSendingAndReceiving() throws {
        let (listener, address) = try TestSupport.loopbackListener(ipv6: true)
        try listener.setOption(.receiveBufferSize, 65536)  // inherited by the accepted connection
        try listener.setOption(.sendBufferSize, 65536)
        let request = (0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let server = Thread {
            guard let (connection, _) = try? listener.accept() else { return }
            try? connection.setOption(.receiveTimeout, .seconds(10))
            try? connection.setOption(.sendTimeout, .seconds(10))
            while let chunk = try? connection.receive(maxBytes: 65536), !chunk.isEmpty {
                guard (try? connection.sendAll(chunk)) != nil else { break }
            }
            try? connection.close()
        }
        server.start()
        let client = try StreamClient(connectingTo: address, timeout: .seconds(10))
        try client.socket.setOption(.receiveBufferSize, 65536)
        try client.socket.setOption(.sendBufferSize, 65536)
        var chunks = 0
        var reply: [UInt8] = []
        try client.exchange(request) { chunk in
            chunks += 1
            reply += chunk
        }
        #expect(reply == request)
        #expect(chunks > 1, "the reply is handed over as it arrives")
    }

    /// A server that accepts nothing and says nothing: the exchange fails after the timeout
    /// with `StreamClient.Timeout`, a condition not met, naming the server.
    @Test func streamExchangeTimesOutWhenThePeerNeverAnswers() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let client = try StreamClient(connectingTo: address, timeout: .milliseconds(200))
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: StreamClient.Timeout.self) { try client.exchange(Array("hello".utf8)) }
        let elapsed = start.duration(to: clock.now)
        #expect(error.peer == address)
        #expect(error.kind == .notMet)
        #expect(error.summary == "no answer from \(address) within 0.2 s (the server neither sent nor closed)")
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(5), "gave up after \(elapsed)")
        _ = listener
    }

    /// A datagram server that answers with the bytes reversed: the reply and its sender come
    /// back; a second wait, with nothing sent, ends with nil after its timeout.
    @Test func datagramRoundTripAndTimeout() throws {
        let server = try Socket(.ipv4, .datagram)
        try server.bind(to: .ipv4(.loopback(port: 0)))
        try server.setOption(.receiveTimeout, .seconds(10))
        let serverAddress = try server.localAddress()
        let responder = Thread {
            guard let (bytes, sender) = try? server.receiveFrom(), let sender else { return }
            _ = try? server.send(bytes.reversed(), to: sender)
        }
        responder.start()

        let client = try DatagramClient(sendingTo: serverAddress)
        // A wrong wait blocks in recvfrom: fail after 10 s rather than hang.
        try client.socket.setOption(.receiveTimeout, .seconds(10))
        try client.send(Array("ping".utf8))
        let reply = try #require(try client.receive(timeout: .seconds(10)))
        #expect(reply.bytes == Array("gnip".utf8))
        #expect(reply.sender == serverAddress)

        let clock = ContinuousClock()
        let start = clock.now
        #expect(try client.receive(timeout: .milliseconds(100)) == nil, "nothing more was sent")
        #expect(start.duration(to: clock.now) >= .milliseconds(100))
    }
}
