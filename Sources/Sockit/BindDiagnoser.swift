/// Says what holds an address when `bind` fails with `EADDRINUSE`, for the error to explain:
/// the holder's pid and command, or the TIME_WAIT connections and how long they stay.
///
/// `Sockit` does not read the socket table; `PortInspector` (SockitPorts) does, and conforms.
/// Pass one where a bind may fail: `Socket.bind(to:diagnoser:)`, or a server's configuration.
public protocol BindDiagnoser: Sendable {
    /// What holds `address` for a socket of `type` whose bind just failed with `EADDRINUSE`
    /// (`reuseAddressWasSet`: whether that socket had set `SO_REUSEADDR`, when known); nil when
    /// it cannot tell.
    func diagnoseAddressInUse(_ address: SocketAddress, type: SocketType, reuseAddressWasSet: Bool?) -> BindDiagnosis?
}
