import ArgumentParser
import Sockit

/// How `sockit` reports an error, and the exit status it gives it: the one place that maps
/// errors to DESIGN.md's statuses (0 success, 1 nothing found or condition not met, 2 usage or
/// system error) and prints them on stderr (`sockit: ` and one sentence, then the explanation and
/// the remedies as `sockit` commands, indented).
enum ErrorReport {
    /// Prints `error` and returns the exit status.
    static func report(_ error: any Error) -> Int32 {
        switch error {
        case let error as any SockitError:
            let lines = error.lines(remedy: \.commandLineText)
            if !error.summary.isEmpty { printError("sockit: " + lines.joined(separator: "\n")) }
        case is ExitCode:
            break
        default:
            let code = SockitCommand.exitCode(for: error)
            let message = SockitCommand.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { print(message) }
            } else if code.rawValue == 64 || error is ValidationError {
                printError(
                    "sockit: "
                        + SockitCommand.usageLine(message, arguments: Array(CommandLine.arguments.dropFirst())))
            } else {
                printError("sockit: " + message)
            }
        }
        return status(for: error)
    }

    /// The exit status for `error`: 1 for a condition not met, 2 for a failure or a usage error
    /// (ArgumentParser's 64 for usage becomes 2), 0 for help and the version.
    static func status(for error: any Error) -> Int32 {
        switch error {
        case let error as any SockitError: return error.kind == .notMet ? 1 : 2
        case let code as ExitCode: return code.rawValue
        default: return SockitCommand.exitCode(for: error) == .success ? 0 : 2
        }
    }
}
