import Sockit

/// A holder's command line, user and cgroup, read once per process (a server holds many
/// sockets), and when asked its listeners' reuse options.
struct HolderDetails: Sendable {
    var command: String
    var user: String
    var cgroup: ProcessCgroup?
    var reuse: [ReuseReads.Result] = []

    /// What one thread has read so far: the cgroups' texts and the user names.
    struct Reader {
        var cgroups = ProcessCgroup.Reader()
        var names = UserNames()
    }

    /// Reads `process`'s; with `listeners` (descriptors and inodes), their reuse options too.
    static func read(
        _ process: ProcProcessTable.ProcessEntry, procFD: CInt, reader: inout Reader,
        listeners: [(inode: UInt64, fd: Int32)] = []
    ) -> HolderDetails {
        var cgroup = reader.cgroups.read(procFD: procFD, "\(process.pid)/cgroup")
        if let uid = cgroup?.unit?.userID { cgroup?.unit?.userName = reader.names.name(uid) }
        var details = HolderDetails(
            command: ProcProcessTable.readCommandLine(process.pid) ?? "?", user: reader.names.name(process.uid),
            cgroup: cgroup)
        if !listeners.isEmpty {
            details.reuse = ReuseReads(
                pid: process.pid, reads: listeners.map { ReuseReads.Read(index: 0, fd: $0.fd, inode: $0.inode) }
            ).read()
        }
        return details
    }
}

/// The holders found by one search of `/proc` (`ProcProcessTable.holders(of:search:scan:)`): the
/// processes read, the wanted sockets each holds, and the processes that could not be read.
struct HolderCollector {
    typealias Found = (pid: Int32, fd: Int32, uid: UInt32)

    /// `/proc`, open for the search.
    let procFD: CInt
    /// The sockets looked for, each inode with its owner's uid.
    let wanted: [UInt64: UInt32]
    private var found: [UInt64: [Found]] = [:]
    /// The processes recorded, each once (a set only where the fork families are read: its
    /// first use costs a listing more than the list).
    private var scanned: [Int32] = []
    /// Holders' details read along with their descriptors (by the threads of the scan).
    private var details: [(pid: Int32, details: HolderDetails)] = []
    private var counts = HolderScan()

    init(procFD: CInt, wanted: [UInt64: UInt32]) {
        self.procFD = procFD
        self.wanted = wanted
    }

    /// How many processes were looked at (read, unreadable or gone).
    var scannedCount: Int { scanned.count }
    /// Whether any wanted socket has a holder.
    var foundAny: Bool { !found.isEmpty }

    /// Notes what reading `process`'s descriptors gave, and its details when they were read too.
    mutating func record(
        _ process: ProcProcessTable.ProcessEntry, _ result: ProcProcessTable.DescriptorScan,
        details read: HolderDetails? = nil
    ) {
        scanned.append(process.pid)
        if let read { details.append((process.pid, read)) }
        switch result {
        case .unreadable: counts.unreadableProcesses += 1
        case .gone: break
        case .found(let matches):
            counts.processesScanned += 1
            for (inode, fd) in matches where wanted[inode] != nil {
                found[inode, default: []].append((process.pid, fd, process.uid))
            }
        }
    }

    /// Reads the processes of the fork family (ancestors and descendants) of every holder found,
    /// and of the holders found that way, until no new holder turns up. Only `processes` (the
    /// list the search read) are read.
    mutating func readForkFamilies(
        among processes: [ProcProcessTable.ProcessEntry], directory: borrowing ProcDirectory
    ) {
        var family = ForkFamily(procFD: procFD, processes: processes)
        let byPID = Dictionary(processes.map { ($0.pid, $0) }, uniquingKeysWith: { a, _ in a })
        var visited = Set<Int32>()
        var read = Set(scanned)
        while true {
            let holderPIDs = Set(found.values.flatMap { $0.map(\.pid) }).subtracting(visited)
            if holderPIDs.isEmpty { break }
            visited.formUnion(holderPIDs)
            for pid in family.relatives(of: holderPIDs).sorted() where !read.contains(pid) {
                guard let process = byPID[pid] else { continue }
                read.insert(pid)
                record(
                    process,
                    ProcProcessTable.socketDescriptors(procFD, pid: process.pid, wanted: wanted, directory: directory))
            }
        }
    }

    /// Reads `readAhead` (processes read before the sockets were known) again for the sockets
    /// still without a holder: a socket made after its process was read.
    mutating func readAgainForMissing(
        _ readAhead: [ProcProcessTable.ProcessEntry], directory: borrowing ProcDirectory
    ) {
        guard found.count < wanted.count && !readAhead.isEmpty else { return }
        let missing = wanted.filter { found[$0.key] == nil }
        for process in readAhead.sorted(by: { $0.pid < $1.pid }) {
            let result = ProcProcessTable.socketDescriptors(
                procFD, pid: process.pid, wanted: missing, directory: directory)
            if case .found(let matches) = result {
                for (inode, fd) in matches { found[inode, default: []].append((process.pid, fd, process.uid)) }
            }
        }
    }

    /// The holders of each socket, by pid and descriptor, with their user, command line and
    /// cgroup: read along with the descriptors when the scan knew the sockets, else now (once per
    /// process, and only for the holders found, never for every process; on two cores when there
    /// are many).
    func scan() -> HolderScan {
        var scan = counts
        // The holders' pids, sorted, each once (searched by halves below: no dictionary type to
        // instantiate for a lookup table of a few dozen).
        var pids: [Int32] = []
        for pid in found.values.flatMap({ $0.map { $0.pid } }).sorted() where pid != pids.last { pids.append(pid) }
        func position(of pid: Int32) -> Int? { sortedIndex(of: pid, in: pids, by: { $0 }) }
        var known = [HolderDetails?](repeating: nil, count: pids.count)
        for (pid, read) in details { if let slot = position(of: pid) { known[slot] = read } }
        let missing = known.indices.filter { known[$0] == nil }
        var processes = pids.map { ProcProcessTable.ProcessEntry(pid: $0, uid: 0) }
        for entries in found.values { for entry in entries { processes[position(of: entry.pid)!].uid = entry.uid } }
        let procFD = self.procFD
        let read = sharedWithAnotherCore(missing.map { processes[$0] }, sharedFrom: 16) { part in
            var reader = HolderDetails.Reader()
            return part.map { HolderDetails.read($0, procFD: procFD, reader: &reader) }
        }
        for (offset, index) in missing.enumerated() { known[index] = read[offset] }
        for details in known { scan.reuseOptions += details?.reuse ?? [] }
        for (inode, entries) in found {
            scan.holders[inode] = entries.sorted { ($0.pid, $0.fd) < ($1.pid, $1.fd) }.map { entry in
                let details = position(of: entry.pid).flatMap { known[$0] }
                return SocketHolder(
                    pid: entry.pid, fd: entry.fd, uid: entry.uid, user: details?.user ?? String(entry.uid),
                    command: details?.command ?? "?", cgroup: details?.cgroup)
            }
        }
        return scan
    }
}
