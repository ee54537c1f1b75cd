import Dispatch
import Logging
import ServiceLifecycle
import Sockit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The UDP echo server: each datagram goes back to its sender. One socket on one loop (a
/// datagram socket has no connections to spread over loops), read and answered in batches of
/// up to 32 datagrams per `recvmmsg`/`sendmmsg`; replies the send buffer cannot take yet wait
/// for it, they are not dropped. A `Service`: on a graceful shutdown it closes the socket and
/// returns (UDP has nothing to drain).
///
/// With a `HitlessRestart` the socket may come from systemd or the running instance; when a
/// later instance takes it over, this one stops reading (datagrams queue on the shared socket
/// for the new one), leaves the socket open, and returns once the new instance confirmed; it
/// reads again if the new instance went away before it confirmed.
public final class UDPEchoServer: Service, Sendable {
    private let configuration: EchoConfiguration
    private let logger: Logger
    private let restart: HitlessRestart?
    private let onListening: @Sendable (SocketAddress) -> Void
    /// The socket, after a hand-off: kept open until this server is released.
    private let retained = Locked<Socket?>(nil)

    /// A server, not yet bound: `run()` binds and serves.
    ///
    /// - Parameters:
    ///   - configuration: only its `listener` (address and socket options) applies: one socket
    ///     is served on one loop, and there are no connections to limit or drain.
    ///   - logger: where the server logs hand-offs and errors (it never prints).
    ///   - restart: where the socket may come from (systemd, a running instance) and where the
    ///     next instance will find it; nil: always bind, never hand off.
    ///   - onListening: called with the bound address (the real port when port 0 was asked)
    ///     once datagrams are read.
    public init(
        configuration: EchoConfiguration, logger: Logger, restart: HitlessRestart? = nil,
        onListening: @escaping @Sendable (SocketAddress) -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.logger = logger
        self.restart = restart
        self.onListening = onListening
    }

    /// Binds (or takes the socket from systemd or the running instance), echoes each datagram to
    /// its sender until a graceful shutdown or a completed hand-off, and returns.
    ///
    /// - Throws: `SocketError` when binding fails; `ListenerHandoff.Failure` when a hand-off
    ///   fails (the instance that was running keeps serving).
    public func run() async throws {
        var inherited: [Socket] = []
        if let restart {
            inherited = try await offThePool { () throws(ListenerHandoff.Failure) in
                try restart.inheritedListeners(type: .datagram)
            }
        }
        if inherited.count > 1 {
            logger.warning("serving the first of \(inherited.count) inherited sockets; the others stay unused")
        }
        var listenerConfiguration = configuration.listener
        if let first = inherited.first { listenerConfiguration.listener = first }
        let socket: Socket
        let address: SocketAddress
        let group: EventLoopGroup
        let loop: EventLoop
        let handler: UDPEchoHandler
        do throws(SocketError) {
            socket = try listenerConfiguration.makeListener(type: .datagram)
            address = try socket.localAddress()
            group = try EventLoopGroup(count: 1, start: false)
            loop = group.loops[0]
            handler = UDPEchoHandler(socket: socket, logger: logger)
            try loop.register(handler, fd: handler.fd, interest: .read)
        } catch {
            restart?.stop()  // drops a takeover unconfirmed: the old instance serves on
            throw error
        }
        group.start()
        let box = UnsafeTransfer(handler)
        let (handedOff, handedOffContinuation) = AsyncStream.makeStream(of: Int32.self)
        let successor = Successor()
        if !inherited.isEmpty && address != configuration.listener.address {
            logger.info("serving the inherited socket on \(address); \(configuration.listener.address) is not used")
        }
        let logger = logger
        // A new instance reads from the socket (stop), or went away before it confirmed (resume).
        let setReading: @Sendable (Bool) -> Void = { reading in
            let done = DispatchSemaphore(value: 0)
            loop.execute {
                if reading { box.value.resumeReading(on: loop) } else { box.value.stopReading(on: loop) }
                done.signal()
            }
            if done.wait(timeout: .now() + .seconds(5)) == .timedOut {
                logger.warning("the event loop did not \(reading ? "resume" : "stop") reading within 5 s")
            }
        }
        let onHandedOff: @Sendable (Int32) -> Void = { pid in
            successor.pid.store(pid, ordering: .releasing)
            logger.info("handed the socket to pid \(pid) (the socket stays open)")
            handedOffContinuation.yield(pid)
        }
        if let restart {
            do throws(ListenerHandoff.Failure) {
                try await offThePool { () throws(ListenerHandoff.Failure) in
                    try restart.accepting(
                        listeners: [socket], names: ["echo"],
                        stopAccepting: { pid in
                            setReading(false)
                            logger.info("pid \(pid) reads from the socket: stopped reading (the socket stays open)")
                        },
                        resumeAccepting: { pid in
                            setReading(true)
                            logger.warning("pid \(pid) went away before it confirmed the hand-off: resumed reading")
                        },
                        onHandedOff: onHandedOff)
                }
            } catch {
                restart.stop()
                loop.execute { box.value.close(on: loop) }
                await group.shutdownGracefully()
                throw error
            }
        }
        logger.info("listening", metadata: ["address": "\(address)", "protocol": "udp"])
        onListening(address)
        for await _ in handedOff.cancelOnGracefulShutdown() { break }
        restart?.stop()
        if successor.pid.load(ordering: .acquiring) != 0 {
            retained.withLock { $0 = socket }
        } else {
            loop.execute { box.value.close(on: loop) }
        }
        await group.shutdownGracefully()
        logger.info("stopped")
    }
}

/// The pid of the instance that took the socket over (0: none yet).
private final class Successor: Sendable {
    let pid = Atomic<Int32>(0)
}
