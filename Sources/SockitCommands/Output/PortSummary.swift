import Sockit
import SockitPorts

/// `sockit who PORT` on a port with more rows than a screen: the sockets that listen or are
/// bound there (what holds the port), then counts of the rest by state and the busiest remote
/// hosts. The verdict follows, as for a short report.
enum PortSummary {
    /// Whether `report` needs more lines than `height` (a terminal's rows, with room for the
    /// verdict and a prompt).
    static func isNeeded(_ report: PortReport, height: Int) -> Bool {
        let rows = report.entries.reduce(0) { $0 + max(1, $1.holders.count) } + 1
        return rows > max(10, height - 4)
    }

    /// The summary, without the verdict.
    static func text(_ report: PortReport, table: ([PortReport.Entry]) -> String) -> String {
        let port = report.port
        let holding = report.local.filter { !isConnection($0.socket) }
        let connections = report.local.filter { isConnection($0.socket) }
        var lines: [String] = []
        if holding.isEmpty {
            lines.append("nothing listens on port \(port) or is bound to it alone")
        } else {
            lines.append(table(holding))
        }
        lines.append(
            "\(count(connections.count + report.remote.count, "more socket")) on port \(port), "
                + "not shown (sockit who \(port) --all, or --json, shows every row):")
        if !connections.isEmpty {
            lines.append("  connections on port \(port):   " + states(connections))
        }
        if !report.remote.isEmpty {
            lines.append("  connections to port \(port):   " + states(report.remote))
        }
        let hosts = busiestHosts(connections)
        if !hosts.isEmpty {
            lines.append(
                "  busiest remote hosts:  "
                    + hosts.map { "\($0.host) \(grouped($0.count))" }.joined(separator: ", "))
        }
        return lines.joined(separator: "\n")
    }

    /// A connection (or closed connection) rather than a listener or a bound socket.
    static func isConnection(_ socket: PortSocket) -> Bool {
        socket.transport == .tcp ? socket.state != .listen : socket.remote != nil
    }

    /// `ESTAB 4,200, TIME-WAIT 700`: by state, most first.
    static func states(_ entries: [PortReport.Entry]) -> String {
        var counts: [String: Int] = [:]
        for entry in entries {
            counts["\(entry.socket.transport == .udp ? "udp " : "")\(entry.socket.stateName)", default: 0] += 1
        }
        return counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            .map { "\($0.key) \(grouped($0.value))" }.joined(separator: ", ")
    }

    /// The five remote addresses with the most connections, most first.
    static func busiestHosts(_ entries: [PortReport.Entry], limit: Int = 5) -> [(host: String, count: Int)] {
        var counts: [String: Int] = [:]
        for entry in entries {
            guard let remote = entry.socket.remote else { continue }
            counts[host(remote), default: 0] += 1
        }
        return counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(limit).map { ($0.key, $0.value) }
    }

    /// The address without its port: `127.0.0.1`, `[::1]`.
    static func host(_ address: SocketAddress) -> String {
        let text = "\(address)"
        guard let colon = text.lastIndex(of: ":") else { return text }
        return String(text[..<colon])
    }

    static func count(_ value: Int, _ noun: String) -> String { "\(grouped(value)) \(noun)\(value == 1 ? "" : "s")" }

    /// `4,200`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return out
    }
}
