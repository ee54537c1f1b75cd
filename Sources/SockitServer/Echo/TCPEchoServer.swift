import Dispatch
import Logging
import ServiceLifecycle
import Sockit
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// The TCP echo server: event loops on epoll (or io_uring, `EchoConfiguration.backend`), one
/// listener, graceful shutdown. A `Service`, so
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
/// The alternative is one `SO_REUSEPORT` listener per loop (`AcceptStrategy.listenerPerLoop`,
/// kept for measurement; README's benchmarks compare the two). Steady state is the same within
/// noise, because accepting is off the hot path of a long-lived connection; on connection churn
/// per-loop listeners accept faster, as the hand-out costs one cross-thread `execute` (an eventfd
/// wake-up) per connection.
///
/// We keep one listener, because correctness outweighs speed on connection setup for an echo
/// server whose connections are long-lived:
/// - With `SO_REUSEPORT` on its own listeners, turning `SO_REUSEADDR` off no longer reproduces
///   the classic failure (checked: a restart over FIN_WAIT/TIME_WAIT binds), and a second,
///   unrelated server on the same port binds and silently shares the traffic instead of
///   failing with `EADDRINUSE` (checked too). `ListenerConfiguration.reusePort` is for when
///   that is wanted.
/// - Closing one of several per-loop listeners resets the connections queued on it.
/// - One listening descriptor is exactly what a hitless restart hands to the next process
///   (`ListenerConfiguration.listener` adopts it), instead of N of them.
///
/// ## Hitless restart
///
/// Given a `HitlessRestart`, `run()` first takes the listener from systemd or from the instance
/// running at the hand-off path (binding only when there is none), starts accepting, and only
/// then lets the old instance go. When a later instance takes the listener over, this one
/// stops accepting *without closing it* (the descriptor stays open until the server is
/// released: closing the last reference to a listener resets its accept queue, and
/// `shutdown()` on it would disconnect it for the new process too), drains its own
/// connections once the new instance confirmed, and `run()` returns. A new instance that went
/// away before it confirmed leaves this one accepting again on the listener it kept.
public final class TCPEchoServer: Service, Sendable {
    /// State shared by the loops: configuration, counters, the drain signal.
    final class Core: Sendable {
        let configuration: EchoConfiguration
        let logger: Logger
        let connectionCount = Atomic<Int>(0)
        let draining = Atomic<Bool>(false)
        let drained: AsyncStream<Void>
        let drainedContinuation: AsyncStream<Void>.Continuation
        /// Set once a new instance accepts on our listener; `handedOff` then yields its pid.
        let handedOffTo = Atomic<Int32>(0)
        let handedOff: AsyncStream<Int32>
        let handedOffContinuation: AsyncStream<Int32>.Continuation
        /// The output all connections buffer, against `maxBufferedBytes`.
        let budget: EchoOutputBudget
        /// How many times an io_uring loop moved a connection's output off its buffer ring.
        let spills = Atomic<Int>(0)
        /// How many receives an io_uring loop appended to output already on the heap.
        let spilledReceives = Atomic<Int>(0)
        /// How many multishot receives the kernel ended on its own that an io_uring loop armed
        /// again at once (the connection still under its cap).
        let receivesArmedAgain = Atomic<Int>(0)

        init(configuration: EchoConfiguration, logger: Logger) {
            self.configuration = configuration
            self.logger = logger
            self.budget = EchoOutputBudget(
                limit: configuration.maxBufferedBytes, connectionLimit: configuration.pendingWriteLimit,
                readBufferSize: EventLoop.defaultReadBufferSize)
            (drained, drainedContinuation) = AsyncStream.makeStream(of: Void.self)
            (handedOff, handedOffContinuation) = AsyncStream.makeStream(of: Int32.self)
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
    private let restart: HitlessRestart?
    private let started = Locked<Started?>(nil)
    /// Listeners handed to a new instance: kept open until this server is released.
    private let retainedListeners = Locked<[Socket]>([])

    private struct Started {
        /// The epoll loops (none with io_uring).
        var group: EventLoopGroup?
        /// The io_uring loops (none with epoll).
        var rings: [URingEchoLoop] = []
        var states: [EchoLoopState]
        /// One, on loop 0; or with `.listenerPerLoop`, one per loop, on that loop.
        var listeners: [TCPEchoListener]
        var address: SocketAddress
    }

    /// A server, not yet listening: `run()` (or `start()`) binds and serves.
    ///
    /// - Parameters:
    ///   - configuration: the address, the listener's and connections' options, the limits.
    ///   - logger: where the server logs accepts it refuses, drains and hand-offs (it never prints).
    ///   - restart: where the listener may come from (systemd, a running instance) and where
    ///     the next instance will find it; nil: always bind, never hand off.
    ///   - onListening: called with the bound address (the real port when port 0 was asked)
    ///     once the listener accepts connections (after a hand-off: once the old instance
    ///     stopped accepting).
    public init(
        configuration: EchoConfiguration, logger: Logger, restart: HitlessRestart? = nil,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.core = Core(configuration: configuration, logger: logger)
        self.restart = restart
        self.onListening = onListening
    }

    /// The backend serving now (`EchoConfiguration.backend`, or `.epoll` where io_uring was
    /// refused); nil while the server is not started.
    public var backend: EchoBackend? {
        started.withLock { running in running.map { $0.rings.isEmpty ? .epoll : .ioUring } }
    }

    /// Open connections right now.
    public var connectionCount: Int { core.connectionCount.load(ordering: .relaxed) }

    /// The memory connections hold right now for output their peers have not read (the
    /// allocated size of their pending buffers), bounded by `maxBufferedBytes`.
    public var bufferedBytes: Int { core.budget.allocated }

    /// How many times the io_uring loops moved a connection's output off their buffer rings
    /// (under pressure only: peers that do not read holding most of a ring).
    var spilledConnections: Int { core.spills.load(ordering: .relaxed) }

    /// How many receives the io_uring loops appended to a connection's output on the heap (input
    /// that came while it was there, its receive still armed).
    var spilledReceives: Int { core.spilledReceives.load(ordering: .relaxed) }

    /// Multishot receives the kernel ended on their own and the loops armed again (io_uring).
    var receivesArmedAgain: Int { core.receivesArmedAgain.load(ordering: .relaxed) }

    /// Binds and starts the loops; returns the bound address. `run()` calls it when needed.
    @discardableResult
    public func start() throws(SocketError) -> SocketAddress {
        try start(inherited: nil)
    }

    /// Starts on `inherited` (a listening socket from systemd or a hand-off) instead of binding.
    func start(inherited: Socket?) throws(SocketError) -> SocketAddress {
        if let address = started.withLock({ $0?.address }) { return address }
        var listenerConfiguration = core.configuration.listener
        if let inherited { listenerConfiguration.listener = inherited }
        // An adopted listener is served as it is: one socket, the one the next instance gets.
        let perLoop =
            core.configuration.acceptStrategy == .listenerPerLoop && core.configuration.threads > 1
            && listenerConfiguration.listener == nil
        if perLoop { listenerConfiguration.reusePort = true }
        let socket = try listenerConfiguration.makeListener()
        let address = try socket.localAddress()
        if core.configuration.backend == .ioUring {
            if let reason = URingSupport.unavailableReason() {
                core.logger.debug("io_uring is not available: serving on epoll", metadata: ["reason": "\(reason)"])
            } else if startRings(socket: socket, address: address) {
                return address
            }
        }
        let group = try EventLoopGroup(count: core.configuration.threads, start: false)
        let states = group.loops.map { EchoLoopState(loop: $0, core: core) }
        var listeners: [TCPEchoListener] = []
        if perLoop {
            // One SO_REUSEPORT listener per loop, each accepting for its own loop only.
            listenerConfiguration.address = address
            listenerConfiguration.listener = nil
            for (index, state) in states.enumerated() {
                let own = index == 0 ? socket : try listenerConfiguration.makeListener()
                listeners.append(TCPEchoListener(socket: own, states: [state], core: core))
            }
        } else {
            listeners.append(TCPEchoListener(socket: socket, states: states, core: core))
        }
        // Registered before the loop threads start, so that no thread races this one and
        // "listening" is true when this returns.
        do throws(SocketError) {
            for (index, listener) in listeners.enumerated() {
                try group.loops[index].register(listener, fd: listener.fd, interest: .read)
            }
        } catch {
            for listener in listeners { try? listener.socket.close() }
            throw error
        }
        // Until shutdown (it holds the states, which hold the core, which holds the budget).
        let boxes = states.map { UnsafeTransfer($0) }
        let logger = core.logger
        core.budget.onChange { over, bytes in
            if over {
                logger.info(
                    "output buffers reached the bound: pausing reads that need more", metadata: ["buffered": "\(bytes)"]
                )
            } else {
                logger.info("output buffers below the bound again: resuming reads", metadata: ["buffered": "\(bytes)"])
                for box in boxes { box.value.loop.execute { box.value.resumeAfterBudget() } }
            }
        }
        group.start()
        started.withLock { $0 = Started(group: group, states: states, listeners: listeners, address: address) }
        core.logger.info("listening", metadata: ["address": "\(address)", "threads": "\(group.loops.count)"])
        return address
    }

    /// Starts the io_uring loops on `socket`; false (nothing started) when a ring cannot be set up.
    private func startRings(socket: Socket, address: SocketAddress) -> Bool {
        let threads = max(1, core.configuration.threads)
        // Enough buffers that the budget's share of each loop is at most three quarters of them,
        // as a power of two between 64 and 1,024 (16 MiB of 16 KiB buffers, as the C reference).
        let share = core.configuration.maxBufferedBytes / threads / URingEchoLoop.bufferSize
        var count = 64
        while count < 1024 && count * 3 < share * 4 { count *= 2 }
        var rings: [URingEchoLoop] = []
        do throws(SocketError) {
            for index in 0..<threads { rings.append(try URingEchoLoop(index: index, core: core, bufferCount: count)) }
        } catch {
            core.logger.debug("io_uring is not available: serving on epoll", metadata: ["reason": "\(error.summary)"])
            return false
        }
        let fd = socket.fileDescriptor
        for ring in rings {
            let box = UnsafeTransfer(ring)
            ring.execute { box.value.startAccepting(fd) }
        }
        let listener = TCPEchoListener(socket: socket, states: [], core: core)
        for ring in rings { ring.start() }
        started.withLock {
            $0 = Started(group: nil, rings: rings, states: [], listeners: [listener], address: address)
        }
        core.logger.info(
            "listening", metadata: ["address": "\(address)", "threads": "\(threads)", "backend": "io_uring"])
        return true
    }

    /// Serves until a graceful shutdown (SIGINT/SIGTERM through a `ServiceGroup`, or the task
    /// being cancelled): then stops accepting, closes the listener, lets open connections finish
    /// up to `drainTimeout`, closes what is left and returns.
    ///
    /// With a `HitlessRestart`: the listener comes from systemd or the running instance when
    /// there is one; once a later instance takes it over, this one stops accepting, drains and
    /// returns just as on a graceful shutdown, leaving the listener open.
    /// - Throws: `SocketError` when binding fails; `ListenerHandoff.Failure` when a hand-off
    ///   fails (the instance that was running keeps serving).
    public func run() async throws {
        var inherited: [Socket] = []
        if let restart {
            inherited = try await offThePool { () throws(ListenerHandoff.Failure) in
                try restart.inheritedListeners(type: .stream)
            }
        }
        if inherited.count > 1 {
            core.logger.warning(
                "serving the first of \(inherited.count) inherited listening sockets; the others stay unused")
        }
        let address: SocketAddress
        do {
            address = try start(inherited: inherited.first)
        } catch {
            restart?.stop()  // drops a takeover unconfirmed: the old instance serves on
            throw error
        }
        if !inherited.isEmpty && address != core.configuration.listener.address {
            core.logger.info(
                "serving the inherited listener on \(address); \(core.configuration.listener.address) is not used")
        }
        if let restart, let running = started.withLock({ $0 }) {
            let sockets = running.listeners.map(\.socket)
            do throws(ListenerHandoff.Failure) {
                try await offThePool { () throws(ListenerHandoff.Failure) in
                    try restart.accepting(
                        listeners: sockets, names: ["echo"],
                        stopAccepting: { [self] pid in
                            setAccepting(false)
                            core.logger.info(
                                "pid \(pid) accepts on the listener: stopped accepting (the socket stays open)")
                        },
                        resumeAccepting: { [self] pid in
                            setAccepting(true)
                            core.logger.warning(
                                "pid \(pid) went away before it confirmed the hand-off: resumed accepting")
                        },
                        onHandedOff: { [self] pid in handOff(to: pid) })
                }
            } catch {
                restart.stop()
                await shutdown()
                throw error
            }
        }
        onListening(address)
        for await _ in core.handedOff.cancelOnGracefulShutdown() { break }
        // Finishes a hand-off in progress first, so that its outcome decides what shutdown does.
        restart?.stop()
        await shutdown()
    }

    /// Stops (a new instance accepts on our listeners) or resumes (it went away before it
    /// confirmed) accepting, on each listener's loop, before returning; the listeners stay open
    /// throughout. Called on the hand-off thread.
    private func setAccepting(_ accepting: Bool) {
        guard let running = started.withLock({ $0 }) else { return }
        if !running.rings.isEmpty {
            let fd = running.listeners[0].fd
            for ring in running.rings {
                let box = UnsafeTransfer(ring)
                let done = DispatchSemaphore(value: 0)
                ring.execute {
                    if accepting {
                        box.value.startAccepting(fd)
                        done.signal()
                    } else {
                        box.value.stopAccepting { done.signal() }
                    }
                }
                if done.wait(timeout: .now() + .seconds(5)) == .timedOut {
                    core.logger.warning("the event loop did not \(accepting ? "resume" : "stop") accepting within 5 s")
                }
            }
            return
        }
        guard let group = running.group else { return }
        for (index, listener) in running.listeners.enumerated() {
            let loop = group.loops[index]
            let box = UnsafeTransfer(listener)
            let done = DispatchSemaphore(value: 0)
            loop.execute {
                if accepting { box.value.resumeAccepting(on: loop) } else { box.value.stopAccepting(on: loop) }
                done.signal()
            }
            if done.wait(timeout: .now() + .seconds(5)) == .timedOut {
                core.logger.warning("the event loop did not \(accepting ? "resume" : "stop") accepting within 5 s")
            }
        }
    }

    /// The new instance confirmed: let `run()` drain. Called on the hand-off thread.
    private func handOff(to pid: Int32) {
        core.handedOffTo.store(pid, ordering: .releasing)
        core.logger.info("handed the listener to pid \(pid) (the socket stays open)")
        core.handedOffContinuation.yield(pid)
    }

    /// Stops accepting and drains (what `run()` does on a graceful shutdown). The listeners are
    /// closed, unless a new instance took them over: then they stay open until this server is
    /// released.
    public func shutdown() async {
        guard let running = started.withLock({ $0 }) else { return }
        core.draining.store(true, ordering: .releasing)
        let successor = core.handedOffTo.load(ordering: .acquiring)
        if successor != 0 {
            retainedListeners.withLock { $0 += running.listeners.map(\.socket) }
        } else if !running.rings.isEmpty {
            // Each ring's accept ends first: from then on, connecting is refused.
            for ring in running.rings {
                let box = UnsafeTransfer(ring)
                await withCheckedContinuation { (ended: CheckedContinuation<Void, Never>) in
                    ring.execute { box.value.stopAccepting { ended.resume() } }
                }
            }
            try? running.listeners[0].socket.close()
        } else if let group = running.group {
            // Wait until the loops have closed the listeners: from here on, connecting is refused.
            for (index, listener) in running.listeners.enumerated() {
                let loop = group.loops[index]
                let box = UnsafeTransfer(listener)
                await withCheckedContinuation { (closed: CheckedContinuation<Void, Never>) in
                    loop.execute {
                        box.value.close(on: loop)
                        closed.resume()
                    }
                }
            }
        }
        // `draining` is set before this read: a count that reaches zero later yields on
        // `drained` (buffered), so the wait below cannot miss it.
        let open = core.connectionCount.load(ordering: .acquiring)
        core.logger.info(
            successor != 0
                ? "handed off to pid \(successor): draining connections"
                : "shutting down: stopped accepting, draining connections",
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
                await group.next()
                group.cancelAll()
            }
        }
        let left = core.connectionCount.load(ordering: .acquiring)
        if left > 0 { core.logger.info("closing the connections still open", metadata: ["open": "\(left)"]) }
        for state in running.states {
            let box = UnsafeTransfer(state)
            state.loop.execute { box.value.closeAll() }
        }
        if !running.rings.isEmpty {
            for ring in running.rings {
                let box = UnsafeTransfer(ring)
                ring.execute { box.value.closeAll() }
            }
            let rings = running.rings.map { UnsafeTransfer($0) }
            await offThePool {
                for ring in rings {
                    ring.value.stop()
                    ring.value.join()
                }
            }
        }
        await running.group?.shutdownGracefully()
        core.budget.onChange(nil)
        started.withLock { $0 = nil }
        core.logger.info("stopped")
    }
}
