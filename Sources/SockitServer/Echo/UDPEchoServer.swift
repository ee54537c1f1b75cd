#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockit
import Logging
import ServiceLifecycle
import Sockit
import Synchronization

/// The UDP echo server: each datagram goes back to its sender. One socket on one loop (a
/// datagram socket has no connections to spread over loops). A `Service`: on a graceful
/// shutdown it closes the socket and returns (UDP has nothing to drain).
public final class UDPEchoServer: Service, Sendable {
    private let configuration: EchoConfiguration
    private let logger: Logger
    private let onListening: @Sendable (SocketAddress) -> Void

    public init(
        configuration: EchoConfiguration, logger: Logger,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let socket = try configuration.listener.makeListener(type: .datagram)
        let address = try socket.localAddress()
        let group = try EventLoopGroup(count: 1, start: false)
        let loop = group.loops[0]
        let handler = UDPEchoHandler(socket: socket, logger: logger)
        try loop.register(handler, fd: handler.fd, interest: .read)
        group.start()
        logger.info("listening", metadata: ["address": "\(address)", "protocol": "udp"])
        onListening(address)
        try? await gracefulShutdown()
        let box = UncheckedBox(handler)
        loop.execute { box.value.close(on: loop) }
        await group.shutdownGracefully()
        logger.info("stopped")
    }
}

final class UDPEchoHandler: EventHandler {
    let socket: Socket
    let fd: CInt
    let logger: Logger

    init(socket: Socket, logger: Logger) {
        self.socket = socket
        self.fd = socket.fileDescriptor
        self.logger = logger
    }

    override func handle(_ event: ReadyEvent, on loop: EventLoop) {
        let buffer = loop.readBuffer
        var storage = sockaddr_storage()
        for _ in 0..<64 {
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let received = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(fd, buffer.baseAddress, buffer.count, CInt(MSG_DONTWAIT), $0, &length)
                }
            }
            if received < 0 {
                let code = sockit_errno()
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return }
                // ECONNREFUSED: an ICMP error for an earlier reply; the socket goes on.
                logger.debug("recvfrom failed: \(Errno(rawValue: code))")
                continue
            }
            let sent = withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, buffer.baseAddress, received, CInt(MSG_DONTWAIT | MSG_NOSIGNAL), $0, length)
                }
            }
            if sent < 0 {
                // A full send buffer drops the reply, as UDP may.
                logger.debug("sendto failed: \(Errno(rawValue: sockit_errno()))")
            }
        }
    }

    func close(on loop: EventLoop) {
        loop.deregister(fd: fd)
        try? socket.close()
    }
}
