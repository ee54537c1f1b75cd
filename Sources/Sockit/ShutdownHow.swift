import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// Which direction `shutdown` closes. The corresponding C constants are `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`.
public enum ShutdownHow: Sendable {
    /// No more receives. `SHUT_RD`.
    case read
    /// No more sends: the peer reads end-of-file (a TCP FIN). `SHUT_WR`.
    case write
    /// Both. `SHUT_RDWR`.
    case both

    var rawValue: CInt {
        switch self {
        case .read: return CInt(SOCKIT_SHUT_RD)
        case .write: return CInt(SOCKIT_SHUT_WR)
        case .both: return CInt(SOCKIT_SHUT_RDWR)
        }
    }
}
