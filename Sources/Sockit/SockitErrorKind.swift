/// What kind of outcome an error is. The `sockit` command exits 2 for `.failure` and `.usage`,
/// 1 for `.notMet` (DESIGN.md).
public enum SockitErrorKind: Sendable, Hashable {
    /// Something went wrong: a syscall failed, an input was malformed.
    case failure
    /// A request that cannot be carried out as asked (a malformed argument or address).
    case usage
    /// Nothing went wrong, but what was asked for is not the case (nothing holds the port, it
    /// did not happen within the time).
    case notMet
}
