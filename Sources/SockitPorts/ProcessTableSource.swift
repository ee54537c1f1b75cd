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
    /// Starts a search for listeners whose inodes are not known yet (every listener of the
    /// machine): a source may list the processes now, while the kernel is asked, but reads none
    /// before `holders(of:)`. Listeners do not come and go as connections do, and the kernel
    /// lists them quickly, so reading ahead would gain little; and a process read ahead must be
    /// read again for any socket that has no holder after the search (one made after its process
    /// was read), which a listener held out of sight (another pid namespace's, the kernel's)
    /// would cost for every process.
    func startListenerSearch(_ search: HolderSearch) -> any PendingHolderSearch
}

extension ProcessTableSource {
    /// Reads nothing ahead: `holders(of:)` does the whole search.
    public func startSearch(_ search: HolderSearch) -> any PendingHolderSearch {
        DeferredHolderSearch(source: self, search: search)
    }

    /// `startSearch(_:)`.
    public func startListenerSearch(_ search: HolderSearch) -> any PendingHolderSearch { startSearch(search) }
}
