import Sockit

#if canImport(Glibc)
import Glibc
#endif

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

    /// Which source is read.
    public var mode: Mode
    let netlink: any SocketTableSource
    let proc: any SocketTableSource
    /// An unknown `SOCKIT_SOCKET_TABLE` value: every read fails and names it.
    private var badSetting: String?

    /// A table read as `mode` says (netlink, falling back to `/proc/net`, by default); unlike
    /// `system`, it does not look at `SOCKIT_SOCKET_TABLE`.
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

    /// The sockets that answer `query`, as `read(_:)` finds them, without the fallbacks.
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
