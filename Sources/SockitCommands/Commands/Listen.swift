import ArgumentParser
import Sockit

/// `sockit listen ADDRESS --udp`: print each datagram with its sender.
struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Print received UDP datagrams with their sender.",
        discussion: """
            Binds ADDRESS (SO_REUSEADDR), prints "listening on HOST:PORT", then one line per \
            datagram: "from SENDER (N bytes): TEXT". Bind 0.0.0.0 to receive broadcasts.

            --timeout is an idle timeout: listening ends when no datagram arrives for that long.

            Exit status: 0 after --count datagrams, or when the idle timeout ends listening after \
            at least one datagram; 1 when none arrived; 2 on error.

            Example:
              sockit listen 0.0.0.0:9999 --udp --timeout 5
            """
    )

    @Argument(help: "The address to bind (HOST:PORT).")
    var address: String

    @Flag(help: "Listen for UDP datagrams (the only kind this command receives).")
    var udp = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Stop when no datagram arrives for this many seconds (exit 1 only if none arrived at all).",
            valueName: "SECONDS"))
    var timeout: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Exit 0 after this many datagrams.", valueName: "N"))
    var count: Int?

    func validate() throws {
        guard udp else {
            throw ValidationError("sockit listen receives UDP datagrams: add --udp (for a TCP server use sockit echo)")
        }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        let local = try SocketAddress(address)
        let socket = try Socket(for: local, .datagram)
        try socket.setOption(.reuseAddress, true)
        try socket.bind(to: local)
        print("listening on \(try socket.localAddress())")
        flushStandardStreams()
        let limit = timeout.map { Duration.milliseconds(Int64($0 * 1000)) }
        var received = 0
        while count.map({ received < $0 }) ?? true {
            guard let (bytes, sender) = try socket.receiveFrom(timeout: limit) else {
                if received > 0 { return }  // an idle timeout: what arrived was printed
                throw CommandFailure.notMet(
                    "no datagram on \(try socket.localAddress()) within \(limit!.secondsDescription)")
            }
            print(datagramLine(bytes, from: sender))
            flushStandardStreams()
            received += 1
        }
    }
}
