#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import ServiceLifecycle
import Sockit
import Synchronization
import UnixSignals

/// The TCP echo server: event loops on epoll, one listener, graceful shutdown. A `Service`, so
/// it composes in a `ServiceGroup`, which gives it SIGINT/SIGTERM handling:
///
/// ```swift
/// let server = TCPEchoServer(configuration: EchoConfiguration(address: try SocketAddress("127.0.0.1:0")),
///                            logger: logger) { address in print("listening on \(address)") }
/// let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
///
/// ## One listener, accepted by one loop, handed out round robin
///
/// The alternative is one `SO_REUSEPORT` listener per loop. We chose one listener because:
/// - Measurement: accepting is off the hot path of a long-lived echo connection (one accept,
///   then thousands of round trips), and the hand-off costs one `eventfd` wake-up per
///   connection. `Benchmarks/compare-echo.sh` measures the steady state; at `--threads 1` the two
///   designs are the same code path. NOT yet measured: a per-loop `SO_REUSEPORT` variant at
///   `--threads 2` under a connect-heavy load (see the follow-up); the reasons below
///   decided it in the meantime.
/// - `SO_REUSEPORT` on the server's own listeners would make `--no-reuse-address` lie: a socket
///   with `SO_REUSEPORT` binds over TIME_WAIT left by a listener that had it, so the classic
///   failure could not be reproduced, and a second, unrelated `sockit echo` on the same port
///   would silently share the traffic instead of failing with `EADDRINUSE`.
/// - Per-loop listeners drop the connections queued on one of them when it closes; one listener
///   closes one queue, and the kernel's hash spreads load unevenly over few connections.
/// - One listening descriptor is exactly what a hitless restart hands to the next process
///   (`ListenerConfiguration.listener` adopts it), instead of N of them.
public final class TCPEchoServer: Service, Sendable {
    /// State shared by the loops: configuration, counters, the drain signal.
    final class Core: Sendable {
        let configuration: EchoConfiguration
        let logger: Logger
        let connectionCount = Atomic<Int>(0)
        let draining = Atomic<Bool>(false)
        let drained: AsyncStream<Void>
        let drainedContinuation: AsyncStream<Void>.Continuation

        init(configuration: EchoConfiguration, logger: Logger) {
            self.configuration = configuration
            self.logger = logger
            (drained, drainedContinuation) = AsyncStream.makeStream(of: Void.self)
        }

        /// Counts a new connection; false when `maxConnections` are open already.
        @inline(__always)
        func admit() -> Bool {
            let count = connectionCount.add(1, ordering: .relaxed).newValue
            if let limit = configuration.maxConnections, count > limit {
                connectionClosed()
                return false
            }
            return true
        }

        @inline(__always)
        func connectionClosed() {
            let left = connectionCount.subtract(1, ordering: .acquiringAndReleasing).newValue
            if left == 0 && draining.load(ordering: .acquiring) { drainedContinuation.yield() }
        }
    }

    private let core: Core
    private let onListening: @Sendable (SocketAddress) -> Void
    private let started = Mutex<Started?>(nil)

    private struct Started: @unchecked Sendable {
        var group: EventLoopGroup
        var states: [EchoLoopState]
        var listener: TCPEchoListener
        var address: SocketAddress
    }

    /// - Parameters:
    ///   - onListening: called with the bound address (the real port when port 0 was asked)
    ///     once the listener accepts connections.
    public init(
        configuration: EchoConfiguration, logger: Logger,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.core = Core(configuration: configuration, logger: logger)
        self.onListening = onListening
    }

    /// Open connections right now.
    public var connectionCount: Int { core.connectionCount.load(ordering: .relaxed) }

    /// Binds and starts the loops; returns the bound address. `run()` calls it when needed.
    @discardableResult
    public func start() throws(SocketError) -> SocketAddress {
        if let address = started.withLock({ $0?.address }) { return address }
        let socket = try core.configuration.listener.makeListener()
        let address = try socket.localAddress()
        let group = try EventLoopGroup(count: core.configuration.threads, start: false)
        let states = group.loops.map { EchoLoopState(loop: $0, core: core) }
        let listener = TCPEchoListener(socket: socket, states: states, core: core)
        let accepting = group.loops[0]
        // Registered before the loop threads start, so that no thread races this one and
        // "listening" is true when this returns.
        do throws(SocketError) {
            try accepting.register(listener, fd: listener.fd, interest: .read)
        } catch {
            try? socket.close()
            throw error
        }
        group.start()
        started.withLock { $0 = Started(group: group, states: states, listener: listener, address: address) }
        core.logger.info("listening", metadata: ["address": "\(address)", "threads": "\(group.loops.count)"])
        return address
    }

    /// Serves until a graceful shutdown (SIGINT/SIGTERM through a `ServiceGroup`, or the task
    /// being cancelled): then stops accepting, closes the listener, lets open connections finish
    /// up to `drainTimeout`, closes what is left and returns.
    public func run() async throws {
        let address = try start()
        onListening(address)
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Stops accepting and drains (what `run()` does on a graceful shutdown).
    public func shutdown() async {
        guard let running = started.withLock({ $0 }) else { return }
        let accepting = running.group.loops[0]
        core.draining.store(true, ordering: .releasing)
        let listener = UncheckedBox(running.listener)
        // Wait until the loop has closed the listener: from here on, connecting is refused.
        await withCheckedContinuation { (closed: CheckedContinuation<Void, Never>) in
            accepting.execute {
                listener.value.close(on: accepting)
                closed.resume()
            }
        }
        let open = core.connectionCount.load(ordering: .acquiring)
        core.logger.info(
            "shutting down: stopped accepting, draining connections",
            metadata: ["open": "\(open)", "timeout": "\(core.configuration.drainTimeout)"])
        if open > 0 {
            let drained = core.drained
            let timeout = core.configuration.drainTimeout
            let secondSignal = core.configuration.secondSignalEndsDrain
            let core = core
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in drained where core.connectionCount.load(ordering: .acquiring) == 0 { return }
                }
                group.addTask { try? await Task.sleep(for: timeout) }
                if secondSignal {
                    group.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) { return }
                    }
                }
                // The count may have reached zero before `drained` was awaited.
                group.addTask {
                    while !Task.isCancelled && core.connectionCount.load(ordering: .acquiring) > 0 {
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        let left = core.connectionCount.load(ordering: .acquiring)
        if left > 0 { core.logger.info("closing the connections still open", metadata: ["open": "\(left)"]) }
        for state in running.states {
            let box = UncheckedBox(state)
            state.loop.execute { box.value.closeAll() }
        }
        await running.group.shutdownGracefully()
        started.withLock { $0 = nil }
        core.logger.info("stopped")
    }
}

/// Moves a loop-confined object into a task for its own loop.
struct UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Accepts connections on the first loop and hands them out to the loops round robin.
final class TCPEchoListener: EventHandler {
    let socket: Socket
    let fd: CInt
    let states: [EchoLoopState]
    let core: TCPEchoServer.Core
    private var next = 0
    private var paused = false
    private var closed = false

    init(socket: Socket, states: [EchoLoopState], core: TCPEchoServer.Core) {
        self.socket = socket
        self.fd = socket.fileDescriptor
        self.states = states
        self.core = core
    }

    override func handle(_ event: ReadyEvent, on loop: EventLoop) {
        // Bounded, so that a flood of connections cannot starve the connections of this loop.
        for _ in 0..<128 {
            switch RawIO.accept(fd) {
            case .done(let accepted):
                let connection = CInt(accepted)
                guard core.admit() else {
                    core.logger.debug("over --max-connections: closing a new connection")
                    RawIO.close(connection)
                    continue
                }
                let state = states[next]
                next = next + 1 == states.count ? 0 : next + 1
                if state.loop === loop {
                    state.adopt(connection)
                } else {
                    let box = UncheckedBox(state)
                    state.loop.execute { box.value.adopt(connection) }
                }
            case .wouldBlock:
                return
            case .failed(let code):
                switch code {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    pause(loop, Errno(rawValue: code))
                    return
                default:
                    // ECONNABORTED, EPROTO, EPERM (a firewall): that connection only.
                    core.logger.debug("accept4 failed: \(Errno(rawValue: code))")
                }
            }
        }
    }

    /// Out of descriptors: a level-triggered listener would report the waiting connection again
    /// at once and spin the CPU, so stop watching it for a while instead.
    private func pause(_ loop: EventLoop, _ errno: Errno) {
        guard !paused, !closed else { return }
        paused = true
        core.logger.warning(
            "cannot accept: \(errno); pausing accept",
            metadata: ["for": "\(core.configuration.acceptBackoff)", "open": "\(core.connectionCount.load(ordering: .relaxed))"])
        try? loop.reregister(fd: fd, interest: .none)
        loop.schedule(after: core.configuration.acceptBackoff) { [self] in
            paused = false
            guard !closed else { return }
            try? loop.reregister(fd: fd, interest: .read)
        }
    }

    func close(on loop: EventLoop) {
        guard !closed else { return }
        closed = true
        loop.deregister(fd: fd)
        try? socket.close()
    }
}
