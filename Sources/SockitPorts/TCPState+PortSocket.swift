import Sockit

#if canImport(Glibc)
import Glibc
#endif

extension TCPState {
    /// The bit of this state in `inet_diag_req_v2.idiag_states`.
    var bit: UInt32 { 1 << UInt32(rawValue) }

    /// A set of states as the kernel's bit mask.
    static func mask(_ states: StateSet?) -> UInt32 { (states ?? .all).mask }

    /// The name `ss` prints for a socket of `transport`: `UNCONN` for an unconnected UDP socket.
    public func name(for transport: TransportProtocol) -> String { name(datagram: transport == .udp) }
}
