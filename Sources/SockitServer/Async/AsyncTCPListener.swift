import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// A TCP listener whose connections arrive as an `AsyncSequence`, for any Swift program:
///
/// ```swift
/// let group = try EventLoopGroup()
/// let listener = try AsyncTCPListener(ListenerConfiguration(address: try SocketAddress("127.0.0.1:0")), group: group)
/// for try await connection in listener {
///     Task(executorPreference: connection.eventLoop) {
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
    /// Each element is an accepted connection.
    public typealias Element = AsyncTCPConnection

    let readiness: Readiness
    private let group: EventLoopGroup
    /// The bound address (the real port when port 0 was asked).
    public let localAddress: SocketAddress

    /// The event loop that waits for this listener. A task that prefers it as its executor
    /// (`Task(executorPreference: listener.eventLoop)`) runs on the loop's thread, and its waits
    /// for the listener then need no other thread: the cheapest way to serve it.
    public var eventLoop: EventLoop { readiness.loop }

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

    /// Accepts a connection per `next()`.
    public struct AsyncIterator: AsyncIteratorProtocol {
        let listener: AsyncTCPListener
        /// The next accepted connection; nil once the listener is closed or its group shut down.
        ///
        /// - Throws: what `accept()` throws, but for the end of the listener.
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

    /// An iterator that accepts on this listener.
    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(listener: self) }
}
