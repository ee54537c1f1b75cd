import ArgumentParser
import Sockit
import SockitPorts

/// The `sockit` command. Exit status (DESIGN.md): 0 success, 1 nothing found or condition not
/// met, 2 usage or system error. ArgumentParser's own codes (64 for usage) are mapped in `main`.
///
/// A library target so that the executable is one line (`Sources/SockitCLI/main.swift`) and the
/// argument parsing can be exercised in-process (fuzzing, tests).
public struct SockitCommand: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "sockit",
        abstract: "Sockets done right: typed options, servers that restart at once, port diagnostics.",
        discussion: """
            "Address already in use" (errno 98) has two causes: connections in TIME_WAIT after a \
            server closed (SO_REUSEADDR fixes it), or a process that still holds the port (it must \
            stop). sockit tells them apart, names the process, and serves without the problem.

            Exit status: 0 success, 1 nothing found or condition not met, 2 usage or system \
            error. With --json, stdout carries one JSON document and nothing else.
            """,
        version: sockitVersion,
        subcommands: [Options.self, Echo.self, Send.self, Listen.self, Who.self, Free.self, Wait.self, Pick.self]
    )

    /// Runs the command and maps every outcome to DESIGN.md's exit statuses and one-sentence errors.
    public static func execute() async -> Never {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            finish(error)
        }
        finish(nil)
    }

    /// Reports `error` (if any), flushes stdout and exits with the status DESIGN.md gives it.
    static func finish(_ error: (any Error)?) -> Never {
        let code = error.map(ErrorReport.report) ?? 0
        flushStandardStreams()
        Sys.exit(code)
    }
}

extension SockitCommand {
    /// A usage error in one line: ArgumentParser's first line (what is wrong), then where the help
    /// is. A negative number is explained, since the parser takes `-1` for an unknown option.
    static func usageLine(_ message: String, arguments: [String]) -> String {
        let lines = message.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        var first = lines.first ?? "invalid usage"
        if first.hasPrefix("Error: ") { first.removeFirst(7) }
        if let negative = arguments.first(where: { $0.count > 1 && $0.hasPrefix("-") && Double($0) != nil }),
            first.contains("Missing expected argument") || first.contains("Unknown option '\(negative)'")
                || first.contains("Unexpected argument")
        {
            first = "invalid value \(negative): ports are 1 to 65535, and counts and times are not negative"
        }
        // "Missing expected argument" → "missing expected argument", like sockit's own messages.
        if let head = first.first, head.isUppercase, first.dropFirst().first?.isLowercase == true {
            first = head.lowercased() + first.dropFirst()
        }
        let help = lines.first { $0.contains("--help' for more information") }
            .flatMap { line -> String? in
                guard let open = line.firstIndex(of: "'"), let close = line.lastIndex(of: "'"), open < close else {
                    return nil
                }
                return String(line[line.index(after: open)..<close])
            }
        return help.map { "\(first) (see: \($0))" } ?? first
    }
}

let sockitVersion = "0.1.0"

extension SockitCommand {
    /// Parses `arguments` (without the program name) as the command line would, runs nothing,
    /// and returns the exit status `sockit` would exit with and the message a parse error would
    /// print (nil when it parses). For fuzzing the argument parser in-process.
    @_spi(Fuzzing) public static func parseOnly(_ arguments: [String]) -> (status: Int32, message: String)? {
        do {
            var command = try parseAsRoot(arguments)
            try command.validate()
            return nil
        } catch {
            return (ErrorReport.status(for: error), fullMessage(for: error))
        }
    }
}
