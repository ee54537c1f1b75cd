import ArgumentParser
import Sockit
import SockitPorts

/// `sockit who PORT`: the sockets on a port, the processes that hold them, and a bind verdict.
struct Who: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "who",
        abstract: "Show who holds a port: sockets, processes, TIME-WAIT timers, and whether a bind would work.",
        discussion: """
            Lists the sockets bound to PORT on this machine (a listener, a bound UDP socket, \
            accepted connections, TIME-WAIT leftovers), then the connections whose remote end is \
            PORT, told apart. Each row names the process that holds the socket: pid, user, \
            command line and descriptor. A TIME-WAIT connection has no process: the kernel \
            keeps it alone, and TIMER says how long it stays.

            The last line is the bind verdict for 0.0.0.0:PORT (or the address given): sockit \
            tries bind() itself, without and with SO_REUSEADDR, and says which works and why.

            Sockets come from netlink (NETLINK_SOCK_DIAG, filtered by port in the kernel), or \
            /proc/net where netlink is not available (SOCKIT_SOCKET_TABLE=proc reads /proc/net \
            only, =netlink netlink only; SOCKIT_DEBUG=1 says on stderr when /proc/net was read \
            instead); holders from /proc/PID/fd, the processes of the socket's user first and \
            then the fork family of the holders found (--scan-all: every process). Another \
            user's process is hidden from a normal user: such a socket is marked hidden, never \
            free.

            UNIT (shown when a holder has one) says who runs the process, from its cgroup \
            (/proc/PID/cgroup, read only for the holders found): its systemd unit \
            (nginx.service; a user's unit as "app.service (user alice)") or its container \
            (docker, podman, containerd, cri-o: runtime and short id). When a systemd service or \
            a container holds the port, the verdict says how to stop it for good \
            (systemctl stop nginx.service, docker stop ID): a signal alone, and its manager may \
            start it again. A listener that systemd holds itself (socket activation) is stopped \
            with its .socket unit and service, found with systemctl list-sockets.

            Each network namespace (a container, ip netns) has its own sockets: a listener in \
            one is invisible to ss and to sockit who from another, and does not block a bind \
            there. --all-netns reads the table of every namespace on the machine (found \
            through /proc/PID/ns/net and /run/netns, entered with setns: needs root) and names \
            each socket's; the verdict stays that of this namespace. When nothing uses the \
            port here and other namespaces exist, sockit who says so.

            Exit status: 0 when a socket uses the port, 1 when none does, 2 on an error.

            Examples:
              sockit who 8080                  TCP and UDP on port 8080
              sockit who 127.0.0.1:8080 --tcp  the verdict for 127.0.0.1:8080
              sockit who 5353 --udp --json     one JSON document
              sockit who 8080 --listening      only the listener (fast when there are many connections)
              sudo sockit who 8080 --all-netns containers and ip netns namespaces too
            """
    )

    @Argument(
        help: ArgumentHelp(
            "The port, or HOST:PORT for the bind verdict of that address; a range FIRST-LAST, or nothing, "
                + "lists the listening sockets.", valueName: "PORT"))
    var target: String?

    @Flag(help: "Only TCP or only UDP (default: both; the verdict is for TCP).")
    var transport: TransportFlag?

    @Flag(
        help:
            "Only listeners and bound UDP sockets: skips the kernel's walk of every connection (fast on a busy machine)."
    )
    var listening = false

    @Flag(help: "Read the descriptors of every process (finds a socket passed to an unrelated process).")
    var scanAll = false

    @Flag(name: .customLong("all-netns"), help: "Read every network namespace on the machine (needs root).")
    var allNetworkNamespaces = false

    @Flag(help: "Every row on a terminal too (a busy port is otherwise summarized to a screenful).")
    var all = false

    @OptionGroup var output: OutputOptions

    func validate() throws { _ = try request }

    /// What was asked, without ArgumentParser: `QuickCommand` builds the same from the words.
    var request: WhoRequest {
        get throws {
            var request = WhoRequest(
                target: nil, only: transport?.transport, listening: listening, scanAll: scanAll, json: output.json,
                allNetworkNamespaces: allNetworkNamespaces, all: all)
            if let target {
                if let range = try WhoRequest.range(target) {
                    request.range = range
                } else {
                    request.target = try PortArgument.parse(target)
                }
            }
            return request
        }
    }

    func run() async throws { try request.run() }

    /// The rows of `local` (bound to the port) and `remote` (connections to it), with UNIT when a
    /// holder runs in a systemd unit or a container and NETNS when several namespaces were read.
    static func table(_ report: PortReport, local: [PortReport.Entry], remote: [PortReport.Entry]) -> String {
        let units = report.entries.contains { $0.holders.contains { !$0.unitCell.isEmpty } }
        let namespaces = !report.networkNamespaces.isEmpty
        var table = Table(
            ["PROTO", "STATE", "LOCAL", "REMOTE", "PID", "USER"] + (units ? ["UNIT"] : []) + [
                "COMMAND", "FD", "TIMER",
            ] + (namespaces ? ["NETNS"] : []),
            rightAligned: units ? [4, 8] : [4, 7])
        // A server's rows all name the same process: its command is shortened once.
        var commands: [String: String] = [:]
        for entry in local {
            rows(entry, into: &table, commands: &commands, units: units, namespaces: namespaces)
        }
        if !remote.isEmpty {
            table.appendSection("connections to port \(report.port) (this machine is the client):")
            for entry in remote {
                rows(entry, into: &table, commands: &commands, units: units, namespaces: namespaces)
            }
        }
        return table.render()
    }

    /// One line per TCP listener without SO_REUSEADDR (read from its own socket): its restart
    /// will fail for a while. Nothing when it could not be read.
    static func restartWarnings(_ entries: [PortReport.Entry]) -> [String] {
        entries.filter(\.restartWillBeBlocked).map { entry in
            let pid = entry.holders.first.map { "pid \($0.pid)" } ?? "its process"
            return Terminal.yellow(
                "warning: the listener on \(entry.socket.local) (\(pid)) did not set SO_REUSEADDR: when it stops, "
                    + "the connections it closed block a restart for up to 60 s; set SO_REUSEADDR in that "
                    + "server, or free the port then with: sudo sockit free \(entry.socket.local.port ?? 0) --leftovers"
            )
        }
    }

    /// `report` as `who PORT` prints it; with `summarize`, a busy port's connections as counts.
    static func text(_ report: PortReport, summarize: Bool = false) -> String {
        var lines: [String] = []
        if report.entries.isEmpty {
            lines.append("no socket uses port \(report.port)")
        } else {
            if summarize {
                lines.append(PortSummary.text(report) { table(report, local: $0, remote: []) })
            } else {
                lines.append(table(report, local: report.local, remote: report.remote))
            }
            lines += restartWarnings(report.local)
            if report.entries.contains(where: { !$0.socket.isInCurrentNetworkNamespace }) {
                lines.append(
                    Terminal.dim(
                        "sockets in other network namespaces do not block a bind in this one; "
                            + "the verdict below is for this one"))
            }
            if report.entries.contains(where: \.hidden) {
                lines.append(
                    Terminal.dim(
                        "hidden: \(report.unreadableProcesses) processes of other users could not be read; "
                            + "run as root to see every holder"))
            }
        }
        if let verdict = report.verdict {
            let sentence =
                "bind \(verdict.address) (\(verdict.transport)): \(verdict.summary): \(verdict.commandLineReason)"
            let colored: String
            switch verdict.kind {
            case .free: colored = Terminal.green(sentence)
            case .freeWithReuseAddress, .shared: colored = Terminal.yellow(sentence)
            default: colored = Terminal.red(sentence)
            }
            lines.append(colored)
        }
        return lines.joined(separator: "\n")
    }

    private static func rows(
        _ entry: PortReport.Entry, into table: inout Table, commands: inout [String: String], units: Bool,
        namespaces: Bool
    ) {
        let socket = entry.socket
        let base = [socket.transport.rawValue, socket.stateName, "\(socket.local)", socket.remoteDescription]
        let timer = timerText(socket)
        let namespace = namespaces ? [namespaceText(socket.networkNamespace)] : []
        if entry.holders.isEmpty {
            let command = entry.hidden ? "(hidden: another user's process)" : "-"
            let unknown = entry.hidden ? "?" : "-"
            table.append(base + [unknown, unknown] + (units ? [unknown] : []) + [command, "-", timer] + namespace)
        }
        for holder in entry.holders {
            let command = commands[holder.command] ?? holder.shortCommand(limit: 60)
            commands[holder.command] = command
            let unit = holder.unitCell.isEmpty ? "-" : holder.unitCell
            table.append(
                base + [String(holder.pid), holder.user] + (units ? [unit] : []) + [command, String(holder.fd), timer]
                    + namespace)
        }
    }

    /// The NETNS cell: `this` for sockit's own namespace, else its `ip netns` name or inode.
    static func namespaceText(_ namespace: NetworkNamespace?) -> String {
        guard let namespace else { return "-" }
        return namespace.isCurrent ? "this" : namespace.description
    }

    static func json(_ namespace: NetworkNamespace) -> JSON {
        .object([
            ("inode", .int(Int(namespace.inode))), ("name", namespace.name.map { .string($0) } ?? .null),
            ("current", .bool(namespace.isCurrent)),
        ])
    }

    /// Every listening socket, as `ss -tulpn` lists them, with REUSE: the reuse options its
    /// process set (`addr`, `port`; `-` for none, `?` when they could not be read).
    static func listingText(_ report: PortReport) -> String {
        let units = report.entries.contains { $0.holders.contains { !$0.unitCell.isEmpty } }
        let namespaces = !report.networkNamespaces.isEmpty
        var table = Table(
            ["PROTO", "LOCAL", "PID", "USER"] + (units ? ["UNIT"] : []) + ["COMMAND", "FD", "REUSE"]
                + (namespaces ? ["NETNS"] : []),
            rightAligned: [2])
        var commands: [String: String] = [:]
        for entry in report.entries {
            let socket = entry.socket
            let reuse: String
            switch (entry.reuseAddress, entry.reusePort) {
            case (nil, _), (_, nil): reuse = "?"
            case (true?, true?): reuse = "addr,port"
            case (true?, false?): reuse = "addr"
            case (false?, true?): reuse = "port"
            case (false?, false?): reuse = "-"
            }
            let namespace = namespaces ? namespaceText(socket.networkNamespace) : nil
            let local = socket.local.description
            // Each row built in place: a listing has hundreds.
            var row: [String] = []
            row.reserveCapacity(table.headers.count)
            guard !entry.holders.isEmpty else {
                let unknown = entry.hidden ? "?" : "-"
                row.append(socket.transport.rawValue)
                row.append(local)
                row.append(unknown)
                row.append(unknown)
                if units { row.append(unknown) }
                row.append(entry.hidden ? "(hidden: another user's process)" : "-")
                row.append("-")
                row.append(reuse)
                if let namespace { row.append(namespace) }
                table.append(row)
                continue
            }
            for holder in entry.holders {
                let command: String
                if let known = commands[holder.command] {
                    command = known
                } else {
                    command = holder.shortCommand(limit: 60)
                    commands[holder.command] = command
                }
                row.removeAll(keepingCapacity: true)
                row.append(socket.transport.rawValue)
                row.append(local)
                row.append(String(holder.pid))
                row.append(holder.user)
                if units { row.append(holder.unitCell.isEmpty ? "-" : holder.unitCell) }
                row.append(command)
                row.append(String(holder.fd))
                row.append(reuse)
                if let namespace { row.append(namespace) }
                table.append(row)
            }
        }
        var lines = [table.render()]
        let blocked = report.entries.count { $0.restartWillBeBlocked }
        if blocked > 0 {
            lines.append(
                Terminal.yellow(
                    "\(blocked) TCP listener\(blocked == 1 ? "" : "s") without SO_REUSEADDR (REUSE -): "
                        + "a restart will fail for up to 60 s after \(blocked == 1 ? "it stops" : "they stop")"))
        }
        return lines.joined(separator: "\n")
    }

    static func timerText(_ socket: PortSocket) -> String {
        guard let milliseconds = socket.timerMilliseconds else { return "" }
        let seconds = Double(milliseconds) / 1000
        let value = seconds < 100 ? "\(Double(Int(seconds * 10)) / 10)s" : "\(Int(seconds))s"
        return socket.timerKind == "timewait" || socket.timerKind == nil ? value : "\(socket.timerKind!) \(value)"
    }

    static func json(_ report: PortReport) -> JSON {
        var sockets: [JSON] = []
        for entry in report.entries {
            let socket = entry.socket
            var common: [(String, JSON)] = [
                ("protocol", .string(socket.transport.rawValue)),
                ("family", .string(socket.local.domain == .ipv6 ? "ipv6" : "ipv4")),
                ("state", .string(socket.stateName)),
                ("local", .string("\(socket.local)")),
                ("remote", socket.remote.map { .string("\($0)") } ?? .null),
            ]
            let tail: [(String, JSON)] =
                [
                    ("inode", .int(Int(socket.inode))),
                    ("uid", .int(Int(socket.uid))),
                    ("timer_ms", socket.timerMilliseconds.map { .int($0) } ?? .null),
                    ("timer", socket.timerKind.map { .string($0) } ?? .null),
                    ("side", .string(entry.side.rawValue)),
                    ("hidden", .bool(entry.hidden)),
                    ("reuse_address", entry.reuseAddress.map { .bool($0) } ?? .null),
                    ("reuse_port", entry.reusePort.map { .bool($0) } ?? .null),
                ] + (socket.networkNamespace.map { [("netns", json($0))] } ?? [])
            if entry.holders.isEmpty {
                common += [("pid", .null), ("user", .null), ("command", .null), ("fd", .null)]
                sockets.append(.object(common + tail + [("unit", .null), ("container", .null), ("cgroup", .null)]))
            }
            for holder in entry.holders {
                sockets.append(
                    .object(
                        common + [
                            ("pid", .int(Int(holder.pid))), ("user", .string(holder.user)),
                            ("command", .string(holder.command)), ("fd", .int(Int(holder.fd))),
                        ] + tail + holder.supervisionJSON))
            }
        }
        var members: [(String, JSON)] = [("port", .int(Int(report.port))), ("sockets", .array(sockets))]
        if let verdict = report.verdict { members.append(("verdict", json(verdict))) }
        members.append(("unreadable_processes", .int(report.unreadableProcesses)))
        if !report.networkNamespaces.isEmpty {
            members.append(("network_namespaces", .array(report.networkNamespaces.map(json))))
        }
        return .object(members)
    }

    static func json(_ verdict: BindVerdict) -> JSON {
        .object([
            ("address", .string("\(verdict.address)")),
            ("protocol", .string(verdict.transport.rawValue)),
            ("bindable", .bool(verdict.bindable)),
            ("needs_reuse_address", .bool(verdict.needsReuseAddress)),
            ("kind", .string(verdict.kind.rawValue)),
            ("summary", .string(verdict.summary)),
            ("reason", .string(verdict.commandLineReason)),
            ("wait_ms", verdict.waitMilliseconds.map { .int($0) } ?? .null),
            // Whether wait_ms is the time left (TIME-WAIT only) or an upper bound (still closing).
            ("wait_exact", verdict.waitMilliseconds == nil ? .null : .bool(verdict.closing?.isExact ?? true)),
            ("holders", .array(verdict.holders.map { .int(Int($0.pid)) })),
        ])
    }

    /// Under `SOCKIT_DEBUG` (any value but empty or 0): a line on stderr for each transport read
    /// from `/proc/net` because netlink is not available, and why. The library only reports it.
    static func debug(_ fallbacks: [SocketTableFallback]) {
        guard !fallbacks.isEmpty, let value = Sys.environment("SOCKIT_DEBUG") else { return }
        guard !value.isEmpty, value != "0" else { return }
        for fallback in fallbacks { printError("sockit: debug: \(fallback)") }
    }
}

/// `sockit who`, parsed: what to look at and how to print it.
struct WhoRequest: Equatable, Sendable {
    /// The port; nil: list the listening sockets (of `range`, or of every port).
    var target: PortArgument?
    /// `--tcp` or `--udp`; nil: both.
    var only: TransportProtocol?
    var listening = false
    var scanAll = false
    var json = false
    /// `--all-netns`: every network namespace's table.
    var allNetworkNamespaces = false
    /// `--all`: every row on a terminal too.
    var all = false
    /// `who FIRST-LAST`: the listeners of these ports.
    var range: ClosedRange<UInt16>? = nil

    /// `8000-8100` as a range of ports; nil when `text` is not one (a port, an address); an error
    /// for a range that is wrong.
    static func range(_ text: String) throws -> ClosedRange<UInt16>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }) else {
            return nil
        }
        guard let first = Int(parts[0]), let last = Int(parts[1]), (1...65535).contains(first),
            (1...65535).contains(last), first <= last
        else {
            throw ValidationError(
                "invalid range \"\(text)\": give FIRST-LAST with ports from 1 to 65535, the first no greater")
        }
        return UInt16(first)...UInt16(last)
    }

    var inspector: PortInspector { inspector(supervision: Supervision()) }

    func inspector(supervision: Supervision) -> PortInspector {
        PortInspector(
            table: allNetworkNamespaces ? EveryNetworkNamespace() : SocketTable.system,
            search: scanAll ? .exhaustive : .fast, supervision: supervision)
    }

    func run() throws {
        guard let target else { return try runListing() }
        let transports = only.transports
        let inspector = self.inspector
        var report: PortReport
        do {
            if listening {
                report = try inspector.listeners(port: target.port, transports: transports)
            } else {
                report = try inspector.report(port: target.port, transports: transports)
            }
        } catch {
            throw CommandFailure.socketTable(error)
        }
        Who.debug(report.tableFallbacks)
        let verdictTransport = only.verdictTransport(for: report)
        let probe = BindProbe.probe(target.verdictAddress, verdictTransport)
        var explaining = report
        if listening && probe.plain != nil && report.local.isEmpty {
            // Busy, but no listener: the explanation needs the other sockets (TIME-WAIT, ...).
            explaining =
                (try? inspector.report(port: target.port, transports: [verdictTransport], localOnly: true))
                ?? report
        }
        report.verdict = BindVerdict.decide(
            address: target.verdictAddress, transport: verdictTransport, probe: probe,
            local: explaining.local.filter(\.socket.isInCurrentNetworkNamespace),
            unreadableProcesses: explaining.unreadableProcesses, supervision: inspector.supervision)

        // Nothing here: a listener in a container or an ip netns namespace would not show. Say
        // that other namespaces exist (read only now: the common answer costs nothing more).
        let others = report.entries.isEmpty && !allNetworkNamespaces ? NetworkNamespace.list().others.count : 0
        if json {
            var document = Who.json(report)
            if case .object(var members) = document, others > 0 {
                members.append(("other_network_namespaces", .int(others)))
                document = .object(members)
            }
            document.print()
        } else {
            // More rows than a screen on a terminal: the holders, counts, and the verdict.
            let summarize = !all && (Terminal.outputHeight.map { PortSummary.isNeeded(report, height: $0) } ?? false)
            printLine(Who.text(report, summarize: summarize))
            if others > 0 {
                printLine(
                    "nothing in this network namespace; \(others) other network namespace\(others == 1 ? "" : "s") "
                        + "on this machine: sudo sockit who \(target.port) --all-netns")
            }
        }
        if report.entries.isEmpty { throw CommandFailure.notMet("") }
    }

    /// `who` without a port, or with a range: every listening socket, sorted by port.
    func runListing() throws {
        let report: PortReport
        do {
            // A listing gives no verdict and no advice: this process's own cgroup (what advice
            // compares holders with) is not read.
            report = try inspector(supervision: Supervision(caller: nil))
                .listening(ports: range, transports: only.transports)
        } catch {
            throw CommandFailure.socketTable(error)
        }
        Who.debug(report.tableFallbacks)
        if json {
            var document = Who.json(report)
            if case .object(var members) = document {
                members[0] = ("ports", range.map { .string("\($0.lowerBound)-\($0.upperBound)") } ?? .null)
                document = .object(members)
            }
            document.print()
        } else if report.entries.isEmpty {
            printLine(range.map { "nothing listens on ports \($0.lowerBound)-\($0.upperBound)" } ?? "nothing listens")
        } else {
            printLine(Who.listingText(report))
        }
        if report.entries.isEmpty { throw CommandFailure.notMet("") }
    }
}
