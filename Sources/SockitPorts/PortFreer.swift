#if canImport(Glibc)
import Glibc
#endif
import Sockit

/// Frees a port by stopping the processes that hold it, and only them: a process is a candidate
/// when it holds a socket *bound* to the port on this machine (a listener, a bound UDP socket,
/// an accepted connection). A client connected to the port is never one.
public struct PortFreer: Sendable {
    /// A process that holds the port, and whether it may be signalled.
    public struct Candidate: Sendable, Hashable {
        public var holder: SocketHolder
        /// The sockets on the port it holds.
        public var sockets: [PortSocket]
        /// Why it will not be signalled; nil when it will.
        public var refusal: Refusal?
    }

    /// Why a holder is left alone.
    public enum Refusal: Sendable, Hashable, CustomStringConvertible {
        /// pid 1 (init, or a container's main process): stopping it takes everything down.
        case initProcess
        /// This process.
        case itself
        /// The process that started this one (a shell or script would kill itself).
        case parent
        /// Another user's process, without `allowOtherUsers`.
        case otherUser(String)

        public var description: String {
            switch self {
            case .initProcess: return "pid 1 (init) is never signalled"
            case .itself: return "this is sockit itself"
            case .parent: return "this is sockit's parent process"
            case .otherUser(let user): return "it belongs to user \(user) (--all-users to include it)"
            }
        }
    }

    public var inspector: PortInspector
    /// Signal other users' processes too (root only, in effect).
    public var allowOtherUsers: Bool

    public init(inspector: PortInspector = PortInspector(), allowOtherUsers: Bool = false) {
        self.inspector = inspector
        self.allowOtherUsers = allowOtherUsers
    }

    /// The holders of `port` (sockets bound to it here), each with its refusal if any, and the
    /// report. `search`: how to look for them (nil: as the inspector does). When a fast search
    /// leaves a socket bound to the port without a holder, every process is read before this
    /// answers.
    public func candidates(port: UInt16, transports: TransportSet, search: HolderSearch? = nil)
        throws(SocketTableError) -> ([Candidate], PortReport)
    {
        var inspector = self.inspector
        if let search { inspector.search = search }
        var report = try inspector.report(port: port, transports: transports, localOnly: true)
        if inspector.search == .fast && Self.hasSocketsWithoutHolder(report) {
            inspector.search = .exhaustive
            report = try inspector.report(port: port, transports: transports, localOnly: true)
        }
        var byPID: [Int32: Candidate] = [:]
        var order: [Int32] = []
        for entry in report.local where !entry.socket.isClosedConnection {
            for holder in entry.holders {
                if byPID[holder.pid] == nil {
                    byPID[holder.pid] = Candidate(holder: holder, sockets: [], refusal: refusal(for: holder))
                    order.append(holder.pid)
                }
                byPID[holder.pid]!.sockets.append(entry.socket)
            }
        }
        return (order.map { byPID[$0]! }, report)
    }

    /// Whether the inspector's search may have missed holders that reading every process would
    /// find: a fast search follows the fork family of the holders it finds, so a process given
    /// the socket with `SCM_RIGHTS` (a listener handed off) while another still holds it is not
    /// among them. Once the holders found are gone and the port is still busy, look again with
    /// `candidates(port:transports:search: .exhaustive)`.
    public var searchMayMissHolders: Bool { inspector.search == .fast }

    /// Whether a live socket bound to the port has a file (an inode) but no holder was found.
    static func hasSocketsWithoutHolder(_ report: PortReport) -> Bool {
        report.local.contains { !$0.socket.isClosedConnection && $0.socket.inode != 0 && $0.holders.isEmpty }
    }

    /// Why `holder` must not be signalled, or nil.
    public func refusal(for holder: SocketHolder) -> Refusal? {
        if holder.pid == 1 { return .initProcess }
        if holder.pid == getpid() { return .itself }
        if holder.pid == getppid() { return .parent }
        if !allowOtherUsers && holder.uid != geteuid() { return .otherUser(holder.user) }
        return nil
    }

    /// Opens a pidfd for each candidate and checks, through `/proc`, that the process behind it
    /// still holds one of its sockets; from then on a signal can only reach that process.
    /// Returns the handles, and the candidates that are gone or no longer hold the port.
    public func open(_ candidates: [Candidate]) -> (handles: [(Candidate, ProcessHandle)], gone: [Candidate]) {
        var handles: [(Candidate, ProcessHandle)] = []
        var gone: [Candidate] = []
        for candidate in candidates where candidate.refusal == nil {
            guard let handle = try? ProcessHandle(pid: candidate.holder.pid),
                candidate.sockets.contains(where: { inspector.processes.holds(pid: handle.pid, inode: $0.inode) })
            else {
                gone.append(candidate)
                continue
            }
            handles.append((candidate, handle))
        }
        return (handles, gone)
    }
}

/// Signal names and numbers: `TERM`, `SIGTERM`, `15`.
public enum SignalName {
    static let known: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("KILL", SIGKILL), ("USR1", SIGUSR1),
        ("USR2", SIGUSR2), ("TERM", SIGTERM), ("STOP", SIGSTOP), ("CONT", SIGCONT),
    ]

    /// The signal number for `TERM`, `SIGTERM`, `term` or `15`; nil when unknown.
    public static func parse(_ text: String) -> Int32? {
        if let number = Int32(text), number > 0, number < 65 { return number }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        return known.first { $0.0 == name }?.1
    }

    /// `SIGTERM` for 15; `signal 40` for one without a name here.
    public static func name(_ signal: Int32) -> String {
        known.first { $0.1 == signal }.map { "SIG" + $0.0 } ?? "signal \(signal)"
    }
}
