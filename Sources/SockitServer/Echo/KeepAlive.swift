import CSockit
import Sockit

/// TCP keep-alive settings: idle time before the first probe, time between probes, probes
/// before the connection is dropped (`TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`).
public struct KeepAlive: Sendable, Hashable {
    public var idle: Duration
    public var interval: Duration
    public var count: Int

    public init(idle: Duration, interval: Duration = .seconds(75), count: Int = 9) {
        self.idle = idle
        self.interval = interval
        self.count = count
    }
}
