import CSockit

/// How long closed connections on a port may still block a bind.
///
/// Only TIME-WAIT's timer is time left: when it runs out, the connection is gone. A connection
/// still closing has no such timer. An orphan in FIN-WAIT-2 stays until its timer
/// (`net.ipv4.tcp_fin_timeout`) runs out, or, when the peer closes before that, 60 s of
/// TIME-WAIT from then. FIN-WAIT-1, CLOSING and LAST-ACK wait for the peer (their timer is a
/// retransmission or window-probe timer, which says nothing about the connection's end): their
/// end is not known, and `net.ipv4.tcp_fin_timeout` plus TIME-WAIT's 60 s bounds it.
public struct ClosingTime: Sendable, Hashable {
    /// What the time is.
    public enum Basis: Sendable, Hashable {
        /// Every connection is in TIME-WAIT: what is left of the longest timer, exactly.
        case timeWait
        /// The longest is an orphan in FIN-WAIT-2: what is left of its timer (`timerMilliseconds`),
        /// plus TIME-WAIT's 60 s in case the peer closes before it runs out. An upper bound.
        case finWait2(timerMilliseconds: Int)
        /// The longest is still closing (FIN-WAIT-1, CLOSING, LAST-ACK, or a FIN-WAIT-2 without
        /// its timer yet): not known; `net.ipv4.tcp_fin_timeout` plus TIME-WAIT's 60 s bound it.
        case unknown(finTimeoutSeconds: Int)
    }

    /// TIME-WAIT's length on Linux (`TCP_TIMEWAIT_LEN`, 2 × MSL), in milliseconds.
    public static let timeWaitMilliseconds = 60_000

    /// The time left (`basis == .timeWait`) or its upper bound, in milliseconds.
    public var milliseconds: Int
    /// What `milliseconds` is: the exact time left, or an upper bound and why.
    public var basis: Basis

    /// Whether `milliseconds` is the time left, not an upper bound.
    public var isExact: Bool { basis == .timeWait }

    /// The time in whole seconds, rounded up.
    public var seconds: Int { (milliseconds + 999) / 1000 }

    /// A time of `milliseconds` on `basis`.
    public init(milliseconds: Int, basis: Basis) {
        self.milliseconds = milliseconds
        self.basis = basis
    }

    /// `net.ipv4.tcp_fin_timeout` of this network namespace, in seconds (60 when unreadable).
    public static func systemFinTimeoutSeconds() -> Int { ProcFiles.tcpFinTimeoutSeconds() }

    /// The time for these closed connections (`PortSocket.isClosedConnection`); nil for none.
    /// `finTimeoutSeconds` is read only when a connection is still closing.
    public static func of(
        _ sockets: [PortSocket], finTimeoutSeconds: () -> Int = ClosingTime.systemFinTimeoutSeconds
    ) -> ClosingTime? {
        var finTimeout: Int?
        func unknownBound() -> ClosingTime {
            let seconds = finTimeout ?? finTimeoutSeconds()
            finTimeout = seconds
            return ClosingTime(
                milliseconds: seconds * 1000 + timeWaitMilliseconds, basis: .unknown(finTimeoutSeconds: seconds))
        }
        // Every bound of a connection still closing adds TIME-WAIT's 60 s, so it is never shorter
        // than a TIME-WAIT timer, and wins a tie: the longest is exact only when every
        // connection is in TIME-WAIT.
        var longest: ClosingTime?
        for socket in sockets where socket.isClosedConnection {
            let time: ClosingTime
            switch socket.state {
            case .timeWait:
                time = ClosingTime(milliseconds: socket.timerMilliseconds ?? timeWaitMilliseconds, basis: .timeWait)
            case .finWait2 where socket.timerKind == "timewait" && socket.timerMilliseconds != nil:
                // The kernel's TIME-WAIT structure in its FIN-WAIT-2 substate: its timer is what
                // is left of net.ipv4.tcp_fin_timeout.
                let timer = socket.timerMilliseconds!
                time = ClosingTime(
                    milliseconds: timer + timeWaitMilliseconds, basis: .finWait2(timerMilliseconds: timer))
            default:
                time = unknownBound()
            }
            if let current = longest,
                time.milliseconds < current.milliseconds || (time.milliseconds == current.milliseconds && time.isExact)
            {
                continue
            }
            longest = time
        }
        return longest
    }

    /// `up to 57 s left`, or for a bound `time left not known precisely: at most 117 s, ...`.
    public var text: String {
        switch basis {
        case .timeWait:
            return "up to \(seconds) s left"
        case .finWait2(let timer):
            return "time left not known precisely: at most \(seconds) s, up to \((timer + 999) / 1000) s more in "
                + "FIN-WAIT-2 and then 60 s of TIME-WAIT if the peer closes"
        case .unknown(let finTimeout):
            return "time left not known precisely: at most \(seconds) s, net.ipv4.tcp_fin_timeout (\(finTimeout) s) "
                + "and then 60 s of TIME-WAIT"
        }
    }

    /// What to do about it: `wait 57 s`, or `wait until they are gone (at most 117 s)`.
    public var advice: String { isExact ? "wait \(seconds) s" : "wait until they are gone (at most \(seconds) s)" }
}
