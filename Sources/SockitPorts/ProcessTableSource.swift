/// Where the processes come from: `/proc` on Linux (`ProcProcessTable`).
public protocol ProcessTableSource: Sendable {
    /// Finds the processes that hold the sockets with these inodes; `owners` gives each inode's
    /// uid (from the socket table), which decides where to look first.
    func holders(of owners: [UInt64: UInt32], search: HolderSearch) -> HolderScan
    /// The process's command line, or nil when it is gone.
    func commandLine(of pid: Int32) -> String?
    /// Whether the process still has a descriptor that refers to the socket `inode`.
    func holds(pid: Int32, inode: UInt64) -> Bool
    /// Starts a search whose sockets are not known yet: a source may begin reading processes
    /// now, while the socket table is read, and finish once `holders(of:)` says which inodes.
    func startSearch(_ search: HolderSearch) -> any PendingHolderSearch
}

extension ProcessTableSource {
    /// Reads nothing ahead: `holders(of:)` does the whole search.
    public func startSearch(_ search: HolderSearch) -> any PendingHolderSearch {
        DeferredHolderSearch(source: self, search: search)
    }
}
