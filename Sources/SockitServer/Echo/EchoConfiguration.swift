import Sockit

/// Everything the echo servers can be told.
public struct EchoConfiguration: Sendable {
    /// The listening socket and the options its connections get.
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
    /// How the TCP server waits for its connections (README, "io_uring", has the measurements
    /// behind the default). `.ioUring` falls back to epoll where the kernel refuses it.
    public var backend: EchoBackend = .epoll
    /// During a graceful shutdown, a second SIGINT/SIGTERM ends the drain at once.
    public var secondSignalEndsDrain = false
    /// The io_uring loop's submission and completion queue sizes. Not public: a test makes the
    /// completion queue small enough to overflow, which ends a multishot receive early.
    var uringQueueSizes: (submissions: UInt32, completions: UInt32) = (4096, 16384)

    /// The defaults, listening on `address` (port 0: the kernel picks one, which `onListening` is told).
    public init(address: SocketAddress) {
        self.listener = ListenerConfiguration(address: address)
    }
}
