import Sockit

/// A holder's supervisor, and how to stop the holder for good through it
/// (`Supervision.advice(for:port:)`).
public struct SupervisorAdvice: Sendable, Hashable {
    /// What runs the holder: a service, a container, a manager holding the socket itself.
    public var supervisor: Supervisor
    /// What stops it for good: `.stopUnits(["nginx.service"], manager: .system)`,
    /// `.stopContainer(tool: "docker", id: "0123456789ab")`, `.findSocketUnit(port:manager:)`
    /// when a manager's `.socket` unit could not be told, …
    public var remedies: [Remedy]

    /// Advice to stop `supervisor`'s process with `remedies`.
    public init(supervisor: Supervisor, remedies: [Remedy]) {
        self.supervisor = supervisor
        self.remedies = remedies
    }
}
