import ArgumentParser
import Logging
import ServiceLifecycle
import Sockit
import SockitServer

/// `sockit echo`: the TCP (or UDP) echo server that restarts at once and shuts down gracefully.
struct Echo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an echo server: event loops on epoll, instant restart, graceful shutdown.",
        discussion: """
            Prints "listening on HOST:PORT" on stdout once it accepts (the real port when given \
            port 0). SO_REUSEADDR is on, so a restart after Ctrl-C or kill -9 binds at once even \
            while old connections sit in TIME_WAIT; --no-reuse-address shows the classic \
            "address already in use" instead.

            SIGINT or SIGTERM: stop accepting, close the listener, let open connections finish \
            for up to --drain-timeout, exit 0. A second signal ends the drain at once.

            Examples:
              sockit echo                          TCP on 127.0.0.1:65432
              sockit echo 127.0.0.1:0              any free port (printed)
              sockit echo [::1]:7000 --udp         UDP over IPv6
              sockit echo --threads 1 --nodelay --idle-timeout 30
            """
    )

    @Argument(help: "The address to listen on (HOST:PORT, [IPv6]:PORT).")
    var address = "127.0.0.1:65432"

    @Flag(help: "Echo UDP datagrams instead of TCP.")
    var udp = false

    @Option(help: "Event-loop threads for TCP (default: the number of cores; UDP uses one).")
    var threads: Int?

    @Flag(help: "Set SO_REUSEPORT: several processes may listen on the port together.")
    var reusePort = false

    @Flag(help: "Do not set SO_REUSEADDR: reproduces the classic errno 98 on a restart.")
    var noReuseAddress = false

    @Option(help: "The accept queue length (default: net.core.somaxconn).")
    var backlog: Int32?

    @Option(help: ArgumentHelp("TCP keep-alive: idle seconds, then probe interval and count.", valueName: "IDLE[,INTVL,CNT]"))
    var keepalive: String?

    @Flag(help: "Set TCP_NODELAY on every connection.")
    var nodelay = false

    @Option(name: .customLong("recv-buffer"), help: ArgumentHelp("SO_RCVBUF in bytes (Linux doubles it).", valueName: "N"))
    var receiveBuffer: Int?

    @Option(name: .customLong("send-buffer"), help: ArgumentHelp("SO_SNDBUF in bytes (Linux doubles it).", valueName: "N"))
    var sendBuffer: Int?

    @Option(help: ArgumentHelp("Close connections idle this long.", valueName: "SECONDS"))
    var idleTimeout: Double?

    @Option(help: ArgumentHelp("Close new connections at once beyond this many.", valueName: "N"))
    var maxConnections: Int?

    @Option(help: ArgumentHelp("On SIGINT/SIGTERM, let connections finish this long.", valueName: "SECONDS"))
    var drainTimeout: Double = 10

    @Option(help: .hidden)
    var acceptStrategy: String?

    @Flag(name: .customLong("verbose"), help: "Log each connection event (debug level) on stderr.")
    var verbose = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let backlog, backlog < 1 { throw ValidationError("--backlog must be at least 1") }
        if let maxConnections, maxConnections < 1 { throw ValidationError("--max-connections must be at least 1") }
        if let idleTimeout, !(idleTimeout > 0) { throw ValidationError("--idle-timeout must be more than 0 seconds") }
        if !(drainTimeout >= 0) { throw ValidationError("--drain-timeout must be 0 seconds or more") }
        if let receiveBuffer, receiveBuffer < 1 { throw ValidationError("--recv-buffer must be at least 1") }
        if let sendBuffer, sendBuffer < 1 { throw ValidationError("--send-buffer must be at least 1") }
        if let keepalive { _ = try Self.parseKeepAlive(keepalive) }
    }

    static func parseKeepAlive(_ text: String) throws -> KeepAlive {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0) }
        guard (parts.count == 1 || parts.count == 3), parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--keepalive takes IDLE or IDLE,INTVL,CNT in whole seconds (and a count), e.g. 60 or 60,10,5")
        }
        let values = parts.map { $0! }
        if values.count == 1 { return KeepAlive(idle: .seconds(values[0])) }
        return KeepAlive(idle: .seconds(values[0]), interval: .seconds(values[1]), count: values[2])
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
        if let backlog { configuration.listener.backlog = backlog }
        if let keepalive { configuration.listener.keepAlive = try Self.parseKeepAlive(keepalive) }
        configuration.listener.noDelay = nodelay
        configuration.listener.receiveBufferSize = receiveBuffer
        configuration.listener.sendBufferSize = sendBuffer
        configuration.idleTimeout = idleTimeout.map { .milliseconds(Int64($0 * 1000)) }
        configuration.maxConnections = maxConnections
        configuration.drainTimeout = .milliseconds(Int64(drainTimeout * 1000))
        configuration.secondSignalEndsDrain = true
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
        let service: any Service =
            udp
            ? UDPEchoServer(configuration: configuration, logger: logger, onListening: announce)
            : TCPEchoServer(configuration: configuration, logger: logger, onListening: announce)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [service], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
