import Sockit
import SockitPorts

extension Free {
    /// `--leftovers`: once no process holds the port (none did, or they were stopped), destroys
    /// the closed connections bound to it and takes the bind verdict again. A dry run lists them.
    /// Nothing is destroyed while a holder remains (declined, refused, hidden): the port stays
    /// held whatever happens to its closed connections. Returns what `--json` shows, and for a
    /// dry run how many sockets it would destroy.
    func destroyLeftovers(
        _ report: inout FreeReport, address: SocketAddress, say: (String) -> Void
    ) throws(LeftoverError) -> (json: JSON, wouldDestroy: Int) {
        let port = report.port
        // A dry run destroys nothing, whatever free found (with no holder its outcome is .noHolder).
        if dryRun || report.outcome == .dryRun {
            let found = try Leftovers().find(port: port)
            say(
                found.isEmpty
                    ? "dry run: no closed connection to destroy on port \(port)"
                    : "dry run: would destroy \(Self.describe(found)) on port \(port)")
            return (.object([("would_destroy", Self.json(found))]), found.count)
        }
        switch report.outcome {
        case .noHolder, .stopped:
            let done = try Leftovers().destroy(port: port)
            if done.destroyed.isEmpty {
                say("no closed connection to destroy on port \(port)")
            } else {
                say("destroyed \(Self.describe(done.destroyed)) on port \(port)")
            }
            if let verdict = try? PortInspector().verdict(for: address, transport: report.verdict?.transport ?? .tcp) {
                report.verdict = verdict
            }
            return (.object([("destroyed", Self.json(done.destroyed)), ("gone", Self.json(done.gone))]), 0)
        case .hiddenHolder, .allRefused, .declined, .dryRun:
            return (.null, 0)
        }
    }

    /// "3 closed connections (TIME-WAIT 2, FIN-WAIT-2 1)".
    static func describe(_ sockets: [PortSocket]) -> String {
        var counts: [(String, Int)] = []
        for socket in sockets {
            if let index = counts.firstIndex(where: { $0.0 == socket.stateName }) {
                counts[index].1 += 1
            } else {
                counts.append((socket.stateName, 1))
            }
        }
        let states = counts.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
        return "\(sockets.count) closed connection\(sockets.count == 1 ? "" : "s") (\(states))"
    }

    static func json(_ sockets: [PortSocket]) -> JSON {
        .array(
            sockets.map { socket in
                .object([
                    ("state", .string(socket.stateName)), ("local", .string("\(socket.local)")),
                    ("remote", .string(socket.remoteDescription)),
                ])
            })
    }
}
