/// What `PortFreer.free` is doing, told as it happens (its `progress` callback), so that a caller
/// can show it: `sockit free` prints a line for most of them.
public enum FreeProgress: Sendable {
    /// A wait for the signalled processes to exit.
    public enum Stage: Sendable, Hashable {
        /// After the first signal, up to the grace time.
        case exit
        /// After `SIGKILL`.
        case kill
    }

    /// The first search is done: the holders found (none: nothing to signal), and the transports
    /// whose sockets came from `/proc/net` because netlink is not available here.
    case foundHolders([PortFreer.Candidate], tableFallbacks: [SocketTableFallback])
    /// The port is still busy (`verdict`) once the holders found are gone: every process is read,
    /// because the first search follows only the fork family of the holders it finds.
    case readingEveryProcess(verdict: BindVerdict)
    /// That reading found holders the first search missed; they are stopped the same way.
    case foundMoreHolders([PortFreer.Candidate], verdict: BindVerdict)
    /// The process no longer holds the port (or is gone), so it is not signalled;
    /// `exitedBeforeSignal`: it was there when its pidfd was opened, and exited before the signal.
    case skipped(pid: Int32, exitedBeforeSignal: Bool)
    /// `signal` was sent to the process through its pidfd.
    case signalled(pid: Int32, signal: Int32)
    /// A signal could not be sent (the process is left as it is).
    case signalFailed(ProcessError)
    /// The processes of `pids` are still alive after `elapsed` of `timeout`; told about ten
    /// times a second while waiting.
    case waiting(pids: [Int32], elapsed: Duration, timeout: Duration, stage: Stage)
    /// The process exited, seen `after` that long into the wait (nil: seen when the wait ended).
    case exited(pid: Int32, after: Duration?)
    /// A wait is over (every process exited, or its time ran out).
    case waitOver(Stage)
    /// The process did not exit within the grace time: `SIGKILL` was sent.
    case escalated(pid: Int32)
    /// The process is still alive after `SIGKILL` and its wait (stuck in the kernel).
    case stillAlive(pid: Int32)
    /// The holders are gone: a bind of the address is tried.
    case checkingBind
}
