import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// `ProcProcessTable.startSearch`: a thread lists the processes and reads each one's sockets, in
/// pid order, until `holders(of:)` says which sockets (the thread then goes on with the rest of
/// the search, alongside the caller) or `cancel()`. A search for listeners lists the processes
/// only, then waits for `holders(of:)`, and reads the listeners' reuse options from the holders
/// it finds.
final class ProcReadAhead: PendingHolderSearch {
    private let table: ProcProcessTable
    private let search: HolderSearch
    private let scan: ProcScan

    init(table: ProcProcessTable, search: HolderSearch, forListeners: Bool = false) {
        self.table = table
        self.search = search
        scan = ProcScan(untilFound: search == .fast, readsAhead: !forListeners, readsReuseOptions: forListeners)
        scan.startHelpers(upTo: 1)
    }

    func holders(of owners: [UInt64: UInt32]) -> HolderScan {
        table.holders(of: owners, search: search, scan: scan)
    }

    func cancel() { scan.cancel() }

    deinit { scan.cancel() }
}
