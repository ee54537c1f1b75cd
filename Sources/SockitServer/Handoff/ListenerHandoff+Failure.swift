import Sockit

extension ListenerHandoff {
    /// Why a hand-off failed: one sentence (`summary`), what it means, and what to do.
    public struct Failure: SockitError {
        /// `cannot take over from the instance at /run/echo.sock (pid 42): it did not answer within 10 s`.
        public var summary: String
        /// Lines that explain the cause.
        public var explanation: [String]
        /// What to do about it.
        public var remedies: [Remedy]
        /// The hand-off did not happen because a condition was not met (a timeout, an instance
        /// that gave up waiting), as opposed to a refusal or a system error.
        public var conditionNotMet: Bool

        /// A failure saying `summary`; `conditionNotMet` makes its `kind` `.notMet`.
        public init(
            _ summary: String, explanation: [String] = [], remedies: [Remedy] = [], conditionNotMet: Bool = false
        ) {
            self.summary = summary
            self.explanation = explanation
            self.remedies = remedies
            self.conditionNotMet = conditionNotMet
        }

        /// A failure whose cause is `error`: its explanation and remedies carry over.
        init(_ summary: String, cause error: SocketError) {
            self.init(summary, explanation: error.explanation, remedies: error.remedies)
        }

        /// `.notMet` when `conditionNotMet`, else `.failure`.
        public var kind: SockitErrorKind { conditionNotMet ? .notMet : .failure }
    }
}
