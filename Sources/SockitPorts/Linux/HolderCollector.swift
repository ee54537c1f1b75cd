import Sockit

/// The holders found by one search of `/proc` (`ProcProcessTable.holders(of:search:scan:)`): the
/// processes read, the wanted sockets each holds, and the processes that could not be read.
struct HolderCollector {
    typealias Found = (pid: Int32, fd: Int32, uid: UInt32)

    /// `/proc`, open for the search.
    let procFD: CInt
    /// The sockets looked for, each inode with its owner's uid.
    let wanted: [UInt64: UInt32]
    private var found: [UInt64: [Found]] = [:]
    private var scanned = Set<Int32>()
    private var counts = HolderScan()

    init(procFD: CInt, wanted: [UInt64: UInt32]) {
        self.procFD = procFD
        self.wanted = wanted
    }

    /// How many processes were looked at (read, unreadable or gone).
    var scannedCount: Int { scanned.count }
    /// Whether any wanted socket has a holder.
    var foundAny: Bool { !found.isEmpty }

    /// Notes what reading `process`'s descriptors gave.
    mutating func record(_ process: ProcProcessTable.ProcessEntry, _ result: ProcProcessTable.DescriptorScan) {
        scanned.insert(process.pid)
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
        while true {
            let holderPIDs = Set(found.values.flatMap { $0.map(\.pid) }).subtracting(visited)
            if holderPIDs.isEmpty { break }
            visited.formUnion(holderPIDs)
            for pid in family.relatives(of: holderPIDs).sorted() where !scanned.contains(pid) {
                guard let process = byPID[pid] else { continue }
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
    /// cgroup (read once per process: a server holds many of the sockets; and only for the
    /// holders found, never for every process).
    func scan(commandLine: (Int32) -> String?) -> HolderScan {
        var scan = counts
        var names = UserNames()
        var commands: [Int32: String] = [:]
        var cgroups: [Int32: ProcessCgroup?] = [:]
        var reader = ProcessCgroup.Reader()
        for (inode, entries) in found {
            scan.holders[inode] = entries.sorted { ($0.pid, $0.fd) < ($1.pid, $1.fd) }.map { entry in
                let command = commands[entry.pid] ?? (commandLine(entry.pid) ?? "?")
                commands[entry.pid] = command
                let cgroup: ProcessCgroup?
                if let known = cgroups[entry.pid] {
                    cgroup = known
                } else {
                    var read = reader.read(procFD: procFD, "\(entry.pid)/cgroup")
                    if let uid = read?.unit?.userID { read?.unit?.userName = names.name(uid) }
                    cgroups[entry.pid] = read
                    cgroup = read
                }
                return SocketHolder(
                    pid: entry.pid, fd: entry.fd, uid: entry.uid, user: names.name(entry.uid), command: command,
                    cgroup: cgroup)
            }
        }
        return scan
    }
}
