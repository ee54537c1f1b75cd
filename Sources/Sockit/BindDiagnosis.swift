/// What a `BindDiagnoser` found: the lines that explain the failed bind, and what to do.
public struct BindDiagnosis: Sendable, Hashable {
    public var explanation: [String]
    public var remedies: [Remedy]

    public init(explanation: [String], remedies: [Remedy]) {
        self.explanation = explanation
        self.remedies = remedies
    }
}
