/// The fork family of processes in `/proc`: parents read one process at a time as needed
/// (`/proc/PID/stat`), children from `/proc/PID/task/TID/children`: a handful of small reads, not
/// one per process. A socket is shared by forking (pre-fork workers, an inherited descriptor),
/// so the holders of a socket are relatives of the first one found.
struct ForkFamily {
    let procFD: CInt
    /// Every process, for the parent map built when the kernel has no children files.
    let processes: [ProcProcessTable.ProcessEntry]
    private var parents: [Int32: Int32] = [:]
    /// Every process's children, once the children files turned out to be missing.
    private var childrenByPID: [Int32: [Int32]]?

    init(procFD: CInt, processes: [ProcProcessTable.ProcessEntry]) {
        self.procFD = procFD
        self.processes = processes
    }

    /// The ancestors of each of `pids` (a pre-fork master above a worker) and every process below
    /// them (forked workers, inherited descriptors); bounded in steps.
    mutating func relatives(of pids: Set<Int32>) -> Set<Int32> {
        var family = Set<Int32>()
        for pid in pids {
            var next = parent(of: pid)
            var steps = 0
            while next > 1, steps < 64, family.insert(next).inserted {
                next = parent(of: next)
                steps += 1
            }
        }
        var queue = Array(pids)
        var steps = 0
        while let pid = queue.popLast(), steps < 100_000 {
            steps += 1
            for child in children(of: pid) where family.insert(child).inserted { queue.append(child) }
        }
        return family
    }

    /// The parent of `pid` (0 when unknown), read once.
    mutating func parent(of pid: Int32) -> Int32 {
        if let known = parents[pid] { return known }
        let value = ProcProcessTable.readParent(procFD, pid: pid) ?? 0
        parents[pid] = value
        return value
    }

    /// The children of `pid`. Without children files (a kernel without CONFIG_PROC_CHILDREN):
    /// every process's parent, once, and the children files are not looked for again.
    mutating func children(of pid: Int32) -> [Int32] {
        if childrenByPID == nil, let listed = ProcProcessTable.readChildren(procFD, pid: pid) { return listed }
        if childrenByPID == nil {
            var map: [Int32: [Int32]] = [:]
            for process in processes { map[parent(of: process.pid), default: []].append(process.pid) }
            childrenByPID = map
        }
        return childrenByPID?[pid] ?? []
    }
}
