import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Waits for a port to be listened on, or to be let go, by polling the socket table (no
/// connection attempts, so nothing is sent to the server and its logs stay clean).
public struct PortWaiter: Sendable {
    /// What to wait for.
    public enum Condition: Sendable, Hashable {
        /// A TCP socket listens on the port (UDP: a socket is bound to it).
        case listening
        /// No TCP socket listens on the port (UDP: none is bound). TIME-WAIT connections do not
        /// count: a server with `SO_REUSEADDR` binds over them.
        case free
    }

    /// Where the sockets come from: the kernel's table (`SocketTable.system`) by default.
    public var table: any SocketTableSource

    /// A waiter that reads `table`.
    public init(table: any SocketTableSource = SocketTable.system) { self.table = table }

    /// Whether `condition` holds now.
    public func holds(
        _ condition: Condition, port: UInt16, transport: TransportProtocol
    ) throws(SocketTableError)
        -> Bool
    {
        // TCP: LISTEN alone (the kernel skips every connection); UDP: bound, connected or not.
        let states: StateSet = transport == .tcp ? [.listen] : [.close, .established]
        let bound = try table.sockets(
            SocketQuery(port: port, localOnly: true, transports: [transport], states: states))
        return condition == .listening ? !bound.isEmpty : bound.isEmpty
    }

    /// Polls until `condition` holds (true) or `timeout` passes (false). The interval starts at
    /// 5 ms and grows to 100 ms, so a short wait answers fast and a long one costs little.
    public func wait(
        for condition: Condition, port: UInt16, transport: TransportProtocol = .tcp, timeout: Duration
    ) throws(SocketTableError) -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var interval = Duration.milliseconds(5)
        while true {
            if try holds(condition, port: port, transport: transport) { return true }
            let left = clock.now.duration(to: deadline)
            if left <= .zero { return false }
            let pause = min(interval, left)
            PortSys.sleep(microseconds: pause.milliseconds * 1000)
            interval = min(interval * 2, .milliseconds(100))
        }
    }
}
