import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

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
            } catch  where error.errno == .addressFamilyNotSupported {
                return try kernelPick(.ipv4(.any(port: 0)), transport)
            } catch {
                lastError = error
            }
        }
        throw lastError
            ?? SocketError(syscall: "bind", errno: .addressInUse, explanation: ["no port stayed free; retry"])
    }

    private static func kernelPick(
        _ address: SocketAddress, _ transport: TransportProtocol
    ) throws(SocketError) -> UInt16 {
        let socket = try Socket(for: address, transport == .tcp ? .stream : .datagram)
        if case .ipv6 = address { try socket.setOption(.ipv6Only, false) }
        try socket.bind(to: address)
        let port = try socket.localAddress().port ?? 0
        try socket.close()
        return port
    }
}
