/// A process that holds a socket: one of its descriptors refers to the socket's inode.
public struct SocketHolder: Sendable, Hashable {
    public var pid: Int32
    /// The descriptor number in that process.
    public var fd: Int32
    /// The process's user (the owner of `/proc/PID`: its effective uid).
    public var uid: UInt32
    public var user: String
    /// The command line, arguments joined by spaces (`[name]` for a kernel thread).
    public var command: String

    /// The command for one line of text: the program's base name, control characters as spaces,
    /// at most `limit` characters (`python3 server.py` for `/usr/bin/python3 server.py`).
    public func shortCommand(limit: Int = 72) -> String {
        var words = command.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        if let first = words.first, first.hasPrefix("/"), let slash = first.lastIndex(of: "/") {
            words[0] = String(first[first.index(after: slash)...])
        }
        var text = ""
        var lastWasSpace = false
        for character in words.joined(separator: " ") {
            let isSpace = character.isWhitespace || character.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
            if isSpace {
                if !lastWasSpace && !text.isEmpty { text.append(" ") }
                lastWasSpace = true
            } else {
                text.append(character)
                lastWasSpace = false
            }
        }
        while text.last == " " { text.removeLast() }
        return text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    public init(pid: Int32, fd: Int32, uid: UInt32, user: String, command: String) {
        self.pid = pid
        self.fd = fd
        self.uid = uid
        self.user = user
        self.command = command
    }
}

/// How hard to look for the processes that hold sockets.
public enum HolderSearch: Sendable, Hashable {
    /// Look at the processes of each socket's user first, stop once every socket has a holder, then
    /// look only at the fork family (ancestors and descendants) of the holders found: a socket is
    /// shared by forking (pre-fork workers, an inherited descriptor), so every such holder is found
    /// without reading the descriptors of every process on the machine.
    case fast
    /// Read the descriptors of every process: also finds a socket passed to an unrelated process
    /// with `SCM_RIGHTS`.
    case exhaustive
}

/// What a search for holders found.
public struct HolderScan: Sendable {
    /// The holders of each inode that was found, by inode.
    public var holders: [UInt64: [SocketHolder]] = [:]
    /// Processes whose descriptors this user may not read (another user's, without privilege).
    /// A socket with no holder found may belong to one of them.
    public var unreadableProcesses: Int = 0
    /// Processes whose descriptors were read.
    public var processesScanned: Int = 0

    public init() {}
}

/// Where the processes come from: `/proc` on Linux (`ProcProcessTable`).
public protocol ProcessTableSource: Sendable {
    /// Finds the processes that hold the sockets with these inodes; `owners` gives each inode's
    /// uid (from the socket table), which decides where to look first.
    func holders(of owners: [UInt64: UInt32], search: HolderSearch) -> HolderScan
    /// The process's command line, or nil when it is gone.
    func commandLine(of pid: Int32) -> String?
    /// Whether the process still has a descriptor that refers to the socket `inode`.
    func holds(pid: Int32, inode: UInt64) -> Bool
    /// Starts a search whose sockets are not known yet: a source may begin reading processes
    /// now, while the socket table is read, and finish once `holders(of:)` says which inodes.
    func startSearch(_ search: HolderSearch) -> any PendingHolderSearch
}

extension ProcessTableSource {
    /// Reads nothing ahead: `holders(of:)` does the whole search.
    public func startSearch(_ search: HolderSearch) -> any PendingHolderSearch {
        DeferredHolderSearch(source: self, search: search)
    }
}

/// A holder search started before the sockets were known (`ProcessTableSource.startSearch`).
/// Call `holders(of:)` once with the sockets, or `cancel()` when there are none to look for.
public protocol PendingHolderSearch: Sendable {
    /// The holders of these inodes (each with its owner's uid), as `holders(of:search:)` gives.
    func holders(of owners: [UInt64: UInt32]) -> HolderScan
    /// Stops what was started; nothing is waited for.
    func cancel()
}

/// The search that starts when it is told what to look for.
struct DeferredHolderSearch: PendingHolderSearch {
    var source: any ProcessTableSource
    var search: HolderSearch

    func holders(of owners: [UInt64: UInt32]) -> HolderScan { source.holders(of: owners, search: search) }
    func cancel() {}
}
