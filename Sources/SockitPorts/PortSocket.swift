import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// One socket of the kernel's table: what `ss` prints for it, without the process.
public struct PortSocket: Sendable, Hashable {
    /// TCP or UDP.
    public var transport: TransportProtocol
    /// The state; for UDP `.close` when unconnected, `.established` when connected.
    public var state: TCPState
    /// The local address; `0.0.0.0` or `[::]` for a socket bound to every address.
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
    /// The network namespace the socket is in, when the tables of several were read
    /// (`EveryNetworkNamespace`); nil otherwise.
    public var networkNamespace: NetworkNamespace?

    /// A socket with these values, as a `SocketTableSource` reads them.
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
