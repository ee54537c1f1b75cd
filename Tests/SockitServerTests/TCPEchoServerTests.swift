import Foundation
import Logging
import Sockit
import SockitServer
import SockitTestSupport
import Synchronization
import Testing

/// `TCPEchoServer` driven in-process, without the `sockit` binary: started on port 0, several
/// clients over two loops, then a shutdown that drains them.
@Suite("TCPEchoServer in-process: start on port 0, echo every client, drain on shutdown")
struct TCPEchoServerTests {
    /// Set once `shutdown()` has returned.
    final class Finished: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// The server's log messages, kept.
    final class Messages: @unchecked Sendable {  // `stored` only under `lock`
        private let lock = NSLock()
        private var stored: [String] = []
        var all: [String] { lock.withLock { stored } }
        func append(_ message: String) { lock.withLock { stored.append(message) } }
    }

    struct KeepingLogHandler: LogHandler {
        let messages: Messages
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { messages.append(event.message.description) }
    }

    private func payload(_ client: Int, _ phase: String) -> [UInt8] {
        Array("client \(client) \(phase) ".utf8) + [UInt8](repeating: UInt8(client), count: 1000 * (client + 1))
    }

    @Test(
        "every client's bytes come back, also during the drain, which waits for them to close (each backend)",
        arguments: EchoBackend.allCases)
    func echoesEveryClientAndDrains(backend: EchoBackend) async throws {
        var configuration = EchoConfiguration(address: try SocketAddress("127.0.0.1:0"))
        configuration.threads = 2
        configuration.backend = backend
        configuration.drainTimeout = .seconds(60)
        let messages = Messages()
        let logger = Logger(label: "test", factory: { _ in KeepingLogHandler(messages: messages) })
        let server = TCPEchoServer(configuration: configuration, logger: logger)
        let address = try server.start()
        #expect(address.port != 0 && address.port != nil, "the real port of 127.0.0.1:0: \(address)")
        #expect(server.backend == expectedBackend(backend))

        let clients = try (0..<4).map { _ in try connectClient(address, timeout: .seconds(10)) }
        for (index, client) in clients.enumerated() {
            let bytes = payload(index, "before")
            try client.sendAll(bytes)
            #expect(try receiveExactly(client, bytes.count) == bytes, "client \(index)")
        }
        #expect(server.connectionCount == clients.count)

        let finished = Finished()
        let shutdown = Task {
            await server.shutdown()
            finished.value.store(true, ordering: .releasing)
        }
        // The drain begins once the listener is closed: connecting is refused from then on.
        var refused = false
        for _ in 0..<500 where !refused {
            switch Result(catching: { () throws(SocketError) in try connectClient(address, timeout: .seconds(5)) }) {
            case .success(let probe):
                try probe.close()
                try await Task.sleep(for: .milliseconds(10))
            case .failure(let error) where error.errno == .connectionReset:
                // The probe's handshake completed into the accept queue just as the listener
                // closed, which resets what it held: the next probe finds no listener.
                continue
            case .failure(let error):
                #expect(error.errno == .connectionRefused, "\(error)")
                refused = true
            }
        }
        #expect(refused, "still listening 5 s after shutdown() began")
        let returnedEarly = finished.value.load(ordering: .acquiring)
        #expect(!returnedEarly, "shutdown returned with \(clients.count) clients open")

        for (index, client) in clients.enumerated() {
            let bytes = payload(index, "during the drain")
            try client.sendAll(bytes)
            try client.shutdown(.write)
            #expect(try client.receiveAll() == bytes, "client \(index): its bytes, then end-of-file")
            try client.close()
        }
        await shutdown.value
        // What ended the drain is in the log, not timed (other suites may keep the cooperative
        // pool busy): the clients closing, not the drain timeout closing them.
        let log = messages.all
        #expect(log.contains("shutting down: stopped accepting, draining connections"), "\(log)")
        #expect(!log.contains("closing the connections still open"), "the drain ran to its timeout: \(log)")
        #expect(server.connectionCount == 0)
        #expect(server.bufferedBytes == 0)
    }
}
