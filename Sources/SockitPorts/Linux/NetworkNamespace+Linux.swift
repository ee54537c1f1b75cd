import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

// Network namespaces on Linux: found through /proc/PID/ns/net and /run/netns, entered with
// setns(CLONE_NEWNET) on a helper thread (a network namespace belongs to a thread: the caller's
// threads, and Swift's concurrency pool, stay where they are).

extension NetworkNamespace {
    /// Every network namespace this process can find: one per distinct inode among the
    /// processes of `/proc` (the lowest pid names it) and the names in `/run/netns`.
    public static func list() -> NetworkNamespaceList {
        let current = inode(ofLink: "/proc/self/ns/net")
        var byInode: [UInt64: NetworkNamespace] = [:]
        var unreadable = 0
        if case .success(let procFD) = PortSys.open("/proc", flags: O_DIRECTORY) {
            defer { Sys.close(procFD) }
            var pids: [Int32] = []
            ProcDirectory().forEach(procFD) { name, _ in
                if let pid = Int32(String(cString: name)) { pids.append(pid) }
                return true
            }
            for pid in pids.sorted() {
                switch inodeOfLink("/proc/\(pid)/ns/net") {
                case .success(let inode):
                    if byInode[inode] == nil {
                        byInode[inode] = NetworkNamespace(inode: inode, pid: pid, isCurrent: inode == current)
                    }
                case .failure(let errno):
                    // Gone meanwhile (ENOENT, ESRCH) is not unreadable; a kernel thread has no
                    // namespace link to read (ENOENT too).
                    if errno.rawValue == EACCES || errno.rawValue == EPERM { unreadable += 1 }
                }
            }
        }
        if case .success(let directoryFD) = PortSys.open("/run/netns", flags: O_DIRECTORY) {
            defer { Sys.close(directoryFD) }
            var names: [String] = []
            ProcDirectory().forEach(directoryFD) { name, _ in
                names.append(String(cString: name))
                return true
            }
            for name in names.sorted() {
                guard case .success(let inode) = PortSys.inode("/run/netns/\(name)") else { continue }
                if var known = byInode[inode] {
                    if known.name == nil {
                        known.name = name
                        known.path = "/run/netns/\(name)"
                        byInode[inode] = known
                    }
                } else {
                    byInode[inode] = NetworkNamespace(inode: inode, name: name, isCurrent: inode == current)
                }
            }
        }
        let namespaces = byInode.values.sorted { ($0.isCurrent ? 0 : 1, $0.inode) < ($1.isCurrent ? 0 : 1, $1.inode) }
        return NetworkNamespaceList(namespaces: namespaces, unreadableProcesses: unreadable)
    }

    /// Reads `query` from each namespace's socket table (netlink only: `/proc/net` would be the
    /// caller's), on one helper thread that enters each in turn and ends with the reads.
    static func read(
        _ query: SocketQuery, in namespaces: [NetworkNamespace]
    ) -> [Result<[PortSocket], SocketTableError>] {
        guard !namespaces.isEmpty else { return [] }
        let results = Locked<[Result<[PortSocket], SocketTableError>]>([])
        let work: @Sendable () -> Void = {
            for namespace in namespaces {
                let result = Result { () throws(SocketTableError) in try readInside(namespace, query) }
                results.withLock { $0.append(result) }
            }
        }
        guard let thread = startThread(work) else {
            let error = SocketTableError("cannot start a thread to enter other network namespaces")
            return namespaces.map { _ in .failure(error) }
        }
        joinThread(thread)
        return results.withLock { $0 }
    }

    /// On the helper thread: enters `namespace` and reads its table there.
    private static func readInside(
        _ namespace: NetworkNamespace, _ query: SocketQuery
    ) throws(SocketTableError) -> [PortSocket] {
        let fd: CInt
        switch PortSys.open(namespace.path) {
        case .success(let opened): fd = opened
        case .failure(let errno):
            throw SocketTableError(
                "cannot open \(namespace.path) (network namespace \(namespace)): \(errno)", errno: errno)
        }
        defer { Sys.close(fd) }
        if case .failure(let errno) = PortSys.enterNetworkNamespace(fd) {
            let why = errno.rawValue == EPERM ? "needs CAP_SYS_ADMIN" : "failed: \(errno)"
            throw SocketTableError("entering network namespace \(namespace) \(why)", errno: errno)
        }
        return try SockDiag().sockets(query)
    }

    /// The inode in a namespace link's target, `net:[4026531840]`; nil when it cannot be read.
    private static func inode(ofLink path: String) -> UInt64? {
        try? inodeOfLink(path).get()
    }

    private static func inodeOfLink(_ path: String) -> Result<UInt64, Errno> {
        var buffer = [CChar](repeating: 0, count: 64)
        let length = buffer.withUnsafeMutableBufferPointer { pointer in
            PortSys.readLink(at: AT_FDCWD, path, into: pointer.baseAddress!, count: pointer.count)
        }
        switch length {
        case .failure(let errno): return .failure(errno)
        case .success(let count):
            let text = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("net:["), text.hasSuffix("]"), let inode = UInt64(text.dropFirst(5).dropLast())
            else { return .failure(Errno(rawValue: EINVAL)) }
            return .success(inode)
        }
    }
}
