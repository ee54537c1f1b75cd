import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Frees a port by stopping the processes that hold it, and only them: a process is a candidate
/// when it holds a socket *bound* to the port on this machine (a listener, a bound UDP socket,
/// an accepted connection). A client connected to the port is never one.
public struct PortFreer: Sendable {
    /// A process that holds the port, and whether it may be signalled.
    public struct Candidate: Sendable, Hashable {
        /// The process.
        public var holder: SocketHolder
        /// The sockets on the port it holds.
        public var sockets: [PortSocket]
        /// Why it will not be signalled; nil when it will.
        public var refusal: Refusal?
    }

    /// Why a holder is left alone.
    public enum Refusal: Sendable, Hashable, CustomStringConvertible {
        /// pid 1 (init, or a container's main process): stopping it takes everything down.
        case initProcess
        /// This process.
        case itself
        /// The process that started this one (a shell or script would kill itself).
        case parent
        /// Another user's process, without `allowOtherUsers`.
        case otherUser(String)
        /// A systemd service's or a container's process, without `signalSupervised` (its
        /// manager would start it again: it is stopped through the manager, as `remedies` say),
        /// or a systemd manager holding the socket itself (never signalled).
        case supervised(SupervisorAdvice)

        /// Why, in a phrase: `pid 1 (init) is never signalled`, `it belongs to user alice`.
        public var description: String {
            switch self {
            case .initProcess: return "pid 1 (init) is never signalled"
            case .itself: return "this is the calling process itself"
            case .parent: return "this is the calling process's parent"
            case .otherUser(let user): return "it belongs to user \(user)"
            case .supervised(let advice):
                switch advice.supervisor {
                case .unit: return "it runs \(advice.supervisor), whose manager would start it again"
                case .container: return "it runs \(advice.supervisor), whose runtime stops it"
                case .serviceManager:
                    return "it is \(advice.supervisor), holding the socket for a .socket unit; never signalled"
                }
            }
        }

        /// What would lift the refusal or do what it stands for: `.includeOtherUsers` for another
        /// user's process; for a supervised one, what stops it for good, then
        /// `.signalSupervised` (not for a manager); none for the others, which are never signalled.
        public var remedies: [Remedy] {
            switch self {
            case .otherUser: return [.includeOtherUsers]
            case .supervised(let advice):
                return advice.remedies + (advice.supervisor.maySignal ? [.signalSupervised] : [])
            case .initProcess, .itself, .parent: return []
            }
        }
    }

    /// What finds the holders and decides the final bind verdict.
    public var inspector: PortInspector
    /// Signal other users' processes too (root only, in effect).
    public var allowOtherUsers: Bool
    /// Signal a systemd service's or a container's process too, though its manager may start it
    /// again (a systemd manager holding the socket itself is never signalled).
    public var signalSupervised: Bool

    /// A freer that finds holders with `inspector` and signals only this user's processes unless
    /// `allowOtherUsers`.
    public init(
        inspector: PortInspector = PortInspector(), allowOtherUsers: Bool = false, signalSupervised: Bool = false
    ) {
        self.inspector = inspector
        self.allowOtherUsers = allowOtherUsers
        self.signalSupervised = signalSupervised
    }

    /// The holders of `port` (sockets bound to it here), each with its refusal if any, and the
    /// report. `search`: how to look for them (nil: as the inspector does). When a fast search
    /// leaves a socket bound to the port without a holder, every process is read before this
    /// answers.
    public func candidates(
        port: UInt16, transports: TransportSet, search: HolderSearch? = nil
    )
        throws(SocketTableError) -> ([Candidate], PortReport)
    {
        var inspector = self.inspector
        if let search { inspector.search = search }
        var report = try inspector.report(port: port, transports: transports, localOnly: true)
        if inspector.search == .fast && Self.hasSocketsWithoutHolder(report) {
            inspector.search = .exhaustive
            report = try inspector.report(port: port, transports: transports, localOnly: true)
        }
        var byPID: [Int32: Candidate] = [:]
        var order: [Int32] = []
        for entry in report.local where !entry.socket.isClosedConnection {
            for holder in entry.holders {
                if byPID[holder.pid] == nil {
                    byPID[holder.pid] = Candidate(holder: holder, sockets: [], refusal: nil)
                    order.append(holder.pid)
                }
                byPID[holder.pid]!.sockets.append(entry.socket)
            }
        }
        let advice = inspector.supervision.advice(for: order.map { byPID[$0]!.holder }, port: port)
        for pid in order { byPID[pid]!.refusal = refusal(for: byPID[pid]!.holder, supervised: advice[pid]) }
        return (order.map { byPID[$0]! }, report)
    }

    /// Whether the inspector's search may have missed holders that reading every process would
    /// find: a fast search follows the fork family of the holders it finds, so a process given
    /// the socket with `SCM_RIGHTS` (a listener handed off) while another still holds it is not
    /// among them. Once the holders found are gone and the port is still busy, look again with
    /// `candidates(port:transports:search: .exhaustive)`.
    public var searchMayMissHolders: Bool { inspector.search == .fast }

    /// Whether a live socket bound to the port has a file (an inode) but no holder was found.
    static func hasSocketsWithoutHolder(_ report: PortReport) -> Bool {
        report.local.contains { !$0.socket.isClosedConnection && $0.socket.inode != 0 && $0.holders.isEmpty }
    }

    /// Why `holder` must not be signalled, or nil. `supervised`: what runs it, when something
    /// does (`Supervision.advice(for:port:)`).
    public func refusal(for holder: SocketHolder, supervised: SupervisorAdvice? = nil) -> Refusal? {
        if let supervised, !supervised.supervisor.maySignal { return .supervised(supervised) }
        if holder.pid == 1 { return .initProcess }
        if holder.pid == PortSys.processID { return .itself }
        if holder.pid == PortSys.parentProcessID { return .parent }
        if let supervised, !signalSupervised { return .supervised(supervised) }
        if !allowOtherUsers && holder.uid != PortSys.effectiveUserID { return .otherUser(holder.user) }
        return nil
    }

    /// Opens a pidfd for each candidate and checks, through `/proc`, that the process behind it
    /// still holds one of its sockets; from then on a signal can only reach that process.
    /// Returns the handles, and the candidates that are gone or no longer hold the port.
    public func open(_ candidates: [Candidate]) -> (handles: [(Candidate, ProcessHandle)], gone: [Candidate]) {
        var handles: [(Candidate, ProcessHandle)] = []
        var gone: [Candidate] = []
        for candidate in candidates where candidate.refusal == nil {
            guard let handle = try? ProcessHandle(pid: candidate.holder.pid),
                candidate.sockets.contains(where: { inspector.processes.holds(pid: handle.pid, inode: $0.inode) })
            else {
                gone.append(candidate)
                continue
            }
            handles.append((candidate, handle))
        }
        return (handles, gone)
    }

    /// Frees `port` the way `sockit free` does: finds the processes with a socket bound to it,
    /// asks `confirm` (nil: no question), sends `signal` through a pidfd to each one not
    /// refused, waits up to `grace` for them to exit, sends `SIGKILL` to what is left and waits
    /// for that, then tries a bind of `verdictAddress` (default `0.0.0.0:port`). When the port
    /// is still busy and the first search may have missed holders (`searchMayMissHolders`), it
    /// reads every process and stops the holders found that way too (asking `confirm` again).
    /// A dry run (`dryRun`) reads every process at once and signals nothing.
    ///
    /// ```swift
    /// let report = try await PortFreer().free(port: 8080, grace: .seconds(2), progress: { event in
    ///     if case .signalled(let pid, _) = event { print("stopping \(pid)") }
    /// })
    /// print(report.isFree ? "free" : "still busy: \(report.verdict?.reason ?? "")")
    /// ```
    ///
    /// - Parameters:
    ///   - port: the port to free.
    ///   - transports: whose holders to stop (both by default).
    ///   - verdictAddress: the address of the final bind check; nil: `0.0.0.0:port`.
    ///   - verdictTransport: the transport of the final bind; nil: UDP when only `transports`
    ///     says so or only UDP sockets hold the port, else TCP.
    ///   - signal: the first signal (`SIGTERM` by default).
    ///   - grace: how long the holders have to exit before `SIGKILL`.
    ///   - dryRun: find the holders and signal nothing (`Outcome.dryRun`).
    ///   - confirm: called with the candidates about to be signalled; false signals nothing more
    ///     (`Outcome.declined`). What it throws is thrown.
    ///   - isolation: the caller's actor, where `confirm` and `progress` run; leave the default.
    ///   - progress: told what happens as it happens (on the caller's isolation).
    /// - Returns: what was done, and the final bind verdict.
    /// - Throws: `SocketTableError` when the socket table cannot be read, or what `confirm` throws.
    ///   The waits poll the processes' pidfds in slices of at most 100 ms and yield between them.
    public func free(
        port: UInt16, transports: TransportSet = [.tcp, .udp], verdictAddress: SocketAddress? = nil,
        verdictTransport: TransportProtocol? = nil, signal: Int32 = SIGTERM, grace: Duration = .seconds(5),
        dryRun: Bool = false, confirm: ((_ candidates: [Candidate]) throws -> Bool)? = nil,
        isolation: isolated (any Actor)? = #isolation, progress: (FreeProgress) -> Void = { _ in }
    ) async throws -> FreeReport {
        let address = verdictAddress ?? .ipv4(.any(port: port))
        // A dry run signals nothing, so nothing can show later that a holder was missed: it
        // reads every process at once.
        let (found, first) = try candidates(port: port, transports: transports, search: dryRun ? .exhaustive : nil)
        let transport = verdictTransport ?? first.verdictTransport(within: transports)
        var report = FreeReport(
            port: port, signal: signal, dryRun: dryRun, outcome: .stopped, candidates: found,
            tableFallbacks: first.tableFallbacks)
        progress(.foundHolders(found, tableFallbacks: first.tableFallbacks))
        guard !found.isEmpty else {
            report.verdict = try inspector.verdict(for: address, transport: transport)
            report.outcome = first.local.contains(where: \.hidden) ? .hiddenHolder : .noHolder
            return report
        }
        let allowed = found.filter { $0.refusal == nil }
        guard !allowed.isEmpty else {
            report.outcome = .allRefused
            return report
        }
        if dryRun {
            report.outcome = .dryRun
            return report
        }
        if let confirm, try !confirm(allowed) {
            report.outcome = .declined
            return report
        }
        await stop(allowed, signal: signal, grace: grace, report: &report, progress: progress)

        progress(.checkingBind)
        var verdict = try inspector.verdict(for: address, transport: transport)
        if !verdict.bindable && searchMayMissHolders {
            // The first search followed the fork family of the holders it found; a process given
            // the socket with SCM_RIGHTS (a listener handed off) is not in it. Before saying that
            // the port is still busy, read every process.
            progress(.readingEveryProcess(verdict: verdict))
            let (more, _) = try candidates(port: port, transports: transports, search: .exhaustive)
            let known = Set(report.candidates.map(\.holder.pid))
            let missed = more.filter { !known.contains($0.holder.pid) }
            if !missed.isEmpty {
                progress(.foundMoreHolders(missed, verdict: verdict))
                report.candidates += missed
                let allowedMissed = missed.filter { $0.refusal == nil }
                if !allowedMissed.isEmpty {
                    if let confirm, try !confirm(allowedMissed) {
                        report.outcome = .declined
                        return report
                    }
                    await stop(allowedMissed, signal: signal, grace: grace, report: &report, progress: progress)
                    progress(.checkingBind)
                    verdict = try inspector.verdict(for: address, transport: transport)
                }
            }
        }
        report.verdict = verdict
        return report
    }

    /// Signals the holders through pidfds, waits up to `grace`, sends SIGKILL to what is left,
    /// and waits for that; what happened goes into `report`.
    private func stop(
        _ allowed: [Candidate], signal: Int32, grace: Duration, report: inout FreeReport,
        isolation: isolated (any Actor)? = #isolation, progress: (FreeProgress) -> Void
    ) async {
        let (handles, gone) = open(allowed)
        for candidate in gone {
            report.skipped.append(candidate.holder.pid)
            progress(.skipped(pid: candidate.holder.pid, exitedBeforeSignal: false))
        }
        var signalled: [ProcessHandle] = []
        for (_, handle) in handles {
            do {
                try handle.send(signal)
                signalled.append(handle)
                report.signalled.append(handle.pid)
                progress(.signalled(pid: handle.pid, signal: signal))
            } catch  where error.errno == .noSuchProcess {
                report.skipped.append(handle.pid)
                progress(.skipped(pid: handle.pid, exitedBeforeSignal: true))
            } catch {
                progress(.signalFailed(error))
            }
        }
        let left = await waitForExit(signalled, timeout: grace, stage: .exit, progress: progress)
        for handle in left {
            do {
                try handle.send(SIGKILL)
                report.killed.append(handle.pid)
                progress(.escalated(pid: handle.pid))
            } catch {
                progress(.signalFailed(error))
            }
        }
        let stuck = await waitForExit(left, timeout: .seconds(5), stage: .kill, progress: progress)
        for handle in stuck {
            report.stillAlive.append(handle.pid)
            progress(.stillAlive(pid: handle.pid))
        }
    }

    /// Waits until every process in `handles` has exited or `timeout` passes, telling `progress`
    /// about ten times a second which are still alive and which have exited. Returns those alive.
    private func waitForExit(
        _ handles: [ProcessHandle], timeout: Duration, stage: FreeProgress.Stage,
        isolation: isolated (any Actor)? = #isolation, progress: (FreeProgress) -> Void
    ) async -> [ProcessHandle] {
        guard !handles.isEmpty else { return [] }
        let clock = ContinuousClock()
        let start = clock.now
        var reported = Set<Int32>()
        var alive = handles.filter { !$0.hasExited }
        while !alive.isEmpty {
            let elapsed = clock.now - start
            let alivePIDs = alive.map(\.pid)
            for handle in handles where !alivePIDs.contains(handle.pid) && reported.insert(handle.pid).inserted {
                progress(.exited(pid: handle.pid, after: elapsed))
            }
            progress(.waiting(pids: alivePIDs, elapsed: elapsed, timeout: timeout, stage: stage))
            let left = timeout - elapsed
            if left <= .zero { break }
            ProcessHandle.waitForAnyExit(alive, timeout: min(left, .milliseconds(100)))
            await Task.yield()
            alive = alive.filter { !$0.hasExited }
        }
        progress(.waitOver(stage))
        let alivePIDs = alive.map(\.pid)
        for handle in handles where !alivePIDs.contains(handle.pid) && reported.insert(handle.pid).inserted {
            progress(.exited(pid: handle.pid, after: nil))
        }
        return alive
    }
}
