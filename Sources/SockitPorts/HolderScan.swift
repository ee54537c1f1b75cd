/// What a search for holders found.
public struct HolderScan: Sendable {
    /// The holders of each inode that was found, by inode.
    public var holders: [UInt64: [SocketHolder]] = [:]
    /// Processes whose descriptors this user may not read (another user's, without privilege).
    /// A socket with no holder found may belong to one of them.
    public var unreadableProcesses: Int = 0
    /// Processes whose descriptors were read.
    public var processesScanned: Int = 0
    /// Listeners' reuse options read along with their holders' descriptors (a listing's search
    /// does: the thread that found the process has it at hand); `PortInspector` reads the rest.
    var reuseOptions: [ReuseReads.Result] = []

    /// An empty result: no holder, no process read.
    public init() {}
}
