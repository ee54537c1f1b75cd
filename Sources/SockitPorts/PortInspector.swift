import Sockit

/// Reads the socket table and the process table to say who holds a port, and probes `bind()` to
/// say whether a server could take it.
///
/// ```swift
/// let report = try PortInspector().report(port: 8080, verdictFor: .ipv4(.any(port: 8080)))
/// for entry in report.local { print(entry.socket.stateName, entry.holders.map(\.pid)) }
/// print(report.verdict?.reason ?? "")
/// ```
public struct PortInspector: Sendable {
    /// Where the sockets come from: the kernel's table (`SocketTable.system`) by default.
    public var table: any SocketTableSource
    /// Where the holders come from: `/proc` (`ProcProcessTable`) by default.
    public var processes: any ProcessTableSource
    /// How the holders are looked for: `.fast` (the sockets' owners and their fork family) or
    /// `.exhaustive` (every process).
    public var search: HolderSearch
    /// How the holders' supervisors (systemd units, containers) are judged, for the advice.
    public var supervision: Supervision

    /// An inspector of this machine's sockets and processes, by default; the sources can be
    /// replaced (a fixed table for tests, `/proc/net` only).
    public init(
        table: any SocketTableSource = SocketTable.system, processes: any ProcessTableSource = ProcProcessTable(),
        search: HolderSearch = .fast, supervision: Supervision = Supervision()
    ) {
        self.table = table
        self.processes = processes
        self.search = search
        self.supervision = supervision
    }

    /// The sockets on `port` (bound to it, and with `localOnly` false also connections to it),
    /// their holders, and the bind verdict for `verdictAddress` (nil: no verdict).
    ///
    /// TIME-WAIT sockets have no file and so no holder: when only they match, no holder is looked
    /// for. The process table starts reading while the socket table is read (a dump of every
    /// state walks each connection in the kernel, about as long as the holder search).
    ///
    /// - Parameters:
    ///   - port: the port.
    ///   - transports: TCP, UDP, or both.
    ///   - localOnly: only sockets bound to the port, not connections to it.
    ///   - states: only sockets in these states; nil for every state.
    ///   - verdictAddress: the address to probe for a bind verdict (`0.0.0.0:port`, say).
    ///   - verdictTransport: the transport of that probe.
    /// - Throws: `SocketTableError` when the socket table cannot be read.
    public func report(
        port: UInt16, transports: TransportSet = [.tcp, .udp], localOnly: Bool = false,
        states: StateSet? = nil, verdictFor verdictAddress: SocketAddress? = nil,
        verdictTransport: TransportProtocol = .tcp
    ) throws(SocketTableError) -> PortReport {
        let pending = processes.startSearch(search)
        let reading: SocketTableReading
        do {
            reading = try table.read(
                SocketQuery(port: port, localOnly: localOnly, transports: transports, states: states))
        } catch {
            pending.cancel()
            throw error
        }
        var report = build(
            port: port, sockets: reading.sockets, pending: pending, verdictFor: verdictAddress,
            verdictTransport: verdictTransport)
        report.tableFallbacks = reading.fallbacks
        report.networkNamespaces = reading.networkNamespaces
        return report
    }

    /// Only the sockets that listen on `port`: TCP listeners, and UDP sockets bound to it and not
    /// connected. Asking the kernel for TCP's LISTEN state alone lets it skip its walk of every
    /// connection, which is most of a query's cost on a busy machine.
    public func listeners(
        port: UInt16, transports: TransportSet = [.tcp, .udp], verdictFor verdictAddress: SocketAddress? = nil,
        verdictTransport: TransportProtocol = .tcp
    ) throws(SocketTableError) -> PortReport {
        var sockets: [PortSocket] = []
        var fallbacks: [SocketTableFallback] = []
        var namespaces: [NetworkNamespace] = []
        if transports.contains(.tcp) {
            let reading = try table.read(
                SocketQuery(port: port, localOnly: true, transports: [.tcp], states: [.listen]))
            sockets += reading.sockets
            fallbacks += reading.fallbacks
            namespaces = reading.networkNamespaces
        }
        if transports.contains(.udp) {
            let reading = try table.read(
                SocketQuery(port: port, localOnly: true, transports: [.udp], states: [.close]))
            sockets += reading.sockets
            fallbacks += reading.fallbacks
            namespaces = reading.networkNamespaces
        }
        // Only listeners: the dump is short, and reading /proc ahead would not pay.
        var report = build(
            port: port, sockets: sockets, pending: DeferredHolderSearch(source: processes, search: search),
            verdictFor: verdictAddress, verdictTransport: verdictTransport)
        report.tableFallbacks = fallbacks
        report.networkNamespaces = namespaces
        return report
    }

    /// The report for sockets read from the table: their holders, then the verdict if asked.
    /// Every listening socket on `ports` (all ports when nil): TCP listeners and UDP sockets
    /// bound and not connected, both families, with their holders, sorted by port (then TCP
    /// first, IPv4 first), what `ss -tulpn` lists. The kernel is asked for listeners only, so
    /// it does not walk its table of connections. No verdict.
    public func listening(
        ports: ClosedRange<UInt16>? = nil, transports: TransportSet = [.tcp, .udp]
    ) throws(SocketTableError) -> PortReport {
        var sockets: [PortSocket] = []
        var fallbacks: [SocketTableFallback] = []
        var namespaces: [NetworkNamespace] = []
        // Every listener of the machine: the processes are listed while the kernel is asked.
        let pending = processes.startListenerSearch(search)
        for (transport, state) in [(TransportProtocol.tcp, TCPState.listen), (.udp, .close)]
        where transports.contains(transport) {
            var query = SocketQuery(port: nil, localOnly: true, transports: [transport], states: [state])
            query.localPorts = ports
            let reading: SocketTableReading
            do {
                reading = try table.read(query)
            } catch {
                pending.cancel()
                throw error
            }
            sockets += reading.sockets.filter { transport == .tcp || $0.remote == nil }
            fallbacks += reading.fallbacks
            namespaces = reading.networkNamespaces
        }
        var report = build(
            port: ports?.lowerBound ?? 0, sockets: sockets, pending: pending, verdictFor: nil, verdictTransport: .tcp,
            everyPortIsLocal: true)
        // By port, TCP first, IPv4 first; otherwise as `build` ordered them.
        report.entries = Self.ordered(report.entries) { entry in
            (
                Int(entry.socket.local.port ?? 0), entry.socket.transport == .tcp ? 0 : 1,
                entry.socket.local.domain == .ipv6 ? 1 : 0
            )
        }
        report.tableFallbacks = fallbacks
        report.networkNamespaces = namespaces
        return report
    }

    private func build(
        port: UInt16, sockets: [PortSocket], pending: any PendingHolderSearch,
        verdictFor verdictAddress: SocketAddress?,
        verdictTransport: TransportProtocol, everyPortIsLocal: Bool = false
    ) -> PortReport {
        var owners: [UInt64: UInt32] = [:]
        for socket in sockets where socket.inode != 0 { owners[socket.inode] = socket.uid }
        let scan: HolderScan
        if owners.isEmpty {
            pending.cancel()
            scan = HolderScan()
        } else {
            scan = pending.holders(of: owners)
        }
        var entries = sockets.map { socket in
            let holders = scan.holders[socket.inode] ?? []
            return PortReport.Entry(
                socket: socket, holders: holders, side: everyPortIsLocal ? .local : socket.side(for: port),
                hidden: socket.inode != 0 && holders.isEmpty && scan.unreadableProcesses > 0)
        }
        Self.readReuseOptions(&entries, known: scan.reuseOptions)
        var report = PortReport(
            port: port, entries: Self.sorted(entries), unreadableProcesses: scan.unreadableProcesses,
            processesScanned: scan.processesScanned, verdict: nil)
        if let verdictAddress {
            let probe = BindProbe.probe(verdictAddress, verdictTransport)
            report.verdict = BindVerdict.decide(
                address: verdictAddress, transport: verdictTransport, probe: probe,
                local: report.local.filter(\.socket.isInCurrentNetworkNamespace),
                unreadableProcesses: scan.unreadableProcesses, supervision: supervision)
        }
        return report
    }

    /// Each listener's (or bound UDP socket's) `SO_REUSEADDR` and `SO_REUSEPORT`, read from a
    /// `pidfd_getfd` copy of its first holder's descriptor: what its process set, which decides
    /// whether its restart will bind over the connections it leaves in TIME-WAIT. Left nil when
    /// the copy is refused (another user's process without privilege, `kernel.yama.ptrace_scope`).
    /// One pidfd per process, and per socket a copy, an `fstat`, two `getsockopt` and a `close`.
    /// `known`: what the holder search read already, by inode (not read again).
    static func readReuseOptions(_ entries: inout [PortReport.Entry], known: [ReuseReads.Result] = []) {
        let known = known.sorted { $0.inode < $1.inode }
        // The listeners, grouped by holder (one pidfd each), in the order they come.
        var groups: [ReuseReads] = []
        for index in entries.indices {
            let socket = entries[index].socket
            let listens = socket.transport == .tcp ? socket.state == .listen : socket.remote == nil
            guard entries[index].side == .local, listens, let holder = entries[index].holders.first else { continue }
            if let read = sortedIndex(of: socket.inode, in: known, by: { $0.inode }) {
                (entries[index].reuseAddress, entries[index].reusePort) = (known[read].address, known[read].port)
                continue
            }
            let read = ReuseReads.Read(index: index, fd: holder.fd, inode: socket.inode)
            if let last = groups.indices.last, groups[last].pid == holder.pid {
                groups[last].reads.append(read)
            } else if let group = groups.firstIndex(where: { $0.pid == holder.pid }) {
                groups[group].reads.append(read)
            } else {
                groups.append(ReuseReads(pid: holder.pid, reads: [read]))
            }
        }
        // Five syscalls a listener (pidfd_getfd, fstat, two getsockopt, close): with every
        // listener of a machine listed, as many as the descriptor scan makes. Another core takes
        // half the processes when there are enough to share.
        let results = sharedWithAnotherCore(
            groups, sharedFrom: ReuseReads.sharedFrom, weight: { $0.reads.count }, { $0.flatMap { $0.read() } })
        for result in results {
            (entries[result.index].reuseAddress, entries[result.index].reusePort) = (result.address, result.port)
        }
    }

    /// Whether a server could bind `address` now, and why not. Probes first: when the bind works,
    /// the tables are not read at all.
    public func verdict(
        for address: SocketAddress, transport: TransportProtocol = .tcp
    ) throws(SocketTableError)
        -> BindVerdict
    {
        let probe = BindProbe.probe(address, transport)
        var local: [PortReport.Entry] = []
        var unreadable = 0
        if probe.plain != nil, let port = address.port {
            // A listener in the way decides it: asked for alone, the kernel does not walk its
            // table of connections (most of a query's cost on a busy machine).
            let listening = try self.listeners(port: port, transports: [transport])
            let blocking = listening.local.filter {
                $0.socket.isInCurrentNetworkNamespace && BindVerdict.conflicts($0.socket.local, address)
                    && (!$0.holders.isEmpty || $0.hidden)
            }
            if !blocking.isEmpty {
                return BindVerdict.decide(
                    address: address, transport: transport, probe: probe, local: blocking,
                    unreadableProcesses: listening.unreadableProcesses, supervision: supervision)
            }
            let report = try self.report(port: port, transports: [transport], localOnly: true)
            local = report.local.filter(\.socket.isInCurrentNetworkNamespace)
            unreadable = report.unreadableProcesses
        }
        return BindVerdict.decide(
            address: address, transport: transport, probe: probe, local: local, unreadableProcesses: unreadable,
            supervision: supervision)
    }

    /// What holds `address`'s port, for a `bind()` that failed with `EADDRINUSE`: the holders of
    /// the sockets bound there, how many TIME-WAIT connections remain and for how long, and
    /// whether `SO_REUSEADDR` would get past them (tried, not guessed).
    public func diagnose(_ address: SocketAddress, type: SocketType) -> PortDiagnosis? {
        guard let port = address.port else { return nil }
        let transport: TransportProtocol = type == .datagram ? .udp : .tcp
        guard let report = try? self.report(port: port, transports: [transport], localOnly: true) else { return nil }
        let relevant = report.local.filter {
            $0.socket.isInCurrentNetworkNamespace && BindVerdict.conflicts($0.socket.local, address)
        }
        var diagnosis = PortDiagnosis()
        var seen = Set<Int32>()
        // Listeners first, then the other sockets: the process named first is the one to stop.
        let ordered = relevant.filter { $0.socket.state == .listen } + relevant.filter { $0.socket.state != .listen }
        let live = ordered.filter { !$0.socket.isClosedConnection }
        let advice = supervision.advice(for: live.flatMap(\.holders), port: port)
        for entry in live {
            for holder in entry.holders where seen.insert(holder.pid).inserted {
                var found = PortDiagnosis.Holder(
                    pid: holder.pid, command: holder.shortCommand(), user: holder.user,
                    state: entry.socket.stateName,
                    localAddress: "\(entry.socket.local)", fd: holder.fd,
                    reuseAddress: holder == entry.holders.first ? entry.reuseAddress : nil)
                found.supervisor = advice[holder.pid]
                diagnosis.holders.append(found)
            }
            if entry.hidden {
                diagnosis.hiddenSockets += 1
                if entry.socket.state == .listen { diagnosis.hiddenListener = true }
            }
        }
        let timeWait = relevant.filter(\.socket.isClosedConnection)
        diagnosis.timeWaitCount = timeWait.count
        if let time = ClosingTime.of(timeWait.map(\.socket)) {
            diagnosis.timeWaitLongestMilliseconds = time.milliseconds
            diagnosis.timeWaitIsUpperBound = !time.isExact
        }
        if !timeWait.isEmpty && diagnosis.holders.isEmpty && diagnosis.hiddenSockets == 0 {
            let probe = BindProbe.probe(address, transport)
            diagnosis.timeWaitReusable = probe.plain == nil || probe.withReuseAddress == nil
        }
        return diagnosis
    }

    /// Listeners first, then other local sockets, then connections to the port; by address within.
    static func sorted(_ entries: [PortReport.Entry]) -> [PortReport.Entry] {
        func rank(_ entry: PortReport.Entry) -> Int {
            switch (entry.side, entry.socket.state) {
            case (.local, .listen): return 0
            case (.local, .timeWait): return 2
            case (.local, _): return 1
            case (.remote, _): return 3
            }
        }
        // TCP first, then IPv4 first (as ss prints them), then in the table's order.
        return ordered(entries) { entry in
            (rank(entry), entry.socket.transport == .tcp ? 0 : 1, entry.socket.local.domain == .ipv6 ? 1 : 0)
        }
    }

    /// `entries` sorted by `key`, entries of equal keys in their order. The keys are worked out
    /// once and indices sorted, not entries: an entry is large to move, and a listing sorts
    /// hundreds.
    private static func ordered(
        _ entries: [PortReport.Entry], by key: (PortReport.Entry) -> (Int, Int, Int)
    ) -> [PortReport.Entry] {
        let keys = entries.map(key)
        return entries.indices.sorted { a, b in keys[a] != keys[b] ? keys[a] < keys[b] : a < b }.map { entries[$0] }
    }
}

extension PortInspector: BindDiagnoser {
    /// What holds `address` when a bind failed with `EADDRINUSE`, explained: pass the inspector
    /// to `Socket.bind(to:diagnoser:)` (or a server's configuration) and the bind error names the
    /// holder, the hidden socket, or the TIME_WAIT connections and how long they stay.
    public func diagnoseAddressInUse(
        _ address: SocketAddress, type: SocketType, reuseAddressWasSet: Bool?
    )
        -> BindDiagnosis?
    {
        guard let port = address.port, let diagnosis = diagnose(address, type: type) else { return nil }
        return diagnosis.explained(port: port, reuseAddressWasSet: reuseAddressWasSet)
    }
}
