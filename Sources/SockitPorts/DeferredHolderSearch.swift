/// The search that starts when it is told what to look for.
struct DeferredHolderSearch: PendingHolderSearch {
    var source: any ProcessTableSource
    var search: HolderSearch

    func holders(of owners: [UInt64: UInt32]) -> HolderScan { source.holders(of: owners, search: search) }
    func cancel() {}
}
