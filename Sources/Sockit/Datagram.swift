/// One datagram of a batch (`Socket.receiveDatagrams`, `Socket.sendDatagrams`): its bytes and
/// its peer, the sender of one received or the destination of one to send.
public struct Datagram: Sendable, Hashable {
    /// The payload: on a receive, as much of it as fitted (see `truncated`).
    public var bytes: [UInt8]
    /// The sender of a received datagram (nil for an unnamed Unix peer), or where one to send
    /// goes (nil on a connected socket: to its peer).
    public var address: SocketAddress?
    /// Whether the datagram was larger than the room given to receive it, and `bytes` holds
    /// only its start (`MSG_TRUNC`); the rest is lost. Always false for one to send.
    public var truncated: Bool

    /// A datagram with `bytes` for (or from) `address`.
    public init(_ bytes: [UInt8], address: SocketAddress?, truncated: Bool = false) {
        self.bytes = bytes
        self.address = address
        self.truncated = truncated
    }
}
