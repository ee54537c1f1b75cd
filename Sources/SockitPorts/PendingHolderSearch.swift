/// A holder search started before the sockets were known (`ProcessTableSource.startSearch`).
/// Call `holders(of:)` once with the sockets, or `cancel()` when there are none to look for.
public protocol PendingHolderSearch: Sendable {
    /// The holders of these inodes (each with its owner's uid), as `holders(of:search:)` gives.
    func holders(of owners: [UInt64: UInt32]) -> HolderScan
    /// Stops what was started; nothing is waited for.
    func cancel()
}
