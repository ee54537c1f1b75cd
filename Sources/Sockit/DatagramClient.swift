/// A UDP client: send a datagram to a server, wait a bounded time for replies.
///
/// ```swift
/// let client = try DatagramClient(sendingTo: SocketAddress("127.0.0.1:65432"))
/// try client.send(Array("ping".utf8))
/// if let reply = try client.receive(timeout: .seconds(2)) { print(reply.bytes, reply.sender) }
/// ```
///
/// The socket is not connected, so replies from any sender arrive (every host that answers a
/// broadcast).
public struct DatagramClient: Sendable {
    /// The unconnected datagram socket, of `peer`'s family.
    public let socket: Socket
    /// Where `send` sends.
    public let peer: SocketAddress

    /// A socket for `peer`'s family; with `broadcast`, `SO_BROADCAST` is set so that `peer` may
    /// be a broadcast address.
    ///
    /// - Throws: `SocketError` when the socket cannot be created or the option set.
    public init(sendingTo peer: SocketAddress, broadcast: Bool = false) throws(SocketError) {
        let socket = try Socket(for: peer, .datagram)
        if broadcast { try socket.setOption(.broadcast, true) }
        self.socket = socket
        self.peer = peer
    }

    /// Sends `bytes` as one datagram to `peer`.
    ///
    /// - Throws: `SocketError`; `EACCES` for a broadcast address without `broadcast`.
    public func send(_ bytes: some Collection<UInt8>) throws(SocketError) {
        try socket.send(bytes, to: peer)
    }

    /// Waits up to `timeout` for the next datagram (from any sender); nil when none came.
    /// A datagram larger than `maxBytes` is truncated.
    public func receive(
        timeout: Duration, maxBytes: Int = 65536
    ) throws(SocketError)
        -> (bytes: [UInt8], sender: SocketAddress?)?
    {
        try socket.receiveFrom(maxBytes: maxBytes, timeout: timeout)
    }
}
