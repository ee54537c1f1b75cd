import CSockit

/// The state of a TCP socket, as the kernel numbers them (`TCP_ESTABLISHED` = 1 …
/// `TCP_NEW_SYN_RECV` = 12, `include/net/tcp_states.h`), named as `ss` prints them. The kernel
/// reports UDP sockets in the same terms: `close` when unconnected (`ss` prints `UNCONN`),
/// `established` when connected. The one state type of sockit: `TCP_INFO`'s `tcpi_state`, and
/// the socket table's states.
public enum TCPState: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
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
