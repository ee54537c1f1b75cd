import Sockit

/// What holds a port, as found when a `bind()` fails with `EADDRINUSE`
/// (`PortInspector.diagnose(_:type:)`): the holders, hidden sockets, and closed connections.
public struct PortDiagnosis: Sendable, Hashable {
    /// A process that holds a socket on the port.
    public struct Holder: Sendable, Hashable {
        /// The process id.
        public var pid: Int32
        /// Its command line, shortened for one line of text (`SocketHolder.shortCommand(limit:)`).
        public var command: String
        /// Its user's name (or uid, when the name is unknown).
        public var user: String
        /// `LISTEN`, `ESTAB`, `UNCONN` (a bound UDP socket), … as `ss` prints them.
        public var state: String
        /// The socket's local address as printed: `127.0.0.1:8080`, `[::]:8080`.
        public var localAddress: String
        /// The descriptor number of the socket in that process.
        public var fd: Int32
        /// For a listener: whether it set `SO_REUSEADDR` (`PortReport.Entry.reuseAddress`); nil
        /// when unknown.
        public var reuseAddress: Bool?
        /// What runs it and would start it again (a systemd service, a container, a manager
        /// holding the socket itself), and how to stop it for good; nil when nothing does.
        public var supervisor: SupervisorAdvice?

        /// A holder with these values.
        public init(
            pid: Int32, command: String, user: String, state: String, localAddress: String, fd: Int32,
            supervisor: SupervisorAdvice? = nil, reuseAddress: Bool? = nil
        ) {
            self.pid = pid
            self.command = command
            self.user = user
            self.state = state
            self.localAddress = localAddress
            self.fd = fd
            self.supervisor = supervisor
            self.reuseAddress = reuseAddress
        }
    }

    /// Processes that hold the port.
    public var holders: [Holder]
    /// Sockets on the port whose process this user cannot see (another user's, without privilege).
    public var hiddenSockets: Int
    /// A listener is among the hidden sockets.
    public var hiddenListener: Bool
    /// Connections on the port in TIME_WAIT, or closed and still closing (FIN_WAIT2, ...).
    public var timeWaitCount: Int
    /// The longest time left on a TIME_WAIT connection, in milliseconds; an upper bound when
    /// `timeWaitIsUpperBound`.
    public var timeWaitLongestMilliseconds: Int
    /// Some connections are still closing (FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK): when they
    /// end is not known, and `timeWaitLongestMilliseconds` bounds it (net.ipv4.tcp_fin_timeout
    /// and then TIME_WAIT's 60 s) instead of being the time left.
    public var timeWaitIsUpperBound: Bool
    /// Whether the TIME_WAIT sockets allow rebinding with `SO_REUSEADDR` (the old listener set it);
    /// nil when unknown.
    public var timeWaitReusable: Bool?

    /// A diagnosis with these values; the defaults say nothing holds the port.
    public init(
        holders: [Holder] = [], hiddenSockets: Int = 0, hiddenListener: Bool = false, timeWaitCount: Int = 0,
        timeWaitLongestMilliseconds: Int = 0, timeWaitIsUpperBound: Bool = false, timeWaitReusable: Bool? = nil
    ) {
        self.holders = holders
        self.hiddenSockets = hiddenSockets
        self.hiddenListener = hiddenListener
        self.timeWaitCount = timeWaitCount
        self.timeWaitLongestMilliseconds = timeWaitLongestMilliseconds
        self.timeWaitIsUpperBound = timeWaitIsUpperBound
        self.timeWaitReusable = timeWaitReusable
    }
}

extension PortDiagnosis {
    /// What the diagnosis means for the failed bind of a socket on `port` (`reuseAddressWasSet`:
    /// whether that socket had set `SO_REUSEADDR`), and what to do.
    public func explained(port: UInt16, reuseAddressWasSet: Bool?) -> BindDiagnosis {
        var lines: [String] = []
        if !holders.isEmpty {
            for holder in holders.prefix(5) {
                lines.append(
                    "held by pid \(holder.pid) (\(holder.command), user \(holder.user)) in \(holder.state) "
                        + "on \(holder.localAddress)" + (holder.supervisor.map { ", \($0.supervisor)" } ?? ""))
            }
            if holders.count > 5 { lines.append("and \(holders.count - 5) more processes") }
            // A supervised holder is stopped through its supervisor; the others by a signal.
            let supervised = Supervision.remedies(holders.compactMap(\.supervisor))
            let signalled: [Remedy] = holders.contains { $0.supervisor == nil } ? [.stopHolder(port: port)] : []
            // Its restart will fail too, for a while, if it does not set SO_REUSEADDR.
            if let listener = holders.first(where: { $0.state == "LISTEN" && $0.reuseAddress == false }) {
                lines.append(
                    "pid \(listener.pid) did not set SO_REUSEADDR: when it stops, the connections it closed "
                        + "stay in TIME-WAIT and block every bind of the port for up to 60 s")
                return BindDiagnosis(
                    explanation: lines, remedies: supervised + signalled + [.destroyLeftovers(port: port)])
            }
            return BindDiagnosis(explanation: lines, remedies: supervised + signalled)
        }
        if hiddenSockets > 0 {
            lines.append(
                "\(hiddenSockets) socket\(hiddenSockets == 1 ? "" : "s") on this port "
                    + "\(hiddenListener ? "(one listening) " : "")belong to a process this user cannot see")
            return BindDiagnosis(explanation: lines, remedies: [.findHolderAsRoot(port: port)])
        }
        guard timeWaitCount > 0 else {
            return BindDiagnosis(explanation: ["the port was busy, but it is free now"], remedies: [.retry])
        }
        let seconds = (timeWaitLongestMilliseconds + 999) / 1000
        let wait = Remedy.waitFor(seconds: seconds, exact: !timeWaitIsUpperBound)
        let plural = timeWaitCount == 1 ? "connection" : "connections"
        lines.append(
            "\(timeWaitCount) \(plural) on this port \(timeWaitCount == 1 ? "is" : "are") "
                + (timeWaitIsUpperBound
                    ? "in TIME_WAIT or still closing (FIN_WAIT2, or another state before it): when "
                        + "\(timeWaitCount == 1 ? "it ends" : "they end") is not known precisely, "
                        + "at most \(seconds) s from now; no process listens"
                    : "in TIME_WAIT (up to \(seconds) s left); no process listens"))
        switch (timeWaitReusable, reuseAddressWasSet) {
        case (false?, _):
            lines.append(
                "they come from a listener that did not set SO_REUSEADDR, so no option helps now "
                    + "(set SO_REUSEADDR in the server for next time)")
            return BindDiagnosis(explanation: lines, remedies: [wait, .destroyLeftovers(port: port)])
        case (_, true?):
            lines.append("SO_REUSEADDR is set here, so the old listener did not set it")
            return BindDiagnosis(explanation: lines, remedies: [wait, .destroyLeftovers(port: port)])
        default:
            return BindDiagnosis(explanation: lines, remedies: [.setReuseAddress])
        }
    }
}
