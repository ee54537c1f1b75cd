/// The systemd instance that runs a unit, as the command that talks to it: the system's (pid 1),
/// the calling user's own `systemd --user`, or another user's (which root reaches with `-M USER@`).
public enum UnitManager: Sendable, Hashable {
    /// The system's manager: `systemctl`.
    case system
    /// The calling user's `systemd --user`: `systemctl --user`.
    case callingUser
    /// Another user's `systemd --user`, by user name: `systemctl --user -M NAME@`.
    case user(String)

    /// The `systemctl` command line that reaches this manager, without the verb.
    public var systemctl: String {
        switch self {
        case .system: return "systemctl"
        case .callingUser: return "systemctl --user"
        case .user(let name): return "systemctl --user -M \(name)@"
        }
    }
}
