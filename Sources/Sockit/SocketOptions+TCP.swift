import CSockit

#if canImport(Glibc)
import Glibc
#endif

// IPPROTO_TCP options, sorted by C name.

private let tcpLevel = CInt(IPPROTO_TCP)
private let tcpLevelName = "IPPROTO_TCP"

extension SocketOption where Value == Bool {
    /// Hold back partial segments until the option is cleared or 200 ms pass, to send full
    /// segments (headers, then `sendfile`). The corresponding C option is `TCP_CORK` (`int`).
    public static var tcpCork: Self { .flag(tcpLevel, TCP_CORK, tcpLevelName, "TCP_CORK") }

    /// Send small writes at once instead of waiting to coalesce them (disables Nagle's
    /// algorithm): lower latency for request/response protocols.
    /// The corresponding C option is `TCP_NODELAY` (`int`).
    public static var tcpNoDelay: Self { .flag(tcpLevel, TCP_NODELAY, tcpLevelName, "TCP_NODELAY") }

    /// Acknowledge at once rather than delaying ACKs; the kernel clears it again by itself, so
    /// it is a hint, not a mode. The corresponding C option is `TCP_QUICKACK` (`int`).
    public static var tcpQuickAck: Self {
        .flag(tcpLevel, TCP_QUICKACK, tcpLevelName, "TCP_QUICKACK", note: "not sticky: the kernel may clear it")
    }
}

extension SocketOption where Value == Int {
    /// Keep-alive probes sent without answer before the connection is dropped.
    /// The corresponding C option is `TCP_KEEPCNT` (`int`).
    public static var tcpKeepAliveCount: Self {
        .integer(tcpLevel, TCP_KEEPCNT, tcpLevelName, "TCP_KEEPCNT", note: "default net.ipv4.tcp_keepalive_probes")
    }

    /// The maximum segment size for outgoing segments; before connecting it caps the MSS the
    /// socket announces. The corresponding C option is `TCP_MAXSEG` (`int`).
    public static var tcpMaxSegmentSize: Self {
        .integer(tcpLevel, TCP_MAXSEG, tcpLevelName, "TCP_MAXSEG", note: "536 until connected; then the negotiated MSS")
    }

    /// The queue length for TCP Fast Open on a listener (0 off).
    /// The corresponding C option is `TCP_FASTOPEN` (`int`).
    public static var tcpFastOpen: Self {
        .integer(
            tcpLevel, TCP_FASTOPEN, tcpLevelName, "TCP_FASTOPEN", note: "server side; also needs net.ipv4.tcp_fastopen")
    }

    /// Limit of unsent bytes in the send queue before the socket stops being writable (lower
    /// latency with HTTP/2-style prioritisation). The corresponding C option is `TCP_NOTSENT_LOWAT` (`unsigned int`).
    public static var tcpNotSentLowWatermark: Self {
        .integer(
            tcpLevel, TCP_NOTSENT_LOWAT, tcpLevelName, "TCP_NOTSENT_LOWAT", unsigned: true,
            note: "default net.ipv4.tcp_notsent_lowat")
    }
}

extension SocketOption where Value == Duration {
    /// A listener delays waking `accept` until data arrives, up to this long (rounded to the
    /// retransmission schedule). The corresponding C option is `TCP_DEFER_ACCEPT` (`int`, seconds).
    public static var tcpDeferAccept: Self {
        .time(
            tcpLevel, TCP_DEFER_ACCEPT, tcpLevelName, "TCP_DEFER_ACCEPT", unit: .seconds(1),
            note: "the kernel rounds it to a number of SYN-ACK retransmissions")
    }

    /// Idle time before the first keep-alive probe (needs `SO_KEEPALIVE`).
    /// The corresponding C option is `TCP_KEEPIDLE` (`int`, seconds).
    public static var tcpKeepAliveIdle: Self {
        .time(
            tcpLevel, TCP_KEEPIDLE, tcpLevelName, "TCP_KEEPIDLE", unit: .seconds(1),
            note: "default net.ipv4.tcp_keepalive_time")
    }

    /// Time between keep-alive probes. The corresponding C option is `TCP_KEEPINTVL` (`int`, seconds).
    public static var tcpKeepAliveInterval: Self {
        .time(
            tcpLevel, TCP_KEEPINTVL, tcpLevelName, "TCP_KEEPINTVL", unit: .seconds(1),
            note: "default net.ipv4.tcp_keepalive_intvl")
    }

    /// How long sent data may stay unacknowledged before the connection is dropped with
    /// `ETIMEDOUT` (0: the kernel's default retries). The corresponding C option is `TCP_USER_TIMEOUT` (`unsigned int`, milliseconds).
    public static var tcpUserTimeout: Self {
        .time(tcpLevel, TCP_USER_TIMEOUT, tcpLevelName, "TCP_USER_TIMEOUT", unit: .milliseconds(1))
    }
}

extension SocketOption where Value == String {
    /// The congestion-control algorithm, e.g. `cubic`, `bbr` (those in
    /// `net.ipv4.tcp_allowed_congestion_control`). The corresponding C option is `TCP_CONGESTION` (`char[16]`).
    public static var tcpCongestion: Self {
        .string(tcpLevel, TCP_CONGESTION, tcpLevelName, "TCP_CONGESTION", capacity: 16)
    }
}

extension SocketOption where Value == TCPInfo {
    /// The kernel's view of the connection: state, round-trip times, congestion window,
    /// retransmissions, byte counts. Read-only. The corresponding C option is `TCP_INFO` (`struct tcp_info`).
    public static var tcpInfo: Self {
        SocketOption(
            level: tcpLevel, name: TCP_INFO, levelName: tcpLevelName, cName: "TCP_INFO", cType: "struct tcp_info",
            access: .readOnly, capacity: 256, encode: { _ in [] }, decode: { TCPInfo(bytes: $0) },
            render: { $0.optionValue })
    }
}

extension Socket {
    /// Turns on keep-alive probes with the given timers in one call: `SO_KEEPALIVE`, then
    /// `TCP_KEEPIDLE`, `TCP_KEEPINTVL` and `TCP_KEEPCNT`. A dead peer is detected after about
    /// `idle + interval × count`.
    public func setKeepAlive(idle: Duration, interval: Duration, count: Int) throws(SocketError) {
        try setOption(.keepAlive, true)
        try setOption(.tcpKeepAliveIdle, idle)
        try setOption(.tcpKeepAliveInterval, interval)
        try setOption(.tcpKeepAliveCount, count)
    }
}

/// `struct tcp_info` (Linux `<linux/tcp.h>`), decoded from the bytes `TCP_INFO` returns. Fields
/// a kernel does not return (an older, shorter struct) read as 0.
public struct TCPInfo: Sendable, Hashable {
    /// The connection state (`tcpi_state`); nil for a number this version of sockit does not know.
    public var state: TCPState?
    /// `tcpi_state` as the kernel gave it.
    public var stateNumber: UInt8
    /// Congestion-avoidance state (`tcpi_ca_state`).
    public var congestionState: UInt8
    /// Retransmissions of the current segment (`tcpi_retransmits`).
    public var retransmits: UInt8
    /// Retransmission timeout, microseconds (`tcpi_rto`).
    public var rto: UInt32
    /// Delayed-ACK timeout, microseconds (`tcpi_ato`).
    public var ato: UInt32
    /// Send MSS (`tcpi_snd_mss`).
    public var sendMSS: UInt32
    /// Receive MSS (`tcpi_rcv_mss`).
    public var receiveMSS: UInt32
    /// Unacknowledged segments (`tcpi_unacked`).
    public var unacked: UInt32
    /// Lost segments (`tcpi_lost`).
    public var lost: UInt32
    /// Path MTU (`tcpi_pmtu`).
    public var pathMTU: UInt32
    /// Smoothed round-trip time, microseconds (`tcpi_rtt`).
    public var rtt: UInt32
    /// Round-trip time variance, microseconds (`tcpi_rttvar`).
    public var rttVariance: UInt32
    /// Slow-start threshold (`tcpi_snd_ssthresh`).
    public var sendSlowStartThreshold: UInt32
    /// Congestion window, segments (`tcpi_snd_cwnd`).
    public var sendCongestionWindow: UInt32
    /// Advertised MSS (`tcpi_advmss`).
    public var advertisedMSS: UInt32
    /// Reordering metric (`tcpi_reordering`).
    public var reordering: UInt32
    /// Total retransmissions over the connection's life (`tcpi_total_retrans`).
    public var totalRetransmissions: UInt32
    /// Bytes sent and acknowledged (`tcpi_bytes_acked`).
    public var bytesAcked: UInt64
    /// Bytes received (`tcpi_bytes_received`).
    public var bytesReceived: UInt64
    /// Segments sent (`tcpi_segs_out`).
    public var segmentsOut: UInt32
    /// Segments received (`tcpi_segs_in`).
    public var segmentsIn: UInt32
    /// Unsent bytes in the send queue (`tcpi_notsent_bytes`).
    public var notSentBytes: UInt32
    /// Minimum RTT seen, microseconds (`tcpi_min_rtt`).
    public var minRTT: UInt32
    /// Bytes sent, including retransmissions (`tcpi_bytes_sent`).
    public var bytesSent: UInt64
    /// Bytes retransmitted (`tcpi_bytes_retrans`).
    public var bytesRetransmitted: UInt64

    /// Decodes the kernel's bytes; offsets are those of the stable Linux ABI.
    public init(bytes: [UInt8]) {
        func u8(_ offset: Int) -> UInt8 { offset < bytes.count ? bytes[offset] : 0 }
        func u32(_ offset: Int) -> UInt32 {
            guard offset + 4 <= bytes.count else { return 0 }
            return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
        }
        func u64(_ offset: Int) -> UInt64 {
            guard offset + 8 <= bytes.count else { return 0 }
            return bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self) }
        }
        stateNumber = u8(0)
        state = TCPState(rawValue: stateNumber)
        congestionState = u8(1)
        retransmits = u8(2)
        rto = u32(8)
        ato = u32(12)
        sendMSS = u32(16)
        receiveMSS = u32(20)
        unacked = u32(24)
        lost = u32(32)
        pathMTU = u32(60)
        rtt = u32(68)
        rttVariance = u32(72)
        sendSlowStartThreshold = u32(76)
        sendCongestionWindow = u32(80)
        advertisedMSS = u32(84)
        reordering = u32(88)
        totalRetransmissions = u32(100)
        bytesAcked = u64(120)
        bytesReceived = u64(128)
        segmentsOut = u32(136)
        segmentsIn = u32(140)
        notSentBytes = u32(144)
        minRTT = u32(148)
        bytesSent = u64(200)
        bytesRetransmitted = u64(208)
    }

    var optionValue: SocketOptionValue {
        .fields([
            .init("state", .string(state?.description ?? "STATE_\(stateNumber)")),
            .init("rto_us", .integer(Int(rto))),
            .init("rtt_us", .integer(Int(rtt))),
            .init("rttvar_us", .integer(Int(rttVariance))),
            .init("snd_cwnd", .integer(Int(sendCongestionWindow))),
            .init("snd_mss", .integer(Int(sendMSS))),
            .init("retransmits", .integer(Int(retransmits))),
            .init("total_retrans", .integer(Int(totalRetransmissions))),
            // 64-bit counters: clamped, since a value past Int.max would trap.
            .init("bytes_acked", .integer(Int(clamping: bytesAcked))),
            .init("bytes_received", .integer(Int(clamping: bytesReceived))),
        ])
    }
}
