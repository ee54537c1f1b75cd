#if canImport(Glibc)
import Glibc
#endif
import Sockit

/// The transport of a socket in the table: TCP or UDP.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case tcp
    case udp

    public var description: String { rawValue }
}

extension TCPState {
    /// The bit of this state in `inet_diag_req_v2.idiag_states`.
    var bit: UInt32 { 1 << UInt32(rawValue) }

    /// A set of states as the kernel's bit mask.
    static func mask(_ states: StateSet?) -> UInt32 { (states ?? .all).mask }

    /// The name `ss` prints for a socket of `transport`: `UNCONN` for an unconnected UDP socket.
    public func name(for transport: TransportProtocol) -> String { name(datagram: transport == .udp) }
}

/// One socket of the kernel's table: what `ss` prints for it, without the process.
public struct PortSocket: Sendable, Hashable {
    public var transport: TransportProtocol
    public var state: TCPState
    public var local: SocketAddress
    /// The peer; nil for a listener or an unconnected UDP socket (the kernel reports `*:*`).
    public var remote: SocketAddress?
    /// The user that created the socket (`sock_i_uid`); 0 for TIME-WAIT entries, which keep no owner.
    public var uid: UInt32
    /// The socket's inode, the number in `/proc/PID/fd/N -> socket:[INODE]`; 0 when no file
    /// refers to it any more (TIME-WAIT, a connection its process has closed).
    public var inode: UInt64
    /// Time left on the socket's active timer in milliseconds (the TIME-WAIT timer, a retransmit
    /// or keep-alive timer); nil when none runs.
    public var timerMilliseconds: Int?
    /// What the timer is for: `timewait`, `retrans`, `keepalive`, `probe`; nil when none runs.
    public var timerKind: String?

    public init(
        transport: TransportProtocol, state: TCPState, local: SocketAddress, remote: SocketAddress?,
        uid: UInt32 = 0, inode: UInt64 = 0, timerMilliseconds: Int? = nil, timerKind: String? = nil
    ) {
        self.transport = transport
        self.state = state
        self.local = local
        self.remote = remote
        self.uid = uid
        self.inode = inode
        self.timerMilliseconds = timerMilliseconds
        self.timerKind = timerKind
    }

    /// `LISTEN`, `ESTAB`, `TIME-WAIT`, `UNCONN`, … as `ss` prints them.
    public var stateName: String { state.name(for: transport) }

    /// A closed connection the kernel finishes alone: TIME-WAIT, or an orphan still closing (no
    /// file any more: FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK after its process closed it). No
    /// process holds it; it blocks a bind only of a socket without `SO_REUSEADDR` (or when its
    /// listener lacked it). A connection without a file in any other state waits in a listener's
    /// accept queue: it is not closed, and goes when the listener does.
    public var isClosedConnection: Bool {
        switch state {
        case .timeWait: return true
        case .finWait1, .finWait2, .closing, .lastAck: return inode == 0
        default: return false
        }
    }

    /// The remote end as printed: the address, or `*:*` when there is none.
    public var remoteDescription: String { remote.map { "\($0)" } ?? "*:*" }

    /// Whether this socket holds `port` on this machine (it is bound to it), or only talks to it.
    public func side(for port: UInt16) -> Side {
        local.port == port ? .local : .remote
    }

    /// Which end of a socket a port is.
    public enum Side: String, Sendable, Hashable {
        /// The socket is bound to the port on this machine: a listener, a bound UDP socket, or a
        /// connection accepted on it. Only these keep a server from binding.
        case local
        /// The socket is a client whose peer is the port (on this machine or another).
        case remote
    }
}

/// What to read from the socket table.
public struct SocketQuery: Sendable, Hashable {
    /// Sockets whose local or remote port is this; nil for every socket.
    public var port: UInt16?
    /// Match only the local port (a server's view), not connections to the port.
    public var localOnly: Bool
    public var transports: TransportSet
    /// `AF_INET` and/or `AF_INET6`.
    public var families: FamilySet
    /// Only sockets in these states; nil for every state.
    public var states: StateSet?

    public init(
        port: UInt16?, localOnly: Bool = false, transports: TransportSet = [.tcp, .udp],
        families: FamilySet = .both, states: StateSet? = nil
    ) {
        self.port = port
        self.localOnly = localOnly
        self.transports = transports
        self.families = families
        self.states = states
    }

    /// Whether `socket` answers the query (used to filter what a source could not filter itself).
    public func matches(_ socket: PortSocket) -> Bool {
        guard transports.contains(socket.transport), families.contains(socket.local.domain) else { return false }
        if let states, !states.contains(socket.state) { return false }
        guard let port else { return true }
        if socket.local.port == port { return true }
        return !localOnly && socket.remote?.port == port
    }
}

/// Where the socket table comes from. `SocketTable.system` reads it through netlink
/// (`NETLINK_SOCK_DIAG`), and from `/proc/net` where netlink is not available.
public protocol SocketTableSource: Sendable {
    /// The sockets that answer `query`, in the kernel's order.
    func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket]
    /// The same sockets, and which transports came from a fallback source and why.
    func read(_ query: SocketQuery) throws(SocketTableError) -> SocketTableReading
}

extension SocketTableSource {
    /// A source without a fallback: its sockets, no fallback.
    public func read(_ query: SocketQuery) throws(SocketTableError) -> SocketTableReading {
        SocketTableReading(sockets: try sockets(query))
    }
}

/// What a read of the socket table gave: the sockets, and the transports read from `/proc/net`
/// because netlink is not available here.
public struct SocketTableReading: Sendable {
    public var sockets: [PortSocket]
    public var fallbacks: [SocketTableFallback]

    public init(sockets: [PortSocket], fallbacks: [SocketTableFallback] = []) {
        self.sockets = sockets
        self.fallbacks = fallbacks
    }
}

/// One transport read from `/proc/net` instead of netlink, and the netlink error that made it so.
/// The library says it and never prints it; the CLI prints it under `SOCKIT_DEBUG`.
public struct SocketTableFallback: Sendable, Hashable, CustomStringConvertible {
    public var transport: TransportProtocol
    public var reason: SocketTableError

    public var description: String { "\(transport) sockets read from /proc/net, netlink is not available: \(reason)" }
}

/// The socket table could not be read.
public struct SocketTableError: SockitError, Hashable {
    public var message: String
    /// The errno behind it (a syscall's, or the kernel's answer to a netlink request), if any.
    public var errno: Errno?

    public init(_ message: String, errno: Errno? = nil) {
        self.message = message
        self.errno = errno
    }

    public var summary: String { message }

    /// Whether the error says that netlink's socket table is not available here, rather than
    /// that reading it went wrong: `EPROTONOSUPPORT` (a kernel without `NETLINK_SOCK_DIAG`),
    /// `EAFNOSUPPORT` (no netlink sockets at all: a sandbox, systemd's `RestrictAddressFamilies`),
    /// `EACCES` or `EPERM` (a seccomp filter or an LSM), `ENOENT` (the kernel's answer to a dump
    /// for a family or protocol without a diag handler: `inet_diag` or `udp_diag` not loaded).
    public var meansUnavailable: Bool {
        guard let errno else { return false }
        return [EPROTONOSUPPORT, EAFNOSUPPORT, EACCES, EPERM, ENOENT].contains(errno.rawValue)
    }
}

/// The system's socket table: netlink, and `/proc/net` for a transport netlink is not available
/// for. Any other netlink error is an error: a broken netlink path never turns into `/proc`.
public struct SocketTable: SocketTableSource {
    /// Which source to read.
    public enum Mode: Sendable, Hashable {
        /// Netlink; `/proc/net` for a transport netlink is not available for
        /// (`SocketTableError.meansUnavailable`), said in `SocketTableReading.fallbacks`.
        case automatic
        /// Netlink only: any netlink error is an error.
        case netlink
        /// `/proc/net` only.
        case proc
    }

    public var mode: Mode
    let netlink: any SocketTableSource
    let proc: any SocketTableSource
    /// An unknown `SOCKIT_SOCKET_TABLE` value: every read fails and names it.
    private var badSetting: String?

    public init(mode: Mode = .automatic) {
        self.init(mode: mode, netlink: SockDiag(), proc: ProcNetTable())
    }

    init(mode: Mode, netlink: any SocketTableSource, proc: any SocketTableSource) {
        self.mode = mode
        self.netlink = netlink
        self.proc = proc
    }

    /// The table of this machine's network namespace, as `SOCKIT_SOCKET_TABLE` in the environment
    /// says: `netlink` (netlink only: a netlink failure is an error), `proc` (`/proc/net` only),
    /// `auto` or unset (netlink, `/proc/net` where it is not available).
    public static var system: SocketTable {
        guard let setting = PortSys.environment("SOCKIT_SOCKET_TABLE") else { return SocketTable() }
        switch setting {
        case "", "auto": return SocketTable()
        case "netlink": return SocketTable(mode: .netlink)
        case "proc": return SocketTable(mode: .proc)
        case let other:
            var table = SocketTable()
            table.badSetting = other
            return table
        }
    }

    public func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket] {
        try read(query).sockets
    }

    /// Each transport from netlink or `/proc/net` as `mode` says (UDP alone is not available
    /// where the `udp_diag` module is missing).
    public func read(_ query: SocketQuery) throws(SocketTableError) -> SocketTableReading {
        if let badSetting {
            throw SocketTableError("SOCKIT_SOCKET_TABLE=\"\(badSetting)\" is not a source: use netlink, proc or auto")
        }
        var reading = SocketTableReading(sockets: [])
        for transport in TransportProtocol.allCases where query.transports.contains(transport) {
            var one = query
            one.transports = [transport]
            switch mode {
            case .netlink:
                reading.sockets += try netlink.sockets(one)
            case .proc:
                reading.sockets += try proc.sockets(one)
            case .automatic:
                do {
                    reading.sockets += try netlink.sockets(one)
                } catch {
                    guard error.meansUnavailable else { throw error }
                    reading.sockets += try proc.sockets(one)
                    reading.fallbacks.append(SocketTableFallback(transport: transport, reason: error))
                }
            }
        }
        return reading
    }
}
