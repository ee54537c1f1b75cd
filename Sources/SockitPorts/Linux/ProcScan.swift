import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// One search of the processes' descriptors (`/proc/PID/fd`), shared by the threads that read
/// it: each takes the next process nobody has read, until none is left or, for a fast search,
/// every wanted socket has a holder.
///
/// It may start before the sockets are known (`ProcReadAhead`): the processes are then read in
/// pid order, each with all its sockets. Once told the sockets (`tell`), the processes not read
/// yet are taken owners first (a socket is almost always held by the user that made it), and the
/// thread that told it reads along (`finish`): the helper that read ahead goes on without a stop,
/// so the two share what is left instead of one waiting for the other. A scan that does not read
/// ahead lists the processes and waits to be told.
final class ProcScan: Sendable {
    /// A process read: its index in the list, what was found, whether it was read before the
    /// sockets were known, and its details when it holds one of them (read by the same thread).
    typealias Read = (index: Int, result: ProcProcessTable.DescriptorScan, readAhead: Bool, details: HolderDetails?)

    private struct State {
        enum Listing { case notStarted, inProgress, done }
        var listing = Listing.notStarted
        var processes: [ProcProcessTable.ProcessEntry] = []
        /// Indices into `processes`, in the order they are taken from `position` on.
        var order: [Int] = []
        var position = 0
        var claimed: [Bool] = []
        var reads: [Read] = []
        var wanted: [UInt64: UInt32]?
        var found: Set<UInt64> = []
        /// The listeners whose reuse options a thread has taken to read (one read a socket,
        /// however many processes share it).
        var reuseTaken: Set<UInt64> = []
        let untilFound: Bool
        var stopped = false

        init(untilFound: Bool) { self.untilFound = untilFound }

        mutating func setProcesses(_ list: [ProcProcessTable.ProcessEntry]) {
            processes = list
            order = Array(list.indices)
            claimed = Array(repeating: false, count: list.count)
            listing = .done
        }

        /// The next process nobody has taken, with the sockets to look for (nil: all, read ahead).
        mutating func claim() -> (index: Int, process: ProcProcessTable.ProcessEntry, wanted: [UInt64: UInt32]?)? {
            if stopped { return nil }
            if untilFound, let wanted, found.count >= wanted.count { return nil }
            while position < order.count {
                let index = order[position]
                position += 1
                if !claimed[index] {
                    claimed[index] = true
                    return (index, processes[index], wanted)
                }
            }
            return nil
        }

        mutating func record(_ read: Read) {
            reads.append(read)
            if let wanted { note(read.result, wanted) }
        }

        mutating func note(_ result: ProcProcessTable.DescriptorScan, _ wanted: [UInt64: UInt32]) {
            guard case .found(let matches) = result else { return }
            for match in matches where wanted[match.inode] != nil { found.insert(match.inode) }
        }

        /// What is not taken yet, owners' processes first, each group in pid order.
        mutating func reorder(owners: Set<UInt32>) {
            let left = order[position...].filter { !claimed[$0] }
            order =
                left.filter { owners.contains(processes[$0].uid) } + left.filter { !owners.contains(processes[$0].uid) }
            position = 0
        }

        var unclaimed: Int { order[position...].count { !claimed[$0] } }
    }

    /// `/proc`, open for the scan's lifetime (-1 when it cannot be opened: nothing is found).
    let procFD: CInt
    /// Whether processes are read before the sockets are known.
    let readsAhead: Bool
    /// Whether the wanted sockets' reuse options are read from the holders found (a listing's:
    /// every wanted socket is a listener).
    let readsReuseOptions: Bool
    private let state: Locked<State>
    private let helpers = Locked<[pthread_t]>([])

    /// A scan of every process, listed when the first reader starts; or of `processes` (tests: a
    /// list of one's choosing).
    init(
        untilFound: Bool, readsAhead: Bool = true, readsReuseOptions: Bool = false,
        processes: [ProcProcessTable.ProcessEntry]? = nil
    ) {
        procFD = (try? PortSys.open("/proc", flags: O_DIRECTORY).get()) ?? -1
        self.readsAhead = readsAhead
        self.readsReuseOptions = readsReuseOptions
        state = Locked(State(untilFound: untilFound))
        if procFD < 0 {
            state.withLock { $0.setProcesses([]) }
        } else if let processes {
            state.withLock { $0.setProcesses(processes) }
        }
    }

    deinit {
        if procFD >= 0 { Sys.close(procFD) }
    }

    /// Lists the processes unless another thread does or did; waits for that one.
    private func list() {
        let mine = state.withLock { state -> Bool in
            guard state.listing == .notStarted else { return false }
            state.listing = .inProgress
            return true
        }
        if mine {
            let processes = ProcProcessTable.listProcesses(procFD)
            state.withLock { $0.setProcesses(processes) }
        } else {
            state.withLock(when: { $0.listing == .done }, { _ in })
        }
    }

    /// Reads processes until none is left to take (or the search is complete or stopped).
    func read() {
        list()
        if !readsAhead { state.withLock(when: { $0.wanted != nil || $0.stopped }, { _ in }) }
        let directory = ProcDirectory()
        var reader = HolderDetails.Reader()
        while readNext(directory, &reader) {}
    }

    /// Reads one process, if one is left: what a helper does first (tests).
    func readOne() {
        list()
        var reader = HolderDetails.Reader()
        readNext(ProcDirectory(), &reader)
    }

    /// Takes the next process and reads it (and a holder's details: the threads that scan read
    /// them too, instead of the caller after); false when none was left to take.
    @discardableResult
    private func readNext(_ directory: borrowing ProcDirectory, _ reader: inout HolderDetails.Reader) -> Bool {
        guard let next = state.withLock({ $0.claim() }) else { return false }
        let result = ProcProcessTable.socketDescriptors(
            procFD, pid: next.process.pid, wanted: next.wanted, directory: directory)
        var details: HolderDetails?
        if next.wanted != nil, case .found(let matches) = result, !matches.isEmpty {
            let listeners =
                readsReuseOptions
                ? state.withLock { state in matches.filter { state.reuseTaken.insert($0.inode).inserted } } : []
            details = HolderDetails.read(next.process, procFD: procFD, reader: &reader, listeners: listeners)
        }
        state.withLock { $0.record((next.index, result, next.wanted == nil, details)) }
        return true
    }

    /// Starts threads that read along, so that `helpers` run in all (fewer when little is left:
    /// one per 8 processes not taken yet). Returns how many run.
    @discardableResult
    func startHelpers(upTo count: Int) -> Int {
        let left = state.withLock { $0.listing == .done ? $0.unclaimed : Int.max }
        return helpers.withLock { running in
            let wanted = min(count, left / 8)
            while running.count < wanted, let thread = startThread(onAnotherCPU: true, { self.read() }) {
                running.append(thread)
            }
            return running.count
        }
    }

    /// Says which sockets are wanted (each inode with its owner's uid): what is read from now on
    /// looks for them only, and the processes not taken yet are taken owners first.
    func tell(_ wanted: [UInt64: UInt32]) {
        list()
        state.withLock { state in
            state.wanted = wanted
            for read in state.reads { state.note(read.result, wanted) }
            state.reorder(owners: Set(wanted.values))
        }
    }

    /// Reads along until nothing is left to take, waits for the helpers' last reads, and returns
    /// the processes and every read, in no particular order.
    func finish() -> (processes: [ProcProcessTable.ProcessEntry], reads: [Read]) {
        read()
        for thread in helpers.withLock({ running in
            defer { running = [] }
            return running
        }) {
            Sys.joinThread(thread)
        }
        return state.withLock { ($0.processes, $0.reads) }
    }

    /// Waits until the processes are listed (tests).
    func waitUntilListed() { state.withLock(when: { $0.listing == .done }, { _ in }) }

    /// How many processes were read so far (tests).
    var readCount: Int { state.withLock { $0.reads.count } }

    /// Stops the helpers after the process each is reading; nothing is waited for.
    func cancel() {
        state.withLock { $0.stopped = true }
        for thread in helpers.withLock({ running in
            defer { running = [] }
            return running
        }) {
            Sys.detachThread(thread)
        }
    }
}
