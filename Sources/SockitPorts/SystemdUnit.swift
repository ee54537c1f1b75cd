/// A systemd unit, as a process's cgroup path names it: `nginx.service` of the system's manager,
/// `app.service` of a user's `systemd --user` (under `user@UID.service`), `session-3.scope` of a
/// login session.
public struct SystemdUnit: Sendable, Hashable, CustomStringConvertible {
    /// The unit's type, from its name's suffix: the cgroups of processes are those of services,
    /// scopes, sockets (their `ExecStartPre=` and such), mounts and swaps.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A service: its manager starts it and may start it again (`Restart=`).
        case service
        /// A scope: processes started elsewhere and grouped (a login session, a terminal's
        /// command, a container); nothing starts them again.
        case scope
        /// A socket unit (its `ExecStartPre=` and such run in its cgroup).
        case socket
        /// A mount unit (its mount helper runs in its cgroup).
        case mount
        /// A swap unit (its `swapon` runs in its cgroup).
        case swap
    }

    /// The unit's full name: `nginx.service`.
    public var name: String
    /// The user whose `systemd --user` runs the unit; nil: the system's manager.
    public var userID: UInt32?
    /// That user's name, when it was looked up.
    public var userName: String?

    /// The unit `name` of the system's manager, or of the user `userID`'s (`systemd --user`).
    public init(name: String, userID: UInt32? = nil, userName: String? = nil) {
        self.name = name
        self.userID = userID
        self.userName = userName
    }

    /// The type, from the suffix; nil for a name without a known one.
    public var kind: Kind? {
        guard let dot = name.lastIndex(of: ".") else { return nil }
        return Kind(rawValue: String(name[name.index(after: dot)...]))
    }

    /// Whether the unit is a service (a process of it may be started again by its manager).
    public var isService: Bool { kind == .service }

    /// `nginx.service`; `app.service (user alice)` for a user's unit.
    public var description: String {
        guard let userID else { return name }
        return "\(name) (user \(userName ?? String(userID)))"
    }

    /// Whether `component` (one name of a cgroup path) is a unit's name: a known suffix after
    /// something.
    static func isUnitName(_ component: Substring) -> Bool {
        guard let dot = component.lastIndex(of: "."), dot > component.startIndex else { return false }
        return Kind(rawValue: String(component[component.index(after: dot)...])) != nil
    }
}
