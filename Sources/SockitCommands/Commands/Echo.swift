import ArgumentParser
import CSockit
import Logging
import ServiceLifecycle
import Sockit
import SockitPorts
import SockitServer

/// `sockit echo`: the TCP (or UDP) echo server that restarts at once and shuts down gracefully.
struct Echo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Run an echo server: event loops on epoll, instant restart, graceful shutdown.",
        discussion: """
            Prints "listening on HOST:PORT" on stdout once it accepts (the real port when given \
            port 0). SO_REUSEADDR is on, so a restart after Ctrl-C or kill -9 binds at once even \
            while old connections sit in TIME_WAIT; --no-reuse-address shows the classic \
            "address already in use" instead.

            SIGINT or SIGTERM: stop accepting, close the listener, let open connections finish \
            for up to --drain-timeout, exit 0. A second signal ends the drain at once.

            Hitless restart: start every instance with --handoff PATH. A new instance takes the \
            listening socket from the one running at PATH (nobody there: it binds), starts \
            accepting, and only then lets the old one go; the old one stops accepting without \
            closing the socket, drains its connections and exits 0. No connection is refused or \
            reset. PATH is a Unix socket of mode 0600, served only to the same user or root.

            systemd socket activation: started with LISTEN_PID/LISTEN_FDS (a .socket unit, or \
            systemd-socket-activate), it serves the inherited socket and ignores ADDRESS.

            Examples:
              sockit echo                          TCP on 127.0.0.1:65432
              sockit echo 127.0.0.1:0              any free port (printed)
              sockit echo [::1]:7000 --udp         UDP over IPv6
              sockit echo --threads 1 --nodelay --idle-timeout 30
              sockit echo --handoff /tmp/echo.sock the same command again: hitless restart
              sockit echo --io-uring               TCP on io_uring (epoll where refused)
              systemd-socket-activate -l 127.0.0.1:7000 sockit echo
            """
    )

    @Argument(help: "The address to listen on (HOST:PORT, [IPv6]:PORT).")
    var address = "127.0.0.1:65432"

    @Flag(help: "Echo UDP datagrams instead of TCP.")
    var udp = false

    @Option(
        parsing: .unconditional,
        help: "Event-loop threads for TCP (default: the cores it may run on, so taskset counts; UDP uses one).")
    var threads: Int?

    @Flag(help: "Set SO_REUSEPORT: several processes may listen on the port together.")
    var reusePort = false

    @Flag(help: "Do not set SO_REUSEADDR: reproduces the classic errno 98 on a restart.")
    var noReuseAddress = false

    @Option(parsing: .unconditional, help: "The accept queue length (default: net.core.somaxconn).")
    var backlog: Int32?

    @Option(
        help: ArgumentHelp(
            "TCP keep-alive: idle seconds, then probe interval and count.", valueName: "IDLE[,INTVL,CNT]"))
    var keepalive: String?

    @Flag(help: "Set TCP_NODELAY on every connection.")
    var nodelay = false

    @Option(
        name: .customLong("recv-buffer"), parsing: .unconditional,
        help: ArgumentHelp("SO_RCVBUF in bytes (Linux doubles it).", valueName: "N"))
    var receiveBuffer: Int?

    @Option(
        name: .customLong("send-buffer"), parsing: .unconditional,
        help: ArgumentHelp("SO_SNDBUF in bytes (Linux doubles it).", valueName: "N"))
    var sendBuffer: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Close connections idle this long.", valueName: "SECONDS"))
    var idleTimeout: Double?

    @Option(
        parsing: .unconditional, help: ArgumentHelp("Close new connections at once beyond this many.", valueName: "N"))
    var maxConnections: Int?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("On SIGINT/SIGTERM, let connections finish this long.", valueName: "SECONDS"))
    var drainTimeout: Double = 10

    @Option(
        name: .customLong("max-buffered"), parsing: .unconditional,
        help: ArgumentHelp(
            "Bound on the memory all connections together hold for echoes their peers have not read yet (K, M, G: KiB, MiB, GiB). One connection holds at most 256 KiB. Near the bound, connections whose buffer is full stop reading, and the others echo only what their socket takes at once, until the total is an eighth lower. 0: hold none.",
            valueName: "BYTES"))
    var maxBuffered: String = "256M"

    @Option(
        help: ArgumentHelp(
            "Hitless restart through this Unix socket: take the listener from the instance running there, then serve it for the next one.",
            valueName: "PATH"))
    var handoff: String?

    @Option(
        parsing: .unconditional, help: ArgumentHelp("How long each step of a hand-off may take.", valueName: "SECONDS"))
    var handoffTimeout: Double = 10

    @Option(help: .hidden)
    var acceptStrategy: String?

    @Flag(help: "TCP: wait for connections with epoll (the default; README, \"io_uring\", says why).")
    var epoll = false

    @Flag(
        name: .customLong("io-uring"),
        help:
            "TCP: use io_uring (multishot accept and receive, batched sends); epoll where the kernel refuses it (--verbose says why)."
    )
    var ioUring = false

    @Flag(name: .customLong("verbose"), help: "Log each connection event (debug level) on stderr.")
    var verbose = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if epoll && ioUring { throw ValidationError("--epoll and --io-uring exclude each other: give one") }
        if let backlog, backlog < 1 { throw ValidationError("--backlog must be at least 1") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if let idleTimeout, !(idleTimeout > 0) { throw ValidationError("--idle-timeout must be more than 0 seconds") }
        if !(drainTimeout >= 0) { throw ValidationError("--drain-timeout must be 0 seconds or more") }
        if let receiveBuffer, receiveBuffer < 1 { throw ValidationError("--recv-buffer must be at least 1") }
        if let sendBuffer, sendBuffer < 1 { throw ValidationError("--send-buffer must be at least 1") }
        if let keepalive { _ = try Self.parseKeepAlive(keepalive) }
        _ = try Self.parseByteCount(maxBuffered, option: "--max-buffered")
        if !(handoffTimeout > 0) { throw ValidationError("--handoff-timeout must be more than 0 seconds") }
        if let handoff {
            if handoff.isEmpty {
                throw ValidationError("--handoff takes the path of a Unix socket, e.g. /tmp/echo.sock")
            }
            if handoff.utf8.count > HandoffServer.maximumPathLength {
                throw ValidationError(
                    "--handoff path is \(handoff.utf8.count) bytes long; a Unix socket path may have at most \(HandoffServer.maximumPathLength) here"
                )
            }
        }
    }

    static func parseKeepAlive(_ text: String) throws -> KeepAlive {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 1 || parts.count == 3, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError(
                "--keepalive takes IDLE or IDLE,INTVL,CNT in whole seconds (and a count), e.g. 60 or 60,10,5")
        }
        let values = parts.map { $0! }
        if values.count == 1 { return KeepAlive(idle: .seconds(values[0])) }
        return KeepAlive(idle: .seconds(values[0]), interval: .seconds(values[1]), count: values[2])
    }

    /// `BYTES`: a whole number of bytes, or of KiB, MiB or GiB with a suffix K, M or G (or KiB,
    /// MiB, GiB; any case).
    static func parseByteCount(_ text: String, option: String) throws -> Int {
        let units: [(suffix: String, size: Int)] = [
            ("KIB", 1 << 10), ("MIB", 1 << 20), ("GIB", 1 << 30), ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30),
        ]
        let upper = text.uppercased()
        let unit = units.first { upper.hasSuffix($0.suffix) }
        let digits = upper.dropLast(unit?.suffix.count ?? 0)
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else {
            throw ValidationError(
                "\(option) takes a number of bytes, with an optional suffix K, M or G (KiB, MiB, GiB), e.g. 8M")
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: unit?.size ?? 1)
        guard !overflow else { throw ValidationError("\(option) \(text) is too large") }
        return bytes
    }

    func run() async throws {
        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sockit.echo")

        var configuration = EchoConfiguration(address: try SocketAddress(address))
        if let threads { configuration.threads = threads }
        configuration.listener.reusePort = reusePort
        configuration.listener.reuseAddress = !noReuseAddress
        // A bind that fails with EADDRINUSE names the holder or the TIME_WAIT timers.
        configuration.listener.bindDiagnoser = PortInspector()
        if let backlog { configuration.listener.backlog = backlog }
        if let keepalive { configuration.listener.keepAlive = try Self.parseKeepAlive(keepalive) }
        configuration.listener.noDelay = nodelay
        configuration.listener.receiveBufferSize = receiveBuffer
        configuration.listener.sendBufferSize = sendBuffer
        configuration.idleTimeout = idleTimeout.map { .milliseconds(Int64($0 * 1000)) }
        configuration.maxConnections = maxConnections
        configuration.drainTimeout = .milliseconds(Int64(drainTimeout * 1000))
        configuration.maxBufferedBytes = try Self.parseByteCount(maxBuffered, option: "--max-buffered")
        configuration.secondSignalEndsDrain = true
        configuration.backend = ioUring ? .ioUring : .epoll
        if let acceptStrategy {
            guard let strategy = AcceptStrategy(rawValue: acceptStrategy) else {
                throw ValidationError("--accept-strategy takes handout or reuseport")
            }
            configuration.acceptStrategy = strategy
        }

        let announce: @Sendable (SocketAddress) -> Void = { address in
            print("listening on \(address)")
            flushStandardStreams()
        }
        // Always: a socket from systemd is used when there is one; the hand-off only with --handoff.
        let restart = HitlessRestart(
            path: handoff, timeout: .milliseconds(Int64(handoffTimeout * 1000)),
            log: { [logger] message in logger.info("\(message)") })
        let service: any Service =
            udp
            ? UDPEchoServer(configuration: configuration, logger: logger, restart: restart, onListening: announce)
            : TCPEchoServer(configuration: configuration, logger: logger, restart: restart, onListening: announce)
        // The server returns by itself after handing its socket over and draining: a success.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        // A hand-off's failure is a SockitError: exit 1 when a condition was not met (a timeout), 2
        // for a refusal or a system error.
        try await group.run()
    }
}
