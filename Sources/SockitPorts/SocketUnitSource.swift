import Sockit

/// Where the `.socket` units of a systemd manager come from: `systemctl list-sockets` on Linux
/// (`SystemctlSocketUnits`). Asked only when a manager itself holds a port (socket activation).
public protocol SocketUnitSource: Sendable {
    /// The `.socket` units of `manager`, or why they could not be listed (no `systemctl`, no
    /// manager running, a timeout).
    func socketUnits(of manager: UnitManager) -> Result<[SocketUnitListing], SocketUnitLookupError>
}

/// Why a manager's `.socket` units could not be listed, in a few words.
public struct SocketUnitLookupError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why, in a few words: "systemctl is not installed", "systemctl did not answer in 2 s".
    public var reason: String

    /// An error saying `reason`.
    public init(reason: String) { self.reason = reason }

    /// The reason.
    public var description: String { reason }
}
