#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Sockit
import SockitPorts

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
            --all-users.

            Holders are looked for as sockit who does (the socket owner's processes, then \
            the fork family of the holders found). When the port is still busy once they are \
            gone, sockit reads every process for holders that search cannot reach (a socket \
            passed with SCM_RIGHTS, as a hand-off does) and stops them too. --dry-run reads \
            every process at once.

            Exit status: 0 when the port is free at the end (with --dry-run: when there is \
            something to signal), 1 when it is not (or nothing holds it and it is still busy), \
            2 on an error.

            Examples:
              sockit free 8080 --dry-run       show what would be signalled
              sockit free 8080 --yes           no question; SIGTERM, SIGKILL after 5 s
              sockit free 8080 --signal INT --grace 10
              sockit free 8080 --yes --json    candidates, signalled, killed, verdict
            """
    )

    @Argument(help: ArgumentHelp("The port (or HOST:PORT: the final bind check is for that address).", valueName: "PORT"))
    var target: String

    @Flag(help: "Only TCP or only UDP holders (default: both).")
    var transport: TransportFlag?

    @Option(name: .customLong("signal"), help: ArgumentHelp("The first signal: TERM, INT, HUP, QUIT, KILL or a number.", valueName: "SIGNAL"))
    var signalName = "TERM"

    @Option(parsing: .unconditional, help: ArgumentHelp("Seconds to wait for the holders to exit before SIGKILL.", valueName: "SECONDS"))
    var grace: Double = 5

    @Flag(help: "Show what would be signalled; signal nothing.")
    var dryRun = false

    @Flag(name: [.customShort("y"), .long], help: "Do not ask.")
    var yes = false

    @Flag(help: "Include other users' processes (needs root).")
    var allUsers = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try PortArgument.parse(target)
        guard SignalName.parse(signalName) != nil else {
            throw ValidationError("unknown signal \"\(signalName)\": use TERM, INT, HUP, QUIT, KILL, USR1, USR2 or a number")
        }
        guard grace >= 0, grace.isFinite, grace <= 86_400 else {
            throw ValidationError("--grace takes seconds from 0 to 86400, not \(Free.number(grace))")
        }
    }

    func run() async throws {
        let argument = try PortArgument.parse(target)
        let signal = SignalName.parse(signalName)!
        let only = transport?.transport
        let transports = only.transports
        let freer = PortFreer(allowOtherUsers: allUsers)
        // A dry run signals nothing, so nothing can show later that a holder was missed: it
        // reads every process at once.
        let (candidates, report) = try Self.candidates(
            freer, argument.port, transports, search: dryRun ? .exhaustive : nil)
        Who.debug(report.tableFallbacks)
        let verdictTransport = only.verdictTransport(for: report)
        var outcome = Outcome(port: argument.port, signal: signal, dryRun: dryRun, candidates: candidates)
        // With --json, stdout carries only the document, printed once at the end, whatever happens.
        let say: (String) -> Void = output.json ? { _ in } : { print($0) }
        func finish(_ failure: CommandFailure?) throws {
            if output.json {
                outcome.json().print()
                flushStandardStreams()
            }
            if let failure { throw failure }
        }

        guard !candidates.isEmpty else {
            let verdict = try finalVerdict(argument, verdictTransport, freer)
            outcome.verdict = verdict
            if report.local.contains(where: \.hidden) {
                try finish(
                    .notMet(
                        "port \(argument.port) is held by a process this user cannot see (another user's); "
                            + "run as root: sudo sockit free \(argument.port)"))
            }
            if verdict.bindable {
                say("no process holds port \(argument.port); \(verdict.summary): \(verdict.reason)")
                return try finish(nil)
            }
            try finish(
                .notMet("no process holds port \(argument.port), but it is \(verdict.summary): \(verdict.reason)"))
            return
        }

        say(Self.table(candidates))
        let allowed = candidates.filter { $0.refusal == nil }
        guard !allowed.isEmpty else {
            try finish(.notMet("not signalling anything: every holder of port \(argument.port) is refused (see above)"))
            return
        }
        if dryRun {
            let pids = allowed.map { String($0.holder.pid) }.joined(separator: ", ")
            say(
                "dry run: would send \(SignalName.name(signal)) to \(allowed.count == 1 ? "process" : "processes") "
                    + "\(pids), then SIGKILL after \(Self.seconds(grace)) to any left")
            return try finish(nil)
        }
        try confirm(allowed, port: argument.port, signal: signal)
        stop(allowed, by: freer, signal: signal, outcome: &outcome, say: say)

        var verdict = try finalVerdict(argument, verdictTransport, freer)
        if !verdict.bindable && freer.searchMayMissHolders {
            // The first search followed the fork family of the holders it found; a process given
            // the socket with SCM_RIGHTS (a listener handed off) is not in it. Before saying that
            // the port is still busy, read every process.
            let (more, _) = try Self.candidates(freer, argument.port, transports, search: .exhaustive)
            let known = Set(outcome.candidates.map(\.holder.pid))
            let missed = more.filter { !known.contains($0.holder.pid) }
            if !missed.isEmpty {
                say(
                    "port \(argument.port) is still \(verdict.summary); reading every process found "
                        + (missed.count == 1 ? "another holder:" : "\(missed.count) more holders:"))
                say(Self.table(missed))
                outcome.candidates += missed
                let allowedMissed = missed.filter { $0.refusal == nil }
                if !allowedMissed.isEmpty {
                    try confirm(allowedMissed, port: argument.port, signal: signal)
                    stop(allowedMissed, by: freer, signal: signal, outcome: &outcome, say: say)
                    verdict = try finalVerdict(argument, verdictTransport, freer)
                }
            }
        }
        outcome.verdict = verdict
        if verdict.bindable {
            say("port \(argument.port) is \(verdict.summary): \(verdict.reason)")
            try finish(nil)
        } else {
            try finish(.notMet("port \(argument.port) is still \(verdict.summary): \(verdict.reason)"))
        }
    }

    private static func candidates(
        _ freer: PortFreer, _ port: UInt16, _ transports: TransportSet, search: HolderSearch?
    ) throws -> ([PortFreer.Candidate], PortReport) {
        do {
            return try freer.candidates(port: port, transports: transports, search: search)
        } catch {
            throw CommandFailure.socketTable(error)
        }
    }

    /// Asks on the terminal unless --yes; throws when the answer is not yes (or cannot be asked).
    private func confirm(_ allowed: [PortFreer.Candidate], port: UInt16, signal: Int32) throws {
        guard !yes else { return }
        let name = SignalName.name(signal)
        let pids = allowed.map { String($0.holder.pid) }.joined(separator: ", ")
        let plural = allowed.count == 1 ? "process" : "processes"
        guard Terminal.inputIsTerminal && !output.json else {
            throw CommandFailure.error(
                "not asking without a terminal: pass --yes to send \(name) to \(plural) \(pids), "
                    + "or --dry-run to see what would be signalled")
        }
        printError("Send \(name) to \(allowed.count) \(plural) holding port \(port) (\(pids))? [y/N] ")
        guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else {
            throw CommandFailure.notMet("nothing signalled")
        }
    }

    /// Signals the holders through pidfds, waits up to --grace, sends SIGKILL to what is left,
    /// and waits for that; what happened goes into `outcome`.
    private func stop(
        _ allowed: [PortFreer.Candidate], by freer: PortFreer, signal: Int32, outcome: inout Outcome,
        say: (String) -> Void
    ) {
        let name = SignalName.name(signal)
        let (handles, gone) = freer.open(allowed)
        for candidate in gone {
            outcome.skipped.append(candidate.holder.pid)
            say("pid \(candidate.holder.pid) is gone or no longer holds the port: skipped")
        }
        var signalled: [ProcessHandle] = []
        for (_, handle) in handles {
            do {
                try handle.send(signal)
                signalled.append(handle)
                outcome.signalled.append(handle.pid)
                say("sent \(name) to pid \(handle.pid)")
            } catch let error where error.errno == .noSuchProcess {
                outcome.skipped.append(handle.pid)
                say("pid \(handle.pid) exited before the signal")
            } catch {
                printError("sockit: \(error)")
            }
        }
        flushStandardStreams()
        let left = Self.waitWithProgress(signalled, timeout: .milliseconds(Int64(grace * 1000)), what: "to exit", say: say)
        for handle in left {
            do {
                try handle.send(SIGKILL)
                outcome.killed.append(handle.pid)
                say("pid \(handle.pid) did not exit within \(Self.seconds(grace)): sent SIGKILL")
            } catch {
                printError("sockit: \(error)")
            }
        }
        let stuck = Self.waitWithProgress(left, timeout: .seconds(5), what: "to die", say: say)
        for handle in stuck {
            outcome.alive.append(handle.pid)
            printError("sockit: pid \(handle.pid) is still alive after SIGKILL (stuck in the kernel?)")
        }
        flushStandardStreams()
    }

    /// What `free` did, for `--json`.
    struct Outcome {
        var port: UInt16
        var signal: Int32
        var dryRun: Bool
        var candidates: [PortFreer.Candidate]
        var signalled: [Int32] = []
        var killed: [Int32] = []
        var skipped: [Int32] = []
        var alive: [Int32] = []
        var verdict: BindVerdict?

        func json() -> JSON {
            func pids(_ list: [Int32]) -> JSON { .array(list.map { .int(Int($0)) }) }
            return .object([
                ("port", .int(Int(port))),
                ("signal", .string(SignalName.name(signal))),
                ("dry_run", .bool(dryRun)),
                (
                    "candidates",
                    .array(
                        candidates.map { candidate in
                            .object([
                                ("pid", .int(Int(candidate.holder.pid))), ("user", .string(candidate.holder.user)),
                                ("command", .string(candidate.holder.command)),
                                ("sockets", .array(candidate.sockets.map { .string("\($0.transport) \($0.stateName) \($0.local)") })),
                                ("refused", candidate.refusal.map { .string("\($0)") } ?? .null),
                            ])
                        })
                ),
                ("signalled", pids(signalled)), ("killed", pids(killed)), ("skipped", pids(skipped)),
                ("still_alive", pids(alive)),
                ("verdict", verdict.map(Who.json) ?? .null),
                ("free", .bool(verdict?.bindable ?? false)),
            ])
        }
    }

    private func finalVerdict(_ argument: PortArgument, _ transport: TransportProtocol, _ freer: PortFreer) throws
        -> BindVerdict
    {
        do {
            return try freer.inspector.verdict(for: argument.verdictAddress, transport: transport)
        } catch {
            throw CommandFailure.socketTable(error)
        }
    }

    /// Waits for the processes, with a line on stderr that counts the time on a terminal and a
    /// line per exit otherwise.
    static func waitWithProgress(
        _ handles: [ProcessHandle], timeout: Duration, what: String, say: (String) -> Void
    ) -> [ProcessHandle] {
        guard !handles.isEmpty else { return [] }
        let interactive = Terminal.errorIsTerminal
        var reported = Set<Int32>()
        var lastSecond = -1
        let left = ProcessHandle.waitForExit(handles, timeout: timeout) { alive, elapsed in
            let aliveSet = Set(alive.map(\.pid))
            for handle in handles where !aliveSet.contains(handle.pid) && reported.insert(handle.pid).inserted {
                if interactive { printErrorPartial("\r\u{1B}[K") }
                say("pid \(handle.pid) exited after \(seconds(Double(elapsed.milliseconds) / 1000))")
                flushStandardStreams()
            }
            if interactive {
                printErrorPartial(
                    "\r\u{1B}[Kwaiting for \(alive.count) process\(alive.count == 1 ? "" : "es") \(what): "
                        + "\(seconds(Double(elapsed.milliseconds) / 1000)) of \(seconds(Double(timeout.milliseconds) / 1000))")
            } else if Int(elapsed.milliseconds / 1000) > lastSecond {
                lastSecond = Int(elapsed.milliseconds / 1000)
                if lastSecond > 0 { printError("waiting for \(alive.map { String($0.pid) }.joined(separator: ", ")) \(what): \(lastSecond) s") }
            }
        }
        if interactive { printErrorPartial("\r\u{1B}[K") }
        let leftSet = Set(left.map(\.pid))
        for handle in handles where !leftSet.contains(handle.pid) && reported.insert(handle.pid).inserted {
            say("pid \(handle.pid) exited")
        }
        return left
    }

    static func table(_ candidates: [PortFreer.Candidate]) -> String {
        var table = Table(["PID", "USER", "COMMAND", "SOCKETS", "ACTION"], rightAligned: [0])
        for candidate in candidates {
            let sockets = candidate.sockets.map { "\($0.transport) \($0.stateName) \($0.local)" }
            let shown = sockets.prefix(3).joined(separator: ", ") + (sockets.count > 3 ? ", +\(sockets.count - 3)" : "")
            let command = candidate.holder.shortCommand(limit: 50)
            table.append([
                String(candidate.holder.pid), candidate.holder.user, command, shown,
                candidate.refusal.map { "refused: \($0)" } ?? "signal",
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
