/// What a `BindDiagnoser` found: the lines that explain the failed bind, and what to do.
public struct BindDiagnosis: Sendable, Hashable {
    /// Lines that say what holds the address (a holder's pid and command, TIME_WAIT connections
    /// and how long they stay); they become the error's `SocketError.explanation`.
    public var explanation: [String]
    /// What to do about it; they become the error's `SocketError.remedies`.
    public var remedies: [Remedy]

    /// A diagnosis with the given lines and remedies.
    public init(explanation: [String], remedies: [Remedy]) {
        self.explanation = explanation
        self.remedies = remedies
    }
}
