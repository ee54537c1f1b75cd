/// The one shape of sockit's errors: what failed, on what and why in one sentence (`summary`),
/// the lines that explain it (`explanation`), what to do (`remedies`, typed), and whether it is
/// a failure or only a condition that was not met (`kind`).
///
/// Every error the libraries throw conforms: `SocketError`, `SocketAddress.ParseError`,
/// `ProcessError`, `SocketTableError`, the hand-off's failures. A caller shows them one way:
///
/// ```swift
/// catch let error as any SockitError {
///     print(error.summary)
///     for line in error.explanation { print("  " + line) }
///     for remedy in error.remedies { print("  " + remedy.description) }
/// }
/// ```
///
/// `description` is that text, with the remedies in the library's words; the `sockit` command
/// prints the remedies as `sockit …` commands instead, and maps `kind` to its exit status.
public protocol SockitError: Error, Sendable, CustomStringConvertible {
    /// One sentence: `cannot bind 127.0.0.1:8080: address already in use (EADDRINUSE, errno 98)`.
    var summary: String { get }
    /// Lines that explain the cause, most useful first. They name no tool and give no advice:
    /// that is `remedies`.
    var explanation: [String] { get }
    /// What to do about it, most useful first.
    var remedies: [Remedy] { get }
    /// A failure, or a condition that was not met (nothing found, not in time).
    var kind: SockitErrorKind { get }
}

extension SockitError {
    public var explanation: [String] { [] }
    public var remedies: [Remedy] { [] }
    public var kind: SockitErrorKind { .failure }

    /// The summary, then each line of the explanation and each remedy (rendered by `remedy`),
    /// indented by two spaces.
    public func lines(remedy: (Remedy) -> String = \.description) -> [String] {
        [summary] + explanation.map { "  " + $0 } + remedies.map { "  " + remedy($0) }
    }

    /// The summary, the explanation and the remedies in the library's words, one per line.
    public var description: String { lines().joined(separator: "\n") }
}
