import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// A network namespace of this machine: its own interfaces, addresses and socket table. A
/// listener in a container or in an `ip netns` namespace is in another one than the shell's: the
/// default socket table (`ss`, `SocketTable`) does not show it, and it does not keep a server in
/// this namespace from binding the same port.
public struct NetworkNamespace: Sendable, Hashable, CustomStringConvertible {
    /// Its inode: `readlink /proc/PID/ns/net` gives `net:[INODE]`, as `lsns -t net` lists it.
    public var inode: UInt64
    /// Its name under `/run/netns` (`ip netns add NAME`), when it has one.
    public var name: String?
    /// The lowest pid of a process in it; nil when only `/run/netns` names it.
    public var pid: Int32?
    /// Whether it is this process's namespace.
    public var isCurrent: Bool
    /// A file that refers to it, to enter it: `/proc/PID/ns/net` or `/run/netns/NAME`.
    var path: String

    /// A namespace known by its inode, and a way in: `/run/netns/NAME` when named, else
    /// `/proc/PID/ns/net`.
    public init(inode: UInt64, name: String? = nil, pid: Int32? = nil, isCurrent: Bool = false) {
        self.inode = inode
        self.name = name
        self.pid = pid
        self.isCurrent = isCurrent
        self.path = name.map { "/run/netns/\($0)" } ?? pid.map { "/proc/\($0)/ns/net" } ?? ""
    }

    /// `net:[4026532281]`, with the `ip netns` name first when it has one.
    public var description: String { name.map { "\($0) net:[\(inode)]" } ?? "net:[\(inode)]" }
}

/// The network namespaces this process can find: those of the processes it can read in `/proc`,
/// and those named in `/run/netns`.
public struct NetworkNamespaceList: Sendable {
    /// This process's namespace first, then the others by inode.
    public var namespaces: [NetworkNamespace]
    /// Processes whose namespace could not be read (another user's, without privilege): their
    /// namespaces may be missing from the list.
    public var unreadableProcesses: Int

    /// A list of `namespaces`, this process's first.
    public init(namespaces: [NetworkNamespace], unreadableProcesses: Int = 0) {
        self.namespaces = namespaces
        self.unreadableProcesses = unreadableProcesses
    }

    /// This process's namespace.
    public var current: NetworkNamespace? { namespaces.first { $0.isCurrent } }
    /// Every namespace but this process's.
    public var others: [NetworkNamespace] { namespaces.filter { !$0.isCurrent } }
}

extension PortSocket {
    /// Whether the socket is in this process's network namespace (true when the table was read
    /// there alone, without namespaces). Only such sockets can keep a bind here from working.
    public var isInCurrentNetworkNamespace: Bool { networkNamespace?.isCurrent ?? true }
}

/// The socket tables of every network namespace on the machine, each socket tagged with its
/// namespace: this one's read as `current` reads it, every other one through netlink from a
/// helper thread that enters it (`setns`), as `ip netns exec NAME ss` would.
///
/// Entering another namespace needs `CAP_SYS_ADMIN`, and finding them needs to read every
/// process's `/proc/PID/ns/net`: without the privilege the read fails with an error that says
/// so, rather than answer for this namespace alone.
public struct EveryNetworkNamespace: SocketTableSource {
    /// How this process's own namespace is read (netlink, or `/proc/net` where it is not available).
    public var current: SocketTable

    /// Every namespace; this one read through `current`.
    public init(current: SocketTable = .system) {
        self.current = current
    }

    public func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket] {
        try read(query).sockets
    }

    public func read(_ query: SocketQuery) throws(SocketTableError) -> SocketTableReading {
        let list = NetworkNamespace.list()
        if list.unreadableProcesses > 0 && PortSys.effectiveUserID != 0 {
            throw SocketTableError(
                "reading every network namespace needs CAP_SYS_ADMIN: the namespaces of "
                    + "\(list.unreadableProcesses) processes cannot be read as this user",
                errno: Errno(rawValue: EPERM))
        }
        var reading = try current.read(query)
        let here = list.current
        for index in reading.sockets.indices { reading.sockets[index].networkNamespace = here }
        let others = list.others
        for (namespace, result) in zip(others, NetworkNamespace.read(query, in: others)) {
            switch result {
            case .success(var sockets):
                for index in sockets.indices { sockets[index].networkNamespace = namespace }
                reading.sockets += sockets
            case .failure(let error):
                throw error
            }
        }
        reading.networkNamespaces = list.namespaces
        return reading
    }
}
