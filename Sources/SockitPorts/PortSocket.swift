#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Sockit

/// The transport of a socket in the table: TCP or UDP.
public enum TransportProtocol: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case tcp
    case udp

    public var description: String { rawValue }
}

/// The state of a socket as the kernel reports it (`TCP_ESTABLISHED` … `TCP_NEW_SYN_RECV` in
/// `include/net/tcp_states.h`). UDP sockets are `close` when unconnected (printed `UNCONN`, as
/// `ss` does) and `established` when connected.
public enum SocketState: UInt8, Sendable, Hashable, CaseIterable {
    case established = 1
    case synSent = 2
    case synReceived = 3
    case finWait1 = 4
    case finWait2 = 5
    case timeWait = 6
    case close = 7
    case closeWait = 8
    case lastAck = 9
    case listen = 10
    case closing = 11
    case newSynReceived = 12

    /// The name `ss` prints: `LISTEN`, `ESTAB`, `TIME-WAIT`, … (`UNCONN` for an unconnected UDP socket).
    public func name(for transport: TransportProtocol) -> String {
        switch self {
        case .established: return "ESTAB"
        case .synSent: return "SYN-SENT"
        case .synReceived, .newSynReceived: return "SYN-RECV"
        case .finWait1: return "FIN-WAIT-1"
        case .finWait2: return "FIN-WAIT-2"
        case .timeWait: return "TIME-WAIT"
        case .close: return transport == .udp ? "UNCONN" : "CLOSE"
        case .closeWait: return "CLOSE-WAIT"
        case .lastAck: return "LAST-ACK"
        case .listen: return "LISTEN"
        case .closing: return "CLOSING"
        }
    }

    /// The bit of this state in `inet_diag_req_v2.idiag_states`.
    var bit: UInt32 { 1 << UInt32(rawValue) }

    /// A set of states as the kernel's bit mask.
    static func mask(_ states: StateSet?) -> UInt32 { (states ?? .all).mask }
}

/// One socket of the kernel's table: what `ss` prints for it, without the process.
public struct PortSocket: Sendable, Hashable {
    public var transport: TransportProtocol
    public var state: SocketState
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
        transport: TransportProtocol, state: SocketState, local: SocketAddress, remote: SocketAddress?,
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

    /// A closed connection the kernel finishes alone: TIME-WAIT, or an orphan (no file any more,
    /// e.g. FIN-WAIT-2 after its process closed it) that becomes TIME-WAIT. No process holds it;
    /// it blocks a bind only of a socket without `SO_REUSEADDR` (or when its listener lacked it).
    public var isClosedConnection: Bool { state == .timeWait || (inode == 0 && state != .listen) }

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
/// (`NETLINK_SOCK_DIAG`) and falls back to `/proc/net` when netlink is refused.
public protocol SocketTableSource: Sendable {
    /// The sockets that answer `query`, in the kernel's order.
    func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket]
}

/// The socket table could not be read.
public struct SocketTableError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The system's socket table: netlink first, `/proc/net` where netlink is refused.
public struct SocketTable: SocketTableSource {
    let primary: any SocketTableSource
    let fallback: any SocketTableSource

    /// The table of this machine's network namespace. `SOCKIT_SOCKET_TABLE=proc` in the
    /// environment reads `/proc/net` only (to compare the two, or where netlink misbehaves).
    public static var system: SocketTable {
        if let source = getenv("SOCKIT_SOCKET_TABLE"), String(cString: source) == "proc" {
            return SocketTable(primary: ProcNetTable(), fallback: ProcNetTable())
        }
        return SocketTable(primary: SockDiag(), fallback: ProcNetTable())
    }

    /// Each transport from netlink, or from `/proc/net` when netlink refuses it (UDP alone fails
    /// where the `udp_diag` module is missing).
    public func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket] {
        var result: [PortSocket] = []
        for transport in TransportProtocol.allCases where query.transports.contains(transport) {
            var one = query
            one.transports = [transport]
            do {
                result += try primary.sockets(one)
            } catch {
                result += try fallback.sockets(one)
            }
        }
        return result
    }
}
