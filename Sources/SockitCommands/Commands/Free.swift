import ArgumentParser
import Sockit
import SockitPorts

#if canImport(Glibc)
import Glibc
#endif

/// `sockit free PORT`: stop the processes that hold a port, and only them.
struct Free: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "free",
        abstract: "Free a port: signal the processes that hold it (and only them), then check it binds.",
        discussion: """
            Candidates are the processes with a socket bound to PORT on this machine: a \
            listener, a bound UDP socket, a connection accepted on the port. A client connected \
            to PORT is never one. sockit shows them, asks (on a terminal, unless --yes), sends \
            the signal (SIGTERM) through a pidfd so that a pid reused meanwhile is never hit, \
            waits up to --grace seconds, sends SIGKILL to what is left, and then tries a bind.

            It never signals pid 1, itself or its parent, nor another user's process unless \
            --all-users. With --all-netns the holders in every network namespace are \
            candidates (a server in a container or an ip netns namespace; needs root); the \
            final bind check is for this namespace.

            A process of a systemd service (nginx.service) or of a container (docker, podman, \
            Kubernetes) is not signalled either: its manager would start it again. sockit \
            prints the command that stops it for good (systemctl stop nginx.service, \
            docker stop ID; for a user's unit systemctl --user) and exits 1; --force signals it \
            anyway. A listener held by systemd itself (pid 1 or systemd --user: socket \
            activation) is never signalled: stop its .socket unit and its service, which \
            sockit finds with systemctl list-sockets when it can. A holder in sockit's own \
            unit or container, and one in a scope (a login session, a terminal's command), is \
            signalled as usual.

            Holders are looked for as sockit who does (the socket owner's processes, then \
            the fork family of the holders found). When the port is still busy once they are \
            gone, sockit reads every process for holders that search cannot reach (a socket \
            passed with SCM_RIGHTS, as a hand-off does) and stops them too. --dry-run reads \
            every process at once.

            --leftovers also destroys what no signal can stop: the TCP connections in \
            TIME-WAIT and the orphans still closing (FIN-WAIT-2, ...) bound to PORT, once no \
            process holds it. Their listener lacked SO_REUSEADDR, so they block every bind \
            for up to 60 s. The kernel destroys them (SOCK_DESTROY, as ss -K does): it needs \
            CAP_NET_ADMIN (root) and a kernel with CONFIG_INET_DIAG_DESTROY. The risk: \
            TIME-WAIT guards a new connection on the same ports against a late duplicate \
            segment of the old one; with TCP timestamps (Linux's default) such a segment is \
            dropped anyway. Live connections, listeners and clients are never touched.

            Exit status: 0 when the port is free at the end (with --dry-run: when there is \
            something to signal), 1 when it is not (or nothing holds it and it is still busy), \
            2 on an error.

            Examples:
              sockit free 8080 --dry-run       show what would be signalled
              sockit free 8080 --yes           no question; SIGTERM, SIGKILL after 5 s
              sockit free 8080 --signal INT --grace 10
              sockit free 8080 --yes --json    candidates, signalled, killed, verdict
              sockit free 8080 --yes --force   signal a service's process anyway
              sudo sockit free 8080 --leftovers   destroy TIME-WAIT no option gets past
            """
    )

    @Argument(
        help: ArgumentHelp("The port (or HOST:PORT: the final bind check is for that address).", valueName: "PORT"))
    var target: String

    @Flag(help: "Only TCP or only UDP holders (default: both).")
    var transport: TransportFlag?

    @Option(
        name: .customLong("signal"),
        help: ArgumentHelp("The first signal: TERM, INT, HUP, QUIT, KILL or a number.", valueName: "SIGNAL"))
    var signalName = "TERM"

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Seconds to wait for the holders to exit before SIGKILL.", valueName: "SECONDS"))
    var grace: Double = 5

    @Flag(help: "Show what would be signalled; signal nothing.")
    var dryRun = false

    @Flag(name: [.customShort("y"), .long], help: "Do not ask.")
    var yes = false

    @Flag(help: "Include other users' processes (needs root).")
    var allUsers = false

    @Flag(help: "Signal a systemd service's or a container's process anyway (its manager may start it again).")
    var force = false
    @Flag(
        help: ArgumentHelp(
            "Also destroy the closed connections no process holds (TIME-WAIT, FIN-WAIT-2) bound to the port "
                + "(needs CAP_NET_ADMIN; see the risk above)."))
    var leftovers = false

    @Flag(
        name: .customLong("all-netns"),
        help: "Also stop holders in other network namespaces: containers, ip netns (needs root).")
    var allNetworkNamespaces = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try PortArgument.parse(target)
        guard SignalName.parse(signalName) != nil else {
            throw ValidationError(
                "unknown signal \"\(signalName)\": use TERM, INT, HUP, QUIT, KILL, USR1, USR2 or a number")
        }
        guard grace >= 0, grace.isFinite, grace <= 86_400 else {
            throw ValidationError("--grace takes seconds from 0 to 86400, not \(Free.number(grace))")
        }
    }

    func run() async throws {
        let argument = try PortArgument.parse(target)
        let signal = SignalName.parse(signalName)!
        let freer = PortFreer(
            inspector: PortInspector(table: allNetworkNamespaces ? EveryNetworkNamespace() : SocketTable.system),
            allowOtherUsers: allUsers, signalSupervised: force)
        // With --json, stdout carries only the document, printed once at the end, whatever happens.
        let say: (String) -> Void = output.json ? { _ in } : { print($0) }
        var progress = ProgressPrinter(port: argument.port, grace: grace, say: say)
        var report: FreeReport
        do {
            report = try await freer.free(
                port: argument.port, transports: (transport?.transport).transports,
                verdictAddress: argument.verdictAddress, signal: signal, grace: .milliseconds(Int64(grace * 1000)),
                dryRun: dryRun,
                confirm: yes ? nil : { try confirm($0, port: argument.port, signal: signal) },
                progress: { progress.show($0) })
        } catch let error as SocketTableError {
            throw CommandFailure.socketTable(error)
        }
        var destroyed: JSON = .null
        var wouldDestroy = 0
        if leftovers {
            do {
                (destroyed, wouldDestroy) = try destroyLeftovers(&report, address: argument.verdictAddress, say: say)
            } catch {
                if output.json {
                    Self.json(report, leftovers: .object([("error", .string(error.summary))])).print()
                    flushStandardStreams()
                }
                throw error
            }
        }
        func finish(_ failure: CommandFailure?) throws {
            if output.json {
                Self.json(report, leftovers: destroyed).print()
                flushStandardStreams()
            }
            if let failure { throw failure }
        }

        let port = argument.port
        // A dry run that found closed connections to destroy has something to do, as one that
        // found holders to signal.
        if wouldDestroy > 0 && report.outcome == .noHolder { return try finish(nil) }
        switch report.outcome {
        case .hiddenHolder:
            try finish(
                .notMet(
                    "port \(port) is held by a process this user cannot see (another user's); "
                        + "run as root: sudo sockit free \(port)"))
        case .noHolder:
            let verdict = report.verdict!
            if verdict.bindable {
                say("no process holds port \(port); \(verdict.summary): \(verdict.commandLineReason)")
                if !allNetworkNamespaces, case let others = NetworkNamespace.list().others.count, others > 0 {
                    say(
                        "(in this network namespace; \(others) other\(others == 1 ? "" : "s") on this machine: "
                            + "sudo sockit free \(port) --all-netns)")
                }
                return try finish(nil)
            }
            try finish(
                .notMet("no process holds port \(port), but it is \(verdict.summary): \(verdict.commandLineReason)"))
        case .allRefused:
            try finish(
                .notMet(
                    "not signalling anything: every holder of port \(port) is refused (see above)",
                    remedies: Self.supervisedRemedies(report.candidates)))
        case .dryRun:
            let allowed = report.candidates.filter { $0.refusal == nil }
            let pids = allowed.map { String($0.holder.pid) }.joined(separator: ", ")
            say(
                "dry run: would send \(SignalName.name(signal)) to \(allowed.count == 1 ? "process" : "processes") "
                    + "\(pids), then SIGKILL after \(Self.seconds(grace)) to any left")
            for remedy in Self.supervisedRemedies(report.candidates) { say("  " + remedy.commandLineText) }
            try finish(nil)
        case .declined:
            throw CommandFailure.notMet("nothing signalled")
        case .stopped:
            let verdict = report.verdict!
            if verdict.bindable {
                say("port \(port) is \(verdict.summary): \(verdict.commandLineReason)")
                try finish(nil)
            } else {
                try finish(.notMet("port \(port) is still \(verdict.summary): \(verdict.commandLineReason)"))
            }
        }
    }

    /// What stops the supervised holders that were refused for good (`systemctl stop …`,
    /// `docker stop …`), then `--force` where it may be used; each once.
    static func supervisedRemedies(_ candidates: [PortFreer.Candidate]) -> [Remedy] {
        var remedies: [Remedy] = []
        for candidate in candidates {
            guard case .supervised? = candidate.refusal, let refusal = candidate.refusal else { continue }
            for remedy in refusal.remedies where !remedies.contains(remedy) { remedies.append(remedy) }
        }
        // The --force line last, after every command that stops a holder for good.
        return remedies.filter { $0 != .signalSupervised } + remedies.filter { $0 == .signalSupervised }
    }

    /// Asks on the terminal; false when the answer is not yes, throws when it cannot be asked.
    private func confirm(_ allowed: [PortFreer.Candidate], port: UInt16, signal: Int32) throws -> Bool {
        let name = SignalName.name(signal)
        let pids = allowed.map { String($0.holder.pid) }.joined(separator: ", ")
        let plural = allowed.count == 1 ? "process" : "processes"
        guard Terminal.inputIsTerminal && !output.json else {
            throw CommandFailure.error(
                "not asking without a terminal: pass --yes to send \(name) to \(plural) \(pids), "
                    + "or --dry-run to see what would be signalled")
        }
        printError("Send \(name) to \(allowed.count) \(plural) holding port \(port) (\(pids))? [y/N] ")
        guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else { return false }
        return true
    }

    /// Prints `PortFreer.free`'s progress: what it found and did on stdout (through `say`), the
    /// waits on stderr, as a line that counts the time on a terminal and a line a second otherwise.
    struct ProgressPrinter {
        var port: UInt16
        var grace: Double
        var say: (String) -> Void
        let interactive = Terminal.errorIsTerminal
        var lastSecond = -1

        mutating func show(_ event: FreeProgress) {
            switch event {
            case .foundHolders(let candidates, let fallbacks):
                Who.debug(fallbacks)
                if !candidates.isEmpty { say(Free.table(candidates)) }
            case .readingEveryProcess, .checkingBind:
                break
            case .foundMoreHolders(let missed, let verdict):
                say(
                    "port \(port) is still \(verdict.summary); reading every process found "
                        + (missed.count == 1 ? "another holder:" : "\(missed.count) more holders:"))
                say(Free.table(missed))
            case .skipped(let pid, let exitedBeforeSignal):
                say(
                    exitedBeforeSignal
                        ? "pid \(pid) exited before the signal"
                        : "pid \(pid) is gone or no longer holds the port: skipped")
            case .signalled(let pid, let signal):
                say("sent \(SignalName.name(signal)) to pid \(pid)")
            case .signalFailed(let error):
                printError("sockit: \(error)")
            case .waiting(let pids, let elapsed, let timeout, let stage):
                let what = stage == .exit ? "to exit" : "to die"
                if interactive {
                    printErrorPartial(
                        "\r\u{1B}[Kwaiting for \(pids.count) process\(pids.count == 1 ? "" : "es") \(what): "
                            + "\(Free.seconds(Double(elapsed.milliseconds) / 1000)) of "
                            + "\(Free.seconds(Double(timeout.milliseconds) / 1000))")
                } else if Int(elapsed.milliseconds / 1000) > lastSecond {
                    lastSecond = Int(elapsed.milliseconds / 1000)
                    if lastSecond > 0 {
                        let list = pids.map { String($0) }.joined(separator: ", ")
                        printError("waiting for \(list) \(what): \(lastSecond) s")
                    }
                }
            case .exited(let pid, let after?):
                if interactive { printErrorPartial("\r\u{1B}[K") }
                say("pid \(pid) exited after \(Free.seconds(Double(after.milliseconds) / 1000))")
            case .exited(let pid, nil):
                say("pid \(pid) exited")
            case .waitOver:
                if interactive { printErrorPartial("\r\u{1B}[K") }
                lastSecond = -1
            case .escalated(let pid):
                say("pid \(pid) did not exit within \(Free.seconds(grace)): sent SIGKILL")
            case .stillAlive(let pid):
                printError("sockit: pid \(pid) is still alive after SIGKILL (stuck in the kernel?)")
            }
            flushStandardStreams()
        }
    }

    /// What `free` did, for `--json`.
    static func json(_ report: FreeReport, leftovers: JSON = .null) -> JSON {
        func pids(_ list: [Int32]) -> JSON { .array(list.map { .int(Int($0)) }) }
        return .object([
            ("port", .int(Int(report.port))),
            ("signal", .string(SignalName.name(report.signal))),
            ("dry_run", .bool(report.dryRun)),
            (
                "candidates",
                .array(
                    report.candidates.map { candidate in
                        .object(
                            [
                                ("pid", .int(Int(candidate.holder.pid))), ("user", .string(candidate.holder.user)),
                                ("command", .string(candidate.holder.command)),
                                (
                                    "sockets",
                                    .array(
                                        candidate.sockets.map { .string("\($0.transport) \($0.stateName) \($0.local)") }
                                    )
                                ),
                                ("refused", candidate.refusal.map { .string($0.commandLineText) } ?? .null),
                            ] + candidate.holder.supervisionJSON + [
                                (
                                    "advice",
                                    .array((candidate.refusal?.remedies ?? []).map { .string($0.commandLineText) })
                                )
                            ])
                    })
            ),
            ("signalled", pids(report.signalled)), ("killed", pids(report.killed)), ("skipped", pids(report.skipped)),
            ("still_alive", pids(report.stillAlive)),
            ("verdict", report.verdict.map(Who.json) ?? .null),
            ("free", .bool(report.isFree)),
            ("leftovers", leftovers),
        ])
    }

    static func table(_ candidates: [PortFreer.Candidate]) -> String {
        // UNIT only when a holder runs in a systemd unit or a container.
        let units = candidates.contains { !$0.holder.unitCell.isEmpty }
        var table = Table(
            ["PID", "USER"] + (units ? ["UNIT"] : []) + ["COMMAND", "SOCKETS", "ACTION"], rightAligned: [0])
        for candidate in candidates {
            let sockets = candidate.sockets.map { "\($0.transport) \($0.stateName) \($0.local)" }
            let shown = sockets.prefix(3).joined(separator: ", ") + (sockets.count > 3 ? ", +\(sockets.count - 3)" : "")
            let command = candidate.holder.shortCommand(limit: 50)
            let unit = candidate.holder.unitCell.isEmpty ? "-" : candidate.holder.unitCell
            table.append(
                [String(candidate.holder.pid), candidate.holder.user] + (units ? [unit] : []) + [
                    command, shown, candidate.refusal.map { "refused: \($0.commandLineText)" } ?? "signal",
                ])
        }
        return table.render()
    }

    /// `5` for 5.0, `0.25` for 0.25: a number as the user typed it.
    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : "\(Double(Int(value * 10)) / 10) s"
    }
}
