import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of trying to bind an address, with and without `SO_REUSEADDR`.
public struct BindProbe: Sendable, Hashable {
    /// nil when `bind()` (and, for TCP with `SO_REUSEADDR`, `listen()`) worked.
    public var plain: Errno?
    /// nil when `bind()` and, for TCP, `listen()` worked with `SO_REUSEADDR` set; also nil, untried,
    /// when the plain bind worked.
    public var withReuseAddress: Errno?

    /// Tries both binds on throwaway sockets, closed at once.
    public static func probe(_ address: SocketAddress, _ transport: TransportProtocol) -> BindProbe {
        let plain = attempt(address, transport, reuseAddress: false)
        if plain == nil { return BindProbe(plain: nil, withReuseAddress: nil) }
        return BindProbe(plain: plain, withReuseAddress: attempt(address, transport, reuseAddress: true))
    }

    private static func attempt(_ address: SocketAddress, _ transport: TransportProtocol, reuseAddress: Bool) -> Errno?
    {
        do throws(SocketError) {
            let socket = try Socket(for: address, transport == .tcp ? .stream : .datagram)
            if reuseAddress { try socket.setOption(.reuseAddress, true) }
            // As a server binding [::] would by default on Linux: dual-stack, so 0.0.0.0 counts too.
            if case .ipv6 = address { try? socket.setOption(.ipv6Only, false) }
            try socket.bind(to: address)
            // Two sockets with SO_REUSEADDR that do not listen may share a port; listen() then checks
            // for a listener. (A listener that exists for microseconds and is closed before accepting.)
            if reuseAddress && transport == .tcp { try socket.listen(backlog: 1) }
            return nil
        } catch {
            return error.errno
        }
    }
}
