import CSockit

/// The state of a TCP socket, as the kernel numbers them (`TCP_ESTABLISHED` = 1 …
/// `TCP_NEW_SYN_RECV` = 12, `include/net/tcp_states.h`), named as `ss` prints them. The kernel
/// reports UDP sockets in the same terms: `close` when unconnected (`ss` prints `UNCONN`),
/// `established` when connected. The one state type of sockit: `TCP_INFO`'s `tcpi_state`, and
/// the socket table's states.
public enum TCPState: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Connected, data flows (`TCP_ESTABLISHED`); a connected UDP socket too.
    case established = 1
    /// A connect sent its SYN and waits for the answer (`TCP_SYN_SENT`).
    case synSent = 2
    /// A SYN arrived and was answered; the handshake is not complete (`TCP_SYN_RECV`).
    case synReceived = 3
    /// This side closed first and sent its FIN (`TCP_FIN_WAIT1`).
    case finWait1 = 4
    /// Our FIN is acknowledged; waiting for the peer's FIN (`TCP_FIN_WAIT2`), bounded by
    /// `net.ipv4.tcp_fin_timeout` once no process holds the socket.
    case finWait2 = 5
    /// Closed first and done: the address stays taken for 60 s on Linux (`TCP_TIME_WAIT`); a bind
    /// without `SO_REUSEADDR` fails with `EADDRINUSE` meanwhile.
    case timeWait = 6
    /// No connection (`TCP_CLOSE`); for UDP, an unconnected socket (`ss` prints `UNCONN`).
    case close = 7
    /// The peer closed first; waiting for this side to close (`TCP_CLOSE_WAIT`).
    case closeWait = 8
    /// The peer closed first, then this side; waiting for the last ACK (`TCP_LAST_ACK`).
    case lastAck = 9
    /// A listening socket (`TCP_LISTEN`).
    case listen = 10
    /// Both sides closed at once; waiting for the ACK of our FIN (`TCP_CLOSING`).
    case closing = 11
    /// A request socket: a SYN answered, waiting in a listener's queue for the handshake to end
    /// (`TCP_NEW_SYN_RECV`; `ss` prints `SYN-RECV`).
    case newSynReceived = 12

    /// The name `ss` prints: `ESTAB`, `SYN-SENT`, `TIME-WAIT`, `LISTEN`, …
    public var description: String { name(datagram: false) }

    /// The name `ss` prints, for a datagram socket too: `UNCONN` for an unconnected one.
    public func name(datagram: Bool) -> String {
        switch self {
        case .established: return "ESTAB"
        case .synSent: return "SYN-SENT"
        case .synReceived, .newSynReceived: return "SYN-RECV"
        case .finWait1: return "FIN-WAIT-1"
        case .finWait2: return "FIN-WAIT-2"
        case .timeWait: return "TIME-WAIT"
        case .close: return datagram ? "UNCONN" : "CLOSE"
        case .closeWait: return "CLOSE-WAIT"
        case .lastAck: return "LAST-ACK"
        case .listen: return "LISTEN"
        case .closing: return "CLOSING"
        }
    }
}
