import Sockit

/// The listeners of one process whose `SO_REUSEADDR` and `SO_REUSEPORT` `PortInspector` reads
/// from their own sockets, through a duplicate of each descriptor (`pidfd_getfd`).
struct ReuseReads: Sendable {
    /// A listener: its entry in the report, the holder's descriptor, the socket's inode.
    struct Read: Sendable {
        var index: Int
        var fd: Int32
        var inode: UInt64
    }

    /// What one listener's socket says; nil where it could not be read.
    struct Result: Sendable {
        var index: Int
        var inode: UInt64
        var address: Bool?
        var port: Bool?
    }

    /// From this many listeners on, a second thread reads half of them.
    static let sharedFrom = 32

    var pid: Int32
    var reads: [Read]

    /// Reads each listener's options; nil for a listener whose descriptor cannot be duplicated
    /// (no ptrace access: another user's process, `kernel.yama.ptrace_scope`) or now refers to
    /// another socket.
    func read() -> [Result] {
        let handle = try? ProcessHandle(pid: pid)
        return reads.map { read in
            var result = Result(index: read.index, inode: read.inode)
            guard let copy = try? handle?.duplicateDescriptor(read.fd) else { return result }
            defer { Sys.close(copy) }
            // The descriptor may have been closed and its number reused since the scan.
            guard PortSys.inode(ofDescriptor: copy) == read.inode else { return result }
            (result.address, result.port) = PortSys.reuseOptions(copy)
            return result
        }
    }
}
