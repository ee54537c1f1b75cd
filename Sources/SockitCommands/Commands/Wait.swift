import ArgumentParser
import Sockit
import SockitPorts

/// `sockit wait PORT --listening|--free`: for scripts and CI.
struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until a port is listened on, or until it is let go (for scripts and CI).",
        discussion: """
            Polls the socket table (every 5 ms at first, then up to every 100 ms); it never \
            connects, so the server sees nothing. --listening: a TCP socket listens on PORT \
            (with --udp: a UDP socket is bound to it). --free: none does any more; TIME-WAIT \
            connections do not count, since a server with SO_REUSEADDR binds over them \
            (sockit who PORT shows them).

            Exit status: 0 when the condition holds, 1 on timeout, 2 on an error.

            Examples:
              sockit echo 127.0.0.1:7000 & sockit wait 7000 --listening
              sockit wait 7000 --listening --timeout 5 --json
              sockit wait 8080 --free --timeout 10
            """
    )

    enum Condition: String, EnumerableFlag {
        case listening, free

        static func help(for value: Condition) -> ArgumentHelp? {
            switch value {
            case .listening: return "Wait until something listens on the port."
            case .free: return "Wait until nothing listens on the port."
            }
        }
    }

    @Argument(help: ArgumentHelp("The port.", valueName: "PORT"))
    var target: String

    @Flag(help: "What to wait for.")
    var condition: Condition

    @Flag(help: "A UDP port (a bound socket) instead of TCP.")
    var udp = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Give up after this many seconds (0: check once).", valueName: "SECONDS"))
    var timeout: Double = 30

    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try PortArgument.parse(target)
        guard WaitRequest.isValid(timeout: timeout) else {
            throw ValidationError("--timeout takes seconds from 0 up, not \(Free.number(timeout))")
        }
    }

    /// What was asked, without ArgumentParser: `QuickCommand` builds the same from the words.
    var request: WaitRequest {
        get throws {
            WaitRequest(
                target: try PortArgument.parse(target), condition: condition == .listening ? .listening : .free,
                udp: udp, timeout: timeout, json: output.json)
        }
    }

    func run() async throws { try request.run() }
}

/// `sockit wait`, parsed.
struct WaitRequest: Equatable, Sendable {
    var target: PortArgument
    var condition: PortWaiter.Condition
    var udp = false
    /// Seconds, 0 up (validated).
    var timeout: Double = 30
    var json = false

    /// Whether a timeout in seconds is one `--timeout` takes.
    static func isValid(timeout: Double) -> Bool { timeout >= 0 && timeout.isFinite && timeout <= 31_536_000 }

    func run() throws {
        let port = target.port
        let clock = ContinuousClock()
        let start = clock.now
        let met: Bool
        do {
            met = try PortWaiter().wait(
                for: condition, port: port, transport: udp ? .udp : .tcp,
                timeout: .milliseconds(Int64(timeout * 1000)))
        } catch {
            throw CommandFailure.socketTable(error)
        }
        let elapsed = clock.now - start
        let what = condition == .listening ? "listening" : "free"
        if json {
            JSON.object([
                ("port", .int(Int(port))), ("protocol", .string(udp ? "udp" : "tcp")), ("condition", .string(what)),
                ("met", .bool(met)), ("elapsed_ms", .int(Int(elapsed.milliseconds))),
            ]).print()
            if !met { throw CommandFailure.notMet("") }
            return
        }
        if met {
            printLine("port \(port) is \(what) (after \(Free.seconds(Double(elapsed.milliseconds) / 1000)))")
        } else {
            throw CommandFailure.notMet(
                "port \(port) is still not \(what) after \(Free.seconds(timeout))"
                    + (condition == .free ? "; see who holds it: sockit who \(port)" : ""))
        }
    }
}
