/// The outcome of a call on a non-blocking descriptor: done, or it would block. The one
/// would-block result of sockit (the servers' hot path uses it too).
public enum IOResult<Value: Sendable>: Sendable {
    /// The call would block (`EAGAIN`/`EWOULDBLOCK`); try again once the descriptor is ready.
    case wouldBlock
    /// The call completed with this value.
    case processed(Value)
}

extension IOResult: Equatable where Value: Equatable {}
