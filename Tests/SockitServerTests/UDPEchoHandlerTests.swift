import Logging
import Sockit
import SockitTestSupport
import Testing

@testable import SockitServer

/// `UDPEchoHandler` on a loop of its own: the socket is off the selector while the handler
/// reads, so whatever it leaves queued must be reported again.
@Suite("UDPEchoHandler: the socket is watched again after the handler's batches")
struct UDPEchoHandlerTests {
    @Test("100 datagrams queued before the loop looks, one batch per report: every one is echoed")
    func whatABatchLeavesIsReadOnTheNextReport() async throws {
        let server = try Socket(.ipv4, .datagram, nonBlocking: true)
        try server.bind(to: SocketAddress("127.0.0.1:0"))
        let address = try server.localAddress()
        let client = try Socket(.ipv4, .datagram)
        try client.bind(to: SocketAddress("127.0.0.1:0"))
        try client.setOption(.receiveTimeout, .seconds(5))
        // Queued before the handler exists: its first report finds 100, three batches more than
        // the one it may read (32) before it goes back to the loop.
        var sent: [[UInt8]] = []
        for sequence in 0..<100 {
            let datagram = Array("s\(sequence) ".utf8) + payload(40, seed: UInt64(sequence))
            sent.append(datagram)
            _ = try client.send(datagram, to: address)
        }
        let group = try EventLoopGroup(count: 1, start: false)
        let loop = group.loops[0]
        let handler = UDPEchoHandler(socket: server, logger: Logger(label: "test"), batchesPerReport: 1)
        try loop.register(handler, fd: handler.fd, interest: .read)
        group.start()
        var echoed: [[UInt8]] = []
        for _ in 0..<sent.count {
            guard case .success(let reply) = Result(catching: { () throws(SocketError) in try client.receiveFrom() })
            else { break }
            echoed.append(reply.0)
        }
        let box = UnsafeTransfer(handler)
        loop.execute { box.value.close(on: loop) }
        await group.shutdownGracefully()
        try client.close()
        #expect(echoed.count == sent.count, "echoed \(echoed.count) of \(sent.count)")
        #expect(echoed.elementsEqual(sent), "each comes back once, in the order sent")
    }
}
