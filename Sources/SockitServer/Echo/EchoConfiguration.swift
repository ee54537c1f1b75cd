import Sockit

/// TCP keep-alive settings: idle time before the first probe, time between probes, probes
/// before the connection is dropped (`TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`).
public struct KeepAlive: Sendable, Hashable {
    public var idle: Duration
    public var interval: Duration
    public var count: Int

    public init(idle: Duration, interval: Duration = .seconds(75), count: Int = 9) {
        self.idle = idle
        self.interval = interval
        self.count = count
    }
}

/// How a server's listening socket is made, and the options its connections get.
///
/// The listener is either bound here from `address`, or, with `listener`, a socket that is
/// already bound and listening (inherited from a previous process, systemd socket activation,
/// a hand-off over a Unix socket) is adopted as it is: nothing is bound then.
public struct ListenerConfiguration: Sendable {
    public var address: SocketAddress
    /// `SO_REUSEADDR` before bind (default on): a restart binds at once over TIME_WAIT.
    public var reuseAddress = true
    /// `SO_REUSEPORT`: several processes may listen on the port together.
    public var reusePort = false
    /// The accept queue length; the kernel caps it at `net.core.somaxconn`.
    public var backlog: Int32 = Socket.defaultBacklog
    public var keepAlive: KeepAlive?
    /// `TCP_NODELAY` on each connection.
    public var noDelay = false
    /// `SO_RCVBUF` / `SO_SNDBUF` (Linux doubles them).
    public var receiveBufferSize: Int?
    public var sendBufferSize: Int?
    /// A socket that already listens; when set, `address` and the bind options are not used.
    public var listener: Socket?
    /// Asked what holds the address when the bind fails with `EADDRINUSE`, so the error names
    /// the holder or the TIME_WAIT timers (`PortInspector` from SockitPorts); nil: a plain error.
    public var bindDiagnoser: (any BindDiagnoser)?

    public init(address: SocketAddress) {
        self.address = address
    }

    /// Creates, configures, binds and starts the listener (or configures the adopted one).
    ///
    /// Connection options are set on the listener: Linux copies `SO_KEEPALIVE`, the `TCP_KEEP*`
    /// values, `TCP_NODELAY`, `SO_RCVBUF` and `SO_SNDBUF` into every accepted socket, so accepting
    /// costs no extra syscalls (and `SO_RCVBUF` must precede `listen` for the window scale anyway).
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

/// How connections reach the loops (`TCPEchoServer` says why the default; README has the measurements).
public enum AcceptStrategy: String, Sendable, CaseIterable {
    /// One listener, accepted on the first loop, connections handed out round robin.
    case oneListenerHandsOut = "handout"
    /// One `SO_REUSEPORT` listener per loop; the kernel spreads connections by hash.
    case listenerPerLoop = "reuseport"
}

/// Everything the echo servers can be told.
public struct EchoConfiguration: Sendable {
    public var listener: ListenerConfiguration
    /// Event-loop threads (default: one per core).
    public var threads: Int = EventLoopGroup.coreCount
    /// Close a connection after this long without traffic.
    public var idleTimeout: Duration?
    /// Connections beyond this many are closed as soon as they are accepted.
    public var maxConnections: Int?
    /// How long open connections may go on after a graceful shutdown began.
    public var drainTimeout: Duration = .seconds(10)
    /// Bytes a connection buffers for a peer that does not read, at most: at this many unsent
    /// bytes it stops reading from the peer until they are all sent (at least 1).
    public var pendingWriteLimit: Int = 256 * 1024
    /// The memory all connections together may hold for output their peers have not read (the
    /// allocated size of their pending buffers, across all loops). Near it, connections whose
    /// buffer is full stop reading and the others echo only what their socket takes at once,
    /// until the total is an eighth of it lower. 0: no output is ever buffered.
    public var maxBufferedBytes: Int = 256 * 1024 * 1024
    /// How long accepting pauses after `EMFILE`/`ENFILE` (no descriptor left for a new connection).
    public var acceptBackoff: Duration = .milliseconds(100)
    /// How connections reach the loops; the default is the measured choice.
    public var acceptStrategy: AcceptStrategy = .oneListenerHandsOut
    /// During a graceful shutdown, a second SIGINT/SIGTERM ends the drain at once.
    public var secondSignalEndsDrain = false

    public init(address: SocketAddress) {
        self.listener = ListenerConfiguration(address: address)
    }
}
