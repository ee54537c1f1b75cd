import SockitPorts

extension SocketHolder {
    /// The UNIT column of `who` and `free`: the container (`docker 0123456789ab`), else the
    /// systemd unit (`nginx.service`, `app.service (user alice)`); empty when neither is known.
    var unitCell: String {
        if let container { return container.description }
        return unit?.description ?? ""
    }

    /// `unit`, `container` and `cgroup` for `--json`: objects (or null) that say who runs the process.
    var supervisionJSON: [(String, JSON)] {
        [
            (
                "unit",
                unit.map { unit in
                    .object([
                        ("name", .string(unit.name)),
                        ("type", unit.kind.map { .string($0.rawValue) } ?? .null),
                        ("manager", .string(unit.userID == nil ? "system" : "user")),
                        ("uid", unit.userID.map { .int(Int($0)) } ?? .null),
                        ("user", unit.userID == nil ? .null : unit.userName.map { .string($0) } ?? .null),
                    ])
                } ?? .null
            ),
            (
                "container",
                container.map { container in
                    .object([
                        ("runtime", .string(container.runtime.rawValue)),
                        ("id", .string(container.id)),
                        ("short_id", .string(container.shortID)),
                        ("pod", container.podUID.map { .string($0) } ?? .null),
                    ])
                } ?? .null
            ),
            ("cgroup", cgroup.map { .string($0.path) } ?? .null),
        ]
    }
}
