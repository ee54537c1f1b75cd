import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// A UDP socket with async send and receive on an event loop.
public final class AsyncUDPSocket: Sendable {
    let readiness: Readiness
    /// The bound address (the real port when port 0 was asked).
    public let localAddress: SocketAddress

    /// Binds a UDP socket to `address` (`SO_REUSEADDR` set), on one of `group`'s loops.
    public init(bindingTo address: SocketAddress, group: EventLoopGroup, broadcast: Bool = false) throws(SocketError) {
        let socket = try Socket(for: address, .datagram, nonBlocking: true)
        try socket.setOption(.reuseAddress, true)
        if broadcast { try socket.setOption(.broadcast, true) }
        try socket.bind(to: address)
        self.localAddress = try socket.localAddress()
        self.readiness = Readiness(socket: socket, loop: group.next())
    }

    /// The underlying socket, for options.
    public var socket: Socket { readiness.socket }

    /// Receives one datagram and its sender, waiting for one.
    public func receive(maxBytes: Int = 65536) async throws -> (bytes: [UInt8], sender: SocketAddress?) {
        let socket = readiness.socket
        while true {
            let result = Result { () throws(SocketError) in
                try socket.receiveFrom(maxBytes: maxBytes, flags: CInt(MSG_DONTWAIT))
            }
            switch result {
            case .success(let (bytes, sender)): return (bytes, sender)
            case .failure(let error) where error.errno == .wouldBlock: try await readiness.wait(for: .read)
            case .failure(let error): throw error
            }
        }
    }

    /// Sends one datagram to `address`, waiting while the send buffer is full.
    public func send(_ bytes: some Collection<UInt8>, to address: SocketAddress) async throws {
        let array = Array(bytes)
        let socket = readiness.socket
        while true {
            let result = Result { () throws(SocketError) in
                try socket.send(array, to: address, flags: CInt(MSG_DONTWAIT))
            }
            switch result {
            case .success: return
            case .failure(let error) where error.errno == .wouldBlock: try await readiness.wait(for: .write)
            case .failure(let error): throw error
            }
        }
    }

    /// Closes the socket; a pending receive fails.
    public func close() {
        readiness.close()
    }

    deinit {
        readiness.close()
    }
}
