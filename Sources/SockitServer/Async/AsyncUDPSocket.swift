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

    /// The event loop that waits for this socket. A task that prefers it as its executor
    /// (`Task(executorPreference: socket.eventLoop)`) runs on the loop's thread, and its waits
    /// for the socket then need no other thread: the cheapest way to serve it.
    public var eventLoop: EventLoop { readiness.loop }

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

    /// Receives the datagrams queued now, up to `maxCount`, in one call (`recvmmsg`), waiting
    /// until there is at least one. Each has its sender and whether it was truncated to
    /// `maxBytes`.
    ///
    /// - Parameters:
    ///   - maxCount: the most datagrams to return (at least 1).
    ///   - maxBytes: the room for each; a larger datagram is cut to it and marked `truncated`.
    /// - Returns: between 1 and `maxCount` datagrams, in the order they arrived.
    /// - Throws: `SocketError`; `CancellationError` when the task is cancelled while it waits.
    public func receive(maxCount: Int, maxBytes: Int = 65536) async throws -> [Datagram] {
        let socket = readiness.socket
        while true {
            let result = Result { () throws(SocketError) in
                try socket.receiveDatagrams(maxCount: maxCount, maxBytes: maxBytes, flags: CInt(MSG_DONTWAIT))
            }
            switch result {
            case .success(let datagrams): return datagrams
            case .failure(let error) where error.errno == .wouldBlock: try await readiness.wait(for: .read)
            case .failure(let error): throw error
            }
        }
    }

    /// Sends every datagram, each to its own `address`, in as few calls as the send buffer
    /// allows (`sendmmsg`), waiting while it is full.
    ///
    /// - Throws: `SocketError` for the first datagram that cannot be sent (`EMSGSIZE`,
    ///   `EACCES` for a broadcast without `SO_BROADCAST`, …): those before it were sent, those
    ///   after it were not. `CancellationError` when the task is cancelled while it waits.
    public func send(_ datagrams: [Datagram]) async throws {
        let socket = readiness.socket
        var sent = 0
        while sent < datagrams.count {
            let rest = Array(datagrams[sent...])
            let result = Result { () throws(SocketError) in
                try socket.sendDatagrams(rest, flags: CInt(MSG_DONTWAIT))
            }
            switch result {
            case .success(let count): sent += count
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
