import CSockit
import Sockit

/// TCP keep-alive settings: idle time before the first probe, time between probes, probes
/// before the connection is dropped (`TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`).
public struct KeepAlive: Sendable, Hashable {
    /// Idle time before the first probe (`TCP_KEEPIDLE`, whole seconds).
    public var idle: Duration
    /// Time between unanswered probes (`TCP_KEEPINTVL`, whole seconds).
    public var interval: Duration
    /// Unanswered probes before the connection is dropped (`TCP_KEEPCNT`).
    public var count: Int

    /// Keep-alive after `idle`; `interval` and `count` default to Linux's own defaults
    /// (`net.ipv4.tcp_keepalive_intvl`, `net.ipv4.tcp_keepalive_probes`).
    public init(idle: Duration, interval: Duration = .seconds(75), count: Int = 9) {
        self.idle = idle
        self.interval = interval
        self.count = count
    }
}
