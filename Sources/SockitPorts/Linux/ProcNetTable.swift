import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The socket table from `/proc/net/{tcp,tcp6,udp,udp6}`: the fallback where netlink is refused
/// (a seccomp filter, a container without `NETLINK_SOCK_DIAG`, or no `udp_diag` module). It reads
/// every socket and filters here, so it is slower than netlink on a busy machine.
struct ProcNetTable: SocketTableSource {
    /// The folder that holds `tcp`, `tcp6`, `udp`, `udp6` (`/proc/net`, or `/proc/PID/net`).
    var directory = "/proc/net"

    func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket] {
        var result: [PortSocket] = []
        var readAny = false
        for transport in TransportProtocol.allCases where query.transports.contains(transport) {
            for family in [SocketDomain.ipv4, .ipv6] where query.families.contains(family) {
                let name = "\(directory)/\(transport.rawValue)\(family == .ipv6 ? "6" : "")"
                // A kernel without IPv6 has no tcp6/udp6: that family then has no sockets.
                guard let bytes = ProcFiles.read(name) else { continue }
                readAny = true
                result += ProcNet.parse(bytes, transport: transport).filter(query.matches)
            }
        }
        if !readAny { throw SocketTableError("cannot read the socket table from \(directory)") }
        return result
    }
}
