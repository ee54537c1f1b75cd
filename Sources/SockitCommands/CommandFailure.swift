import Sockit
import SockitPorts

/// An error a command reports itself: one sentence (more lines may follow), what to do, and
/// whether a condition was not met (exit 1) or something failed (exit 2).
struct CommandFailure: SockitError {
    var summary: String
    var explanation: [String] = []
    var remedies: [Remedy] = []
    var kind: SockitErrorKind

    /// Exit 1: nothing found, condition not met (a timeout, a port still busy). An empty message
    /// prints nothing (the output already said it, or `--json` carries it).
    static func notMet(_ message: String, remedies: [Remedy] = []) -> CommandFailure {
        CommandFailure(summary: message, remedies: remedies, kind: .notMet)
    }

    /// Exit 2: a usage or system error.
    static func error(_ message: String, remedies: [Remedy] = []) -> CommandFailure {
        CommandFailure(summary: message, remedies: remedies, kind: .failure)
    }

    /// Exit 2: the socket table (netlink and /proc/net) could not be read.
    static func socketTable(_ error: SocketTableError) -> CommandFailure {
        .error("cannot read the socket table: \(error.summary)")
    }
}
