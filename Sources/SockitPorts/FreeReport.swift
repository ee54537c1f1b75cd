/// What `PortFreer.free` did, and whether the port is free at the end.
public struct FreeReport: Sendable {
    /// How the sequence ended.
    public enum Outcome: Sendable, Hashable {
        /// No process holds the port; `verdict` says whether it binds.
        case noHolder
        /// No holder was found, but a socket on the port belongs to a process this user cannot
        /// see (another user's); `verdict` says more. Look again as root.
        case hiddenHolder
        /// Every holder was refused (`Candidate.refusal`): nothing was signalled.
        case allRefused
        /// A dry run: the candidates were found, nothing was signalled.
        case dryRun
        /// `confirm` answered no: nothing more was signalled.
        case declined
        /// The holders were signalled (and killed where needed), and the bind was checked.
        case stopped
    }

    /// The port that was freed.
    public var port: UInt16
    /// The first signal sent.
    public var signal: Int32
    /// Whether it was a dry run: holders found, nothing signalled.
    public var dryRun: Bool
    /// How it ended.
    public var outcome: Outcome
    /// Every process found holding the port, in the order found (those the first search missed last).
    public var candidates: [PortFreer.Candidate]
    /// The processes the first signal was sent to.
    public var signalled: [Int32] = []
    /// The processes sent `SIGKILL` after the grace time.
    public var killed: [Int32] = []
    /// The candidates not signalled because they exited or let the port go before the signal.
    public var skipped: [Int32] = []
    /// The processes still alive after `SIGKILL`.
    public var stillAlive: [Int32] = []
    /// Whether the address binds at the end; nil when no bind was checked (`.allRefused`,
    /// `.dryRun`, `.declined`).
    public var verdict: BindVerdict?
    /// The transports whose sockets came from `/proc/net` because netlink is not available here.
    public var tableFallbacks: [SocketTableFallback] = []

    /// Whether the port binds at the end.
    public var isFree: Bool { verdict?.bindable ?? false }
}
