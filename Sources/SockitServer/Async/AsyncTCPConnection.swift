import Sockit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection with async reads and writes on an event loop.
public final class AsyncTCPConnection: Sendable {
    let readiness: Readiness
    /// The last read took less than it had room for: the socket was empty then, and in a
    /// request-and-answer exchange it mostly still is at the next read. A task on the loop's
    /// thread then waits for readiness before it tries: its wait needs no other thread, and ends
    /// at the loop's next wait if data came meanwhile (level-triggered), so it saves a `recv`
    /// that finds nothing. A task elsewhere tries first: its wait costs two thread hand-offs,
    /// more than the `recv`, and in a bulk transfer more data has mostly come by then.
    private let drained = Atomic<Bool>(false)
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

    /// The event loop that waits for this connection. A task that prefers it as its executor
    /// (`Task(executorPreference: connection.eventLoop)`) runs on the loop's thread, and its waits
    /// for the connection then need no other thread: the cheapest way to serve it.
    public var eventLoop: EventLoop { readiness.loop }

    /// Reads what is there (up to `maxBytes`), waiting for at least one byte; empty at end-of-file.
    ///
    /// The bytes come in an array of their own size: the room for `maxBytes` is scratch space
    /// for the call, neither cleared first nor kept.
    public func read(maxBytes: Int = 65536) async throws -> [UInt8] {
        let socket = readiness.socket
        if maxBytes > 0, drained.load(ordering: .relaxed), readiness.loop.inLoop {
            try await readiness.wait(for: .read)
        }
        while true {
            let received = try withUnsafeTemporaryAllocation(byteCount: max(0, maxBytes), alignment: 16) {
                raw throws(SocketError) -> [UInt8]? in
                switch try socket.receiveNonBlocking(into: raw) {
                case .processed(let count):
                    drained.store(count > 0 && count < raw.count, ordering: .relaxed)
                    return [UInt8](UnsafeRawBufferPointer(rebasing: raw[..<count]))
                case .wouldBlock: return nil
                }
            }
            if let received { return received }
            try await readiness.wait(for: .read)
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
