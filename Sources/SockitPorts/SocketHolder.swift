/// A process that holds a socket: one of its descriptors refers to the socket's inode.
public struct SocketHolder: Sendable, Hashable {
    /// The process id.
    public var pid: Int32
    /// The descriptor number in that process.
    public var fd: Int32
    /// The process's user (the owner of `/proc/PID`: its effective uid).
    public var uid: UInt32
    /// The user's name (from NSS), or the uid as a number when it has none.
    public var user: String
    /// The command line, arguments joined by spaces (`[name]` for a kernel thread).
    public var command: String
    /// What its cgroup says: the systemd unit, the container, or that it is a systemd manager
    /// itself; nil when it was not read.
    public var cgroup: ProcessCgroup?

    /// The systemd unit the process belongs to, when known.
    public var unit: SystemdUnit? { cgroup?.unit }
    /// The container the process runs in, when known.
    public var container: Container? { cgroup?.container }

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
            let isSpace =
                character.isWhitespace || character.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
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

    /// A holder with these values.
    public init(
        pid: Int32, fd: Int32, uid: UInt32, user: String, command: String, cgroup: ProcessCgroup? = nil
    ) {
        self.pid = pid
        self.fd = fd
        self.uid = uid
        self.user = user
        self.command = command
        self.cgroup = cgroup
    }
}
