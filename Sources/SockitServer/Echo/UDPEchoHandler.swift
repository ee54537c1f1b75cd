import Logging
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Echoes each datagram to its sender, on the loop of a `UDPEchoServer`.
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
            let result = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    ServerSys.receiveFrom(fd, buffer.baseAddress, buffer.count, $0, &length)
                }
            }
            let received: Int
            switch result {
            case .success(.processed(let count)):
                received = count
            case .success(.wouldBlock):
                return
            case .failure(let errno):
                // ECONNREFUSED: an ICMP error for an earlier reply; the socket goes on.
                logger.debug("recvfrom failed: \(errno)")
                continue
            }
            let sent = withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    ServerSys.sendTo(fd, buffer.baseAddress, received, $0, length)
                }
            }
            switch sent {
            case .success(.processed):
                break
            case .success(.wouldBlock):
                // A full send buffer drops the reply, as UDP may.
                logger.debug("sendto failed: \(Errno.wouldBlock)")
            case .failure(let errno):
                logger.debug("sendto failed: \(errno)")
            }
        }
    }

    private var reading = true

    func close(on loop: EventLoop) {
        if reading { loop.deregister(fd: fd) }
        reading = false
        try? socket.close()
    }

    /// A new instance reads from this socket now: stop, without closing it.
    func stopReading(on loop: EventLoop) {
        guard reading else { return }
        reading = false
        loop.deregister(fd: fd)
    }

    /// The new instance went away before it confirmed: read again (datagrams queued meanwhile).
    func resumeReading(on loop: EventLoop) {
        guard !reading, !socket.isClosed else { return }
        do {
            try loop.register(self, fd: fd, interest: .read)
            reading = true
        } catch {
            logger.error("cannot read from the socket again: \(error.summary)")
        }
    }
}
