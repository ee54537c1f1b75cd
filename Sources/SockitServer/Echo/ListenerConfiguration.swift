import CSockit
import Sockit

/// How a server's listening socket is made, and the options its connections get.
///
/// The listener is either bound here from `address`, or, with `listener`, a socket that is
/// already bound and listening (inherited from a previous process, systemd socket activation,
/// a hand-off over a Unix socket) is adopted as it is: nothing is bound then.
public struct ListenerConfiguration: Sendable {
    /// Where to bind; port 0 lets the kernel pick a free one.
    public var address: SocketAddress
    /// `SO_REUSEADDR` before bind (default on): a restart binds at once over TIME_WAIT.
    public var reuseAddress = true
    /// `SO_REUSEPORT`: several processes may listen on the port together.
    public var reusePort = false
    /// The accept queue length; the kernel caps it at `net.core.somaxconn`.
    public var backlog: Int32 = Socket.defaultBacklog
    /// Keep-alive probes on each connection (`SO_KEEPALIVE` and the `TCP_KEEP*` timers); nil: off.
    public var keepAlive: KeepAlive?
    /// `TCP_NODELAY` on each connection.
    public var noDelay = false
    /// `SO_RCVBUF` on the listener and each connection (Linux doubles it); nil: the kernel's
    /// auto-tuned default.
    public var receiveBufferSize: Int?
    /// `SO_SNDBUF` on the listener and each connection (Linux doubles it); nil: the kernel's
    /// auto-tuned default.
    public var sendBufferSize: Int?
    /// A socket that already listens; when set, `address` and the bind options are not used.
    public var listener: Socket?
    /// Asked what holds the address when the bind fails with `EADDRINUSE`, so the error names
    /// the holder or the TIME_WAIT timers (`PortInspector` from SockitPorts); nil: a plain error.
    public var bindDiagnoser: (any BindDiagnoser)?

    /// The defaults (`SO_REUSEADDR` on, everything else off), binding `address`.
    public init(address: SocketAddress) {
        self.address = address
    }

    /// Creates, configures, binds and starts the listener (or configures the adopted one).
    ///
    /// Connection options are set on the listener: Linux copies `SO_KEEPALIVE`, the `TCP_KEEP*`
    /// values, `TCP_NODELAY`, `SO_RCVBUF` and `SO_SNDBUF` into every accepted socket, so accepting
    /// costs no extra syscalls (and `SO_RCVBUF` must precede `listen` for the window scale anyway).
    ///
    /// - Parameter type: `.stream` (bound and listening) or `.datagram` (bound only).
    /// - Returns: the non-blocking socket, ready to accept on (or to receive on, for datagrams).
    /// - Throws: `SocketError` from the first call that fails (`EADDRINUSE` explained with
    ///   `bindDiagnoser`).
    public func makeListener(type: SocketType = .stream) throws(SocketError) -> Socket {
        let socket: Socket
        if let listener {
            socket = listener
        } else {
            socket = try Socket(for: address, type, nonBlocking: true)
            if reuseAddress { try socket.setOption(.reuseAddress, true) }
            if reusePort { try socket.setOption(.reusePort, true) }
        }
        try socket.setNonBlocking(true)
        if let receiveBufferSize { try socket.setOption(.receiveBufferSize, receiveBufferSize) }
        if let sendBufferSize { try socket.setOption(.sendBufferSize, sendBufferSize) }
        if type == .stream {
            if noDelay { try socket.setOption(.tcpNoDelay, true) }
            if let keepAlive {
                try socket.setKeepAlive(idle: keepAlive.idle, interval: keepAlive.interval, count: keepAlive.count)
            }
        }
        if listener == nil {
            try socket.bind(to: address, diagnoser: bindDiagnoser)
            if type == .stream { try socket.listen(backlog: backlog) }
        }
        return socket
    }
}
