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
                result += Self.withoutRepeats(ProcNet.parse(bytes, transport: transport).filter(query.matches))
            }
        }
        if !readAny { throw SocketTableError("cannot read the socket table from \(directory)") }
        return result
    }

    /// The kernel writes these files a buffer at a time and finds its place again by counting
    /// rows, so a table that changes between two reads can show a row twice (seen: one TIME-WAIT
    /// connection four times). A socket is one row: the first is kept (a repeat differs at most
    /// in its timer, read later).
    static func withoutRepeats(_ sockets: [PortSocket]) -> [PortSocket] {
        struct Identity: Hashable {
            var state: TCPState
            var local: SocketAddress
            var remote: SocketAddress?
            var inode: UInt64
        }
        var seen = Set<Identity>()
        return sockets.filter {
            seen.insert(Identity(state: $0.state, local: $0.local, remote: $0.remote, inode: $0.inode)).inserted
        }
    }
}
