#if canImport(Glibc)
import Glibc
#endif

/// A stream client for one exchange: connect, send a request, half-close (FIN), and read the
/// reply until the server closes. Sending and receiving overlap, so a request larger than the
/// socket buffers cannot deadlock against a server that answers while it reads (an echo server).
///
/// ```swift
/// let client = try StreamClient(connectingTo: SocketAddress("127.0.0.1:65432"), timeout: .seconds(10))
/// let reply = try client.exchange(Array("hello\n".utf8))   // "hello\n" from an echo server
/// ```
///
/// `timeout` bounds the connect and every wait for progress: the exchange fails when the server
/// neither takes bytes, nor sends, nor closes for that long.
public struct StreamClient: Sendable {
    /// The connected socket (TCP, or a Unix stream socket).
    public let socket: Socket
    /// The server.
    public let peer: SocketAddress
    /// The longest wait for the connect and for any progress after it.
    public let timeout: Duration

    /// Connects to `peer` within `timeout`.
    ///
    /// - Throws: `SocketError`: `ECONNREFUSED` when nothing listens, `ETIMEDOUT` past the timeout.
    public init(connectingTo peer: SocketAddress, timeout: Duration) throws(SocketError) {
        let socket = try Socket(for: peer, .stream)
        try socket.connect(to: peer, timeout: timeout)
        self.socket = socket
        self.peer = peer
        self.timeout = timeout
    }

    /// Sends `request`, half-closes, and hands each chunk of the reply to `receive` as it arrives,
    /// until the server closes. The socket is left non-blocking.
    ///
    /// - Throws: `StreamClient.Timeout` when nothing moved for `timeout`; `SocketError` when a
    ///   call fails (`ECONNRESET` when the server resets the connection).
    public func exchange(
        _ request: [UInt8], receive: (UnsafeRawBufferPointer) -> Void
    ) throws {
        try socket.setNonBlocking(true)
        var offset = 0
        var halfClosed = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if offset == request.count && !halfClosed {
                try socket.shutdown(.write)
                halfClosed = true
            }
            var events = Int16(POLLIN)
            if !halfClosed { events |= Int16(POLLOUT) }
            guard try socket.poll(for: events, timeout: timeout) else {
                throw Timeout(peer: peer, timeout: timeout)
            }
            let received = try buffer.withUnsafeMutableBytes { raw throws(SocketError) in
                try socket.receiveNonBlocking(into: raw)
            }
            switch received {
            case .processed(0):
                return
            case .processed(let count):
                buffer.withUnsafeBytes { raw in receive(UnsafeRawBufferPointer(rebasing: raw[..<count])) }
            case .wouldBlock:
                break
            }
            if !halfClosed {
                let sent = try request.withUnsafeBytes { raw throws(SocketError) in
                    try socket.sendNonBlocking(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                }
                if case .processed(let count) = sent { offset += count }
            }
        }
    }

    /// Sends `request`, half-closes, and returns the whole reply once the server closes.
    ///
    /// - Throws: as `exchange(_:receive:)`.
    public func exchange(_ request: [UInt8]) throws -> [UInt8] {
        var reply: [UInt8] = []
        try exchange(request) { reply += $0 }
        return reply
    }

    /// The server neither took bytes, nor sent, nor closed within the timeout.
    public struct Timeout: SockitError {
        /// The server that did not answer.
        public let peer: SocketAddress
        /// How long nothing moved.
        public let timeout: Duration

        public var summary: String {
            "no answer from \(peer) within \(timeout.secondsDescription) (the server neither sent nor closed)"
        }

        public var kind: SockitErrorKind { .notMet }
    }
}
