import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The process table from `/proc`: `/proc/PID/fd/N -> socket:[INODE]` maps sockets to processes.
public struct ProcProcessTable: ProcessTableSource {
    /// The table of the processes this process can see in `/proc`.
    public init() {}

    public func holders(of owners: [UInt64: UInt32], search: HolderSearch) -> HolderScan {
        holders(of: owners, search: search, scan: nil)
    }

    /// Starts reading `/proc` on a thread of its own (the process list, then every process's
    /// sockets in pid order) while the caller reads the socket table: that dump walks every
    /// connection in the kernel, about as long as the descriptor scan, and the two now overlap;
    /// once the sockets are known, the thread and the caller read what is left together
    /// (`ProcScan`). With one core to run on (`taskset`), nothing would overlap: the search then
    /// waits.
    public func startSearch(_ search: HolderSearch) -> any PendingHolderSearch {
        Self.scanWorkers > 1
            ? ProcReadAhead(table: self, search: search) : DeferredHolderSearch(source: self, search: search)
    }

    /// A thread lists the processes (and their owners) while the caller asks the kernel for the
    /// listeners, then waits for them; no process is read before the listeners are known. The
    /// threads that find a holder read its listeners' reuse options (`HolderScan.reuseOptions`).
    public func startListenerSearch(_ search: HolderSearch) -> any PendingHolderSearch {
        Self.scanWorkers > 1
            ? ProcReadAhead(table: self, search: search, forListeners: true)
            : DeferredHolderSearch(source: self, search: search)
    }

    /// The search; `scan`: one started before the sockets were known (`ProcReadAhead`), whose
    /// processes read so far are not read again unless a socket is missing.
    func holders(of owners: [UInt64: UInt32], search: HolderSearch, scan started: ProcScan?) -> HolderScan {
        let wanted = owners.filter { $0.key != 0 }
        guard !wanted.isEmpty else {
            started?.cancel()
            return HolderScan()
        }
        // The descriptors, on this thread and up to one more per core this process may run on
        // (at most 4 in all): kernel time (a dentry per descriptor, then a readlink each), so a
        // second core halves it.
        let session = started ?? ProcScan(untilFound: search == .fast)
        session.tell(wanted)
        session.startHelpers(upTo: min(Self.scanWorkers, 4) - 1)
        let (processes, reads) = session.finish()
        guard session.procFD >= 0 else { return HolderScan() }

        let directory = ProcDirectory()
        var collector = HolderCollector(procFD: session.procFD, wanted: wanted)
        for read in reads { collector.record(processes[read.index], read.result, details: read.details) }
        if search == .fast && collector.scannedCount < processes.count && collector.foundAny {
            // Every socket has a holder: look at the fork family of the holders, which shares them.
            collector.readForkFamilies(among: processes, directory: directory)
        }
        // A socket made after its process was read ahead has no holder yet: read those again.
        collector.readAgainForMissing(reads.filter { $0.readAhead }.map { processes[$0.index] }, directory: directory)
        return collector.scan()
    }

    public func commandLine(of pid: Int32) -> String? { Self.readCommandLine(pid) }

    /// `/proc/PID/cmdline`, its arguments joined by spaces; `[comm]` for a kernel thread; nil
    /// when the process is gone.
    static func readCommandLine(_ pid: Int32) -> String? {
        if let bytes = ProcFiles.read("/proc/\(pid)/cmdline", limit: 64 * 1024), !bytes.isEmpty {
            var text = String(decoding: bytes.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            while text.last == " " { text.removeLast() }
            return text
        }
        guard let name = ProcFiles.text("/proc/\(pid)/comm") else { return nil }
        return "[" + name.filter { $0 != "\n" } + "]"
    }

    public func holds(pid: Int32, inode: UInt64) -> Bool {
        guard case .success(let procFD) = PortSys.open("/proc", flags: O_DIRECTORY) else { return false }
        defer { Sys.close(procFD) }
        if case .found(let matches) = Self.socketDescriptors(procFD, pid: pid, wanted: [inode: 0]) {
            return !matches.isEmpty
        }
        return false
    }

    // MARK: - Reading /proc

    struct ProcessEntry {
        var pid: Int32
        var uid: UInt32
    }

    /// Every process (thread-group leader) with the owner of its `/proc/PID` directory, but for
    /// those with no descriptor open (kernel threads, zombies: they hold no socket, and are most
    /// of a quiet machine's processes). One `fstatat` of `PID/fd` each: its owner is the
    /// process's, and its size the number of descriptors open (Linux 6.2 on; before, 0 for
    /// every process, and none is left out).
    static func listProcesses(_ procFD: CInt) -> [ProcessEntry] {
        guard case .success(let listFD) = PortSys.openAt(procFD, ".", flags: O_DIRECTORY) else { return [] }
        defer { Sys.close(listFD) }
        let counted = (PortSys.ownerAndSize(at: procFD, "self/fd")?.size ?? 0) > 0
        var result: [ProcessEntry] = []
        let directory = ProcDirectory()
        var path = [CChar](repeating: 0, count: 32)
        directory.forEach(listFD) { name, _ in
            guard let pid = decimalName(name) else { return true }
            // "PID/fd", in place.
            var length = 0
            while name[length] != 0 && length < 16 {
                path[length] = name[length]
                length += 1
            }
            for byte in "/fd".utf8 {
                path[length] = CChar(bitPattern: byte)
                length += 1
            }
            path[length] = 0
            guard let (uid, open) = PortSys.ownerAndSize(at: procFD, path) else { return true }
            if !counted || open > 0 { result.append(ProcessEntry(pid: pid, uid: uid)) }
            return true
        }
        return result
    }

    /// The cores this process may run on (its affinity mask: `taskset` counts), at least 1.
    static let scanWorkers = PortSys.affinityCPUCount()

    enum DescriptorScan: Sendable {
        case found([(inode: UInt64, fd: Int32)])
        case unreadable
        case gone
    }

    /// The descriptors of `pid` that refer to one of the `wanted` socket inodes (nil: to any socket).
    static func socketDescriptors(
        _ procFD: CInt, pid: Int32, wanted: [UInt64: UInt32]?, directory: borrowing ProcDirectory = ProcDirectory()
    ) -> DescriptorScan {
        let fdDirectory: CInt
        switch PortSys.openAt(procFD, "\(pid)/fd", flags: O_DIRECTORY) {
        case .success(let fd): fdDirectory = fd
        case .failure(let error): return error == .permissionDenied || error == .notPermitted ? .unreadable : .gone
        }
        defer { Sys.close(fdDirectory) }
        var matches: [(inode: UInt64, fd: Int32)] = []
        var link = [CChar](repeating: 0, count: 64)
        // "socket:[" is 8 bytes; anything else (a file, a pipe, anon_inode:...) is skipped.
        let prefix: [CChar] = Array("socket:[".utf8).map { CChar(bitPattern: $0) }
        let failure = directory.forEach(fdDirectory) { name, type in
            guard type == UInt8(DT_LNK) else { return true }
            let count = ProcFiles.readLink(at: fdDirectory, name, into: &link)
            guard count > 9, link[0] == prefix[0], link[1] == prefix[1], link[6] == prefix[6], link[7] == prefix[7]
            else { return true }
            var inode: UInt64 = 0
            var index = 8
            while index < count, link[index] >= 0x30, link[index] <= 0x39 {
                inode = inode &* 10 &+ UInt64(link[index] - 0x30)
                index += 1
            }
            if wanted.map({ $0[inode] != nil }) ?? true, let fd = decimalName(name) { matches.append((inode, fd)) }
            return true
        }
        if let failure { return failure == .permissionDenied || failure == .notPermitted ? .unreadable : .gone }
        return .found(matches)
    }

    /// The children of every thread of `pid` (`/proc/PID/task/TID/children`); nil when the
    /// kernel has no such files.
    static func readChildren(_ procFD: CInt, pid: Int32) -> [Int32]? {
        let taskFD: CInt
        switch PortSys.openAt(procFD, "\(pid)/task", flags: O_DIRECTORY) {
        case .success(let fd): taskFD = fd
        case .failure(let error): return error == Errno(rawValue: ENOENT) ? [] : nil
        }
        defer { Sys.close(taskFD) }
        var result: [Int32] = []
        var sawFile = false
        let directory = ProcDirectory(capacity: 4096)
        directory.forEach(taskFD) { name, _ in
            guard decimalName(name) != nil else { return true }
            guard let text = ProcFiles.read("/proc/\(pid)/task/\(String(cString: name))/children") else { return true }
            sawFile = true
            for word in text.split(separator: UInt8(ascii: " ")) {
                if let child = Int32(String(decoding: word, as: UTF8.self)) { result.append(child) }
            }
            return true
        }
        return sawFile ? result : nil
    }

    /// The fourth field of `/proc/PID/stat`, after the command name in parentheses (which may
    /// itself contain spaces and parentheses: the last `)` ends it).
    static func readParent(_ procFD: CInt, pid: Int32) -> Int32? {
        guard case .success(let fd) = PortSys.openAt(procFD, "\(pid)/stat") else { return nil }
        defer { Sys.close(fd) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let result = buffer.withUnsafeMutableBytes { PortSys.read(fd, $0.baseAddress, $0.count) }
        guard case .success(let count) = result, count > 0 else { return nil }
        return parseParent(buffer[0..<count])
    }

    /// The parent pid from the text of `/proc/PID/stat`: `PID (COMM) STATE PPID …`.
    /// `@_spi(Fuzzing)` for `Fuzz/`.
    @_spi(Fuzzing) public static func parseParent(_ text: ArraySlice<UInt8>) -> Int32? {
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var index = close + 1
        var field = 0
        var value: Int32 = 0
        var digits = 0
        while index < text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: " ") {
                if field == 2 { break }
                field += 1
            } else if field == 2 {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 9 else { return nil }
                value = value * 10 + Int32(byte - UInt8(ascii: "0"))
                digits += 1
            }
            index += 1
        }
        return digits > 0 ? value : nil
    }
}

/// The number a `/proc` entry is named by (a pid, a descriptor); nil for any other name.
func decimalName(_ name: UnsafePointer<CChar>) -> Int32? {
    var value: Int32 = 0
    var index = 0
    while name[index] != 0 {
        let byte = UInt8(bitPattern: name[index])
        guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), index < 9 else { return nil }
        value = value * 10 + Int32(byte - UInt8(ascii: "0"))
        index += 1
    }
    return index > 0 ? value : nil
}
