#if canImport(Glibc)
import Glibc
#endif
import Sockit

/// A TCP listener whose connections arrive as an `AsyncSequence`, for any Swift program:
///
/// ```swift
/// let group = try EventLoopGroup()
/// let listener = try AsyncTCPListener(ListenerConfiguration(address: try SocketAddress("127.0.0.1:0")), group: group)
/// for try await connection in listener {
///     Task {
///         while case let bytes = try await connection.read(), !bytes.isEmpty { try await connection.write(bytes) }
///         connection.close()
///     }
/// }
/// ```
///
/// Accepting is pulled by the iterator, so a program that stops iterating stops accepting (the
/// kernel's backlog fills instead of memory). Out of descriptors (`EMFILE`), the iterator waits
/// 100 ms and tries again rather than failing. The sequence ends when the listener is closed or
/// its loop group shuts down.
///
/// Close every socket (or drop it) whenever you like, also after the group has shut down: its
/// descriptor is closed then. A read, write or accept waiting when the group shuts down, or
/// started afterwards, fails with `ECANCELED` instead of waiting for ever.
public final class AsyncTCPListener: AsyncSequence, Sendable {
    public typealias Element = AsyncTCPConnection

    let readiness: Readiness
    private let group: EventLoopGroup
    /// The bound address (the real port when port 0 was asked).
    public let localAddress: SocketAddress

    /// Binds and listens as `configuration` says (or adopts its `listener`); connections are
    /// spread over `group`'s loops.
    public init(_ configuration: ListenerConfiguration, group: EventLoopGroup) throws(SocketError) {
        let socket = try configuration.makeListener()
        self.localAddress = try socket.localAddress()
        self.group = group
        self.readiness = Readiness(socket: socket, loop: group.next())
    }

    /// Accepts the next connection, waiting for one.
    public func accept() async throws -> AsyncTCPConnection {
        while true {
            try Task.checkCancellation()
            do {
                switch try readiness.socket.acceptNonBlocking() {
                case .processed(let (socket, peer)):
                    return AsyncTCPConnection(socket: socket, remoteAddress: peer, loop: group.next())
                case .wouldBlock:
                    try await readiness.wait(for: .read)
                }
            } catch let error as SocketError
                where error.errno == .tooManyOpenFiles || error.errno == .tooManyOpenFilesInSystem
            {
                try await Task.sleep(for: .milliseconds(100))
            } catch let error as SocketError where error.errno == Errno(rawValue: ECONNABORTED) {
                continue
            }
        }
    }

    /// Stops listening; a pending `accept` fails.
    public func close() {
        readiness.close()
    }

    deinit {
        readiness.close()
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let listener: AsyncTCPListener
        public mutating func next() async throws -> AsyncTCPConnection? {
            do {
                return try await listener.accept()
            } catch let error as SocketError
                where error.errno == .badFileDescriptor || error.errno == Errno(rawValue: ECANCELED)
            {
                return nil  // closed, or its loop group shut down: the sequence ends
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(listener: self) }
}

/// A TCP connection with async reads and writes on an event loop.
public final class AsyncTCPConnection: Sendable {
    let readiness: Readiness
    /// The peer's address, when known.
    public let remoteAddress: SocketAddress?

    init(socket: Socket, remoteAddress: SocketAddress?, loop: EventLoop) {
        self.readiness = Readiness(socket: socket, loop: loop)
        self.remoteAddress = remoteAddress
    }

    /// Connects to `address` (waiting without blocking a thread).
    public static func connect(to address: SocketAddress, group: EventLoopGroup) async throws -> AsyncTCPConnection {
        let socket = try Socket(for: address, .stream, nonBlocking: true)
        let connection = AsyncTCPConnection(socket: socket, remoteAddress: address, loop: group.next())
        if try !socket.connectNonBlocking(to: address) {
            try await connection.readiness.wait(for: .write)
            if let pending = try socket.getOption(.error) {
                connection.close()
                throw SocketError(syscall: "connect", errno: pending, address: address, socketType: .stream)
            }
        }
        return connection
    }

    /// The underlying socket, for options (`setOption(.tcpNoDelay, true)`).
    public var socket: Socket { readiness.socket }

    /// Reads what is there (up to `maxBytes`), waiting for at least one byte; empty at end-of-file.
    public func read(maxBytes: Int = 65536) async throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maxBytes)
        while true {
            let result = try bytes.withUnsafeMutableBytes { raw throws(SocketError) in
                try readiness.socket.receiveNonBlocking(into: raw)
            }
            switch result {
            case .processed(let count):
                bytes.removeSubrange(count...)
                return bytes
            case .wouldBlock:
                try await readiness.wait(for: .read)
            }
        }
    }

    /// Writes every byte, waiting while the send buffer is full.
    public func write(_ bytes: some Collection<UInt8>) async throws {
        let array = Array(bytes)
        var offset = 0
        while offset < array.count {
            let result = try array.withUnsafeBytes { raw throws(SocketError) in
                try readiness.socket.sendNonBlocking(UnsafeRawBufferPointer(rebasing: raw[offset...]))
            }
            switch result {
            case .processed(let count): offset += count
            case .wouldBlock: try await readiness.wait(for: .write)
            }
        }
    }

    /// Sends FIN: the peer reads end-of-file; reading goes on.
    public func shutdownWrite() throws {
        try readiness.socket.shutdown(.write)
    }

    /// Closes the connection; pending reads and writes fail. Dropping the last reference closes it too.
    public func close() {
        readiness.close()
    }

    deinit {
        readiness.close()
    }
}

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
