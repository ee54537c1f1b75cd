#if canImport(Glibc)
import Glibc
#endif
import CSockit
import Sockit

/// Waits for a port to be listened on, or to be let go, by polling the socket table (no
/// connection attempts, so nothing is sent to the server and its logs stay clean).
public struct PortWaiter: Sendable {
    public enum Condition: Sendable, Hashable {
        /// A TCP socket listens on the port (UDP: a socket is bound to it).
        case listening
        /// No TCP socket listens on the port (UDP: none is bound). TIME-WAIT connections do not
        /// count: a server with `SO_REUSEADDR` binds over them.
        case free
    }

    public var table: any SocketTableSource

    public init(table: any SocketTableSource = SocketTable.system) { self.table = table }

    /// Whether `condition` holds now.
    public func holds(_ condition: Condition, port: UInt16, transport: TransportProtocol) throws(SocketTableError)
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

/// Picks a port that is free right now for both IPv4 and IPv6.
public enum PortPicker {
    /// Binds `[::]:0` dual-stack (so the kernel picks a port free on both families), checks the
    /// port again with a bind of `0.0.0.0`, and returns it. Falls back to `0.0.0.0:0`
    /// where IPv6 is off. Another process may take the port after this returns: bind it soon.
    public static func pick(_ transport: TransportProtocol = .tcp, attempts: Int = 20) throws(SocketError) -> UInt16 {
        var lastError: SocketError?
        for _ in 0..<attempts {
            do {
                let port = try kernelPick(.ipv6(.any(port: 0)), transport)
                let v4 = BindProbe.probe(.ipv4(.any(port: port)), transport)
                if v4.plain == nil { return port }
            } catch where error.errno == .addressFamilyNotSupported {
                return try kernelPick(.ipv4(.any(port: 0)), transport)
            } catch {
                lastError = error
            }
        }
        throw lastError ?? SocketError(syscall: "bind", errno: .addressInUse, explanation: ["no port stayed free; retry"])
    }

    private static func kernelPick(_ address: SocketAddress, _ transport: TransportProtocol) throws(SocketError) -> UInt16 {
        let socket = try Socket(for: address, transport == .tcp ? .stream : .datagram)
        if case .ipv6 = address { try socket.setOption(.ipv6Only, false) }
        try socket.bind(to: address)
        let port = try socket.localAddress().port ?? 0
        try socket.close()
        return port
    }
}
