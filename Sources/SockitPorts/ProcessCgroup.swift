/// What a process's cgroup says about who runs it: the systemd unit it belongs to, the container
/// it runs in, or that it is a systemd manager itself. Read from `/proc/PID/cgroup`: the unified
/// hierarchy's line (`0::/system.slice/nginx.service`, cgroup v2) or, on cgroup v1, the
/// `name=systemd` one (`1:name=systemd:/system.slice/nginx.service`).
///
/// ```swift
/// let cgroup = ProcessCgroup.parse(path: "/system.slice/docker-0123…cdef.scope")
/// cgroup.unit?.name          // "docker-0123…cdef.scope"
/// cgroup.container?.shortID  // "0123456789ab"
/// ```
public struct ProcessCgroup: Sendable, Hashable {
    /// A systemd manager: the system's (pid 1) or a user's (`systemd --user`, by uid).
    public enum Manager: Sendable, Hashable {
        /// The system's manager, pid 1.
        case system
        /// A user's `systemd --user`, by uid.
        case user(UInt32)
    }

    /// The cgroup path the rest was read from.
    public var path: String
    /// The unit the process belongs to: the innermost unit the path names (a delegated
    /// service's own sub-cgroups belong to it).
    public var unit: SystemdUnit?
    /// The container the process runs in: the outermost the path names.
    public var container: Container?
    /// Set when the process is a systemd manager itself: pid 1 (in `/init.scope`) or a user's
    /// `systemd --user` (in `user@UID.service/init.scope`, or `user@UID.service` on old cgroup v1).
    public var manager: Manager?

    /// What the cgroup `path` says, as given (``parse(path:)`` reads it from the path).
    public init(path: String, unit: SystemdUnit? = nil, container: Container? = nil, manager: Manager? = nil) {
        self.path = path
        self.unit = unit
        self.container = container
        self.manager = manager
    }

    /// Whether the path says anything: a unit, a container, or a manager.
    public var isKnown: Bool { unit != nil || container != nil || manager != nil }

    /// The cgroup from the text of `/proc/PID/cgroup`: the unified line (`0::PATH`) first, then
    /// the `name=systemd` line, the first that names something; a container named only in
    /// another v1 controller's line (cgroupfs drivers) is found too. Nil for text without a
    /// cgroup line.
    public static func parse(_ text: some StringProtocol) -> ProcessCgroup? {
        var unified: Substring?
        var systemd: Substring?
        var others: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = Substring(line)
            guard let first = line.firstIndex(of: ":") else { continue }
            let rest = line[line.index(after: first)...]
            guard let second = rest.firstIndex(of: ":") else { continue }
            let controllers = rest[..<second]
            let path = rest[rest.index(after: second)...]
            guard path.hasPrefix("/") else { continue }
            if line[..<first] == "0" && controllers.isEmpty {
                unified = path
            } else if controllers.split(separator: ",").contains("name=systemd") {
                systemd = path
            } else {
                others.append(path)
            }
        }
        let preferred = [unified, systemd].compactMap { $0 }
        for path in preferred {
            let cgroup = parse(path: String(path))
            if cgroup.isKnown { return cgroup }
        }
        for path in others {
            let cgroup = parse(path: String(path))
            if let container = cgroup.container { return ProcessCgroup(path: cgroup.path, container: container) }
        }
        return preferred.first.map { ProcessCgroup(path: String($0)) }
    }

    /// What one cgroup path names.
    public static func parse(path: String) -> ProcessCgroup {
        let components = path.split(separator: "/").filter { $0 != ".." && $0 != "." }
        var cgroup = ProcessCgroup(path: path)
        var userID: UInt32?
        for (index, component) in components.enumerated() {
            if let uid = userManagerUID(component) {
                // user@UID.service is a unit of the system's manager; what is below it, the user's.
                cgroup.unit = SystemdUnit(name: String(component))
                userID = uid
                if index == components.count - 1 { cgroup.manager = .user(uid) }
            } else if SystemdUnit.isUnitName(component) {
                cgroup.unit = SystemdUnit(name: String(component), userID: userID)
                if component == "init.scope" && index == components.count - 1 {
                    if index == 0 {
                        cgroup.manager = .system
                    } else if let uid = userManagerUID(components[index - 1]) {
                        cgroup.manager = .user(uid)
                    }
                }
            }
            if cgroup.container == nil {
                cgroup.container = container(components, at: index)
            }
        }
        if cgroup.container != nil, let pod = components.lazy.compactMap(podUID).first {
            cgroup.container?.podUID = pod
        }
        return cgroup
    }

    /// The uid of `user@UID.service`; nil for any other name.
    static func userManagerUID(_ component: Substring) -> UInt32? {
        guard component.hasPrefix("user@"), component.hasSuffix(".service") else { return nil }
        return UInt32(component.dropFirst(5).dropLast(8))
    }

    /// The container that `components[index]` names (with the component before or after it,
    /// for the cgroupfs drivers' paths), or nil.
    static func container(_ components: [Substring], at index: Int) -> Container? {
        let component = components[index]
        let scopes: [(prefix: String, runtime: Container.Runtime)] = [
            ("docker-", .docker), ("libpod-", .podman), ("cri-containerd-", .containerd), ("crio-", .crio),
        ]
        for (prefix, runtime) in scopes where component.hasPrefix(prefix) && component.hasSuffix(".scope") {
            let id = component.dropFirst(prefix.count).dropLast(6)
            if isContainerID(id) { return Container(runtime: runtime, id: String(id)) }
        }
        let next = index + 1 < components.count ? components[index + 1] : nil
        if component == "docker", let next, isContainerID(next) {
            return Container(runtime: .docker, id: String(next))
        }
        if component == "libpod_parent", let next, next.hasPrefix("libpod-"), isContainerID(next.dropFirst(7)) {
            return Container(runtime: .podman, id: String(next.dropFirst(7)))
        }
        // Kubernetes with the cgroupfs driver: /kubepods[/QOS]/podUID/ID.
        if isContainerID(component), index > 0, components[index - 1].hasPrefix("pod"),
            components[..<index].contains(where: { $0 == "kubepods" || $0 == "kubepods.slice" })
        {
            return Container(runtime: .kubernetes, id: String(component))
        }
        return nil
    }

    /// The pod uid that a component names: `kubepods-besteffort-pod1f2e_….slice` (systemd
    /// driver, dashes written as underscores) or `pod1f2e-…` (cgroupfs driver).
    static func podUID(_ component: Substring) -> String? {
        if component.hasPrefix("kubepods-"), component.hasSuffix(".slice"),
            let last = component.dropLast(6).split(separator: "-").last, last.hasPrefix("pod"), last.count > 3
        {
            return String(last.dropFirst(3).map { $0 == "_" ? "-" : $0 })
        }
        if component.hasPrefix("pod"), component.count > 3, !isContainerID(component),
            component.dropFirst(3).allSatisfy({ $0.isHexDigit || $0 == "-" })
        {
            return String(component.dropFirst(3))
        }
        return nil
    }

    /// Whether the text is a container id: 64 lowercase hexadecimal digits.
    static func isContainerID(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
