import Sockit

/// How the supervisors of a port's holders are found, and what stops each holder for good: a
/// process of a systemd service is stopped with `systemctl stop UNIT` (a signal alone, and the
/// manager starts it again), one in a container with `docker stop ID`, and a listener that a
/// systemd manager holds itself (socket activation) with `systemctl stop APP.socket APP.service`.
///
/// A holder that shares the caller's own unit or container is not counted as supervised: it is
/// a sibling of the caller (a test script's server, a shell's job inside the same service or
/// container), and stopping the unit would stop the caller too. A scope (a login session, a
/// terminal's command, a transient `systemd-run --scope`) is shown, never counted: nothing starts
/// its processes again.
public struct Supervision: Sendable {
    /// The caller's own cgroup.
    public var caller: ProcessCgroup?
    /// The caller's effective uid: a unit of its own user's manager is stopped with `systemctl --user`.
    public var callerUID: UInt32
    /// Where a manager's `.socket` units come from; asked only when a manager itself holds the port.
    public var socketUnits: any SocketUnitSource

    /// Supervision as seen from `caller`.
    ///
    /// - Parameters:
    ///   - caller: the caller's own cgroup (default: this process's).
    ///   - callerUID: the caller's uid (nil: this process's effective uid).
    ///   - socketUnits: where `.socket` units come from (default: `systemctl list-sockets`).
    public init(
        caller: ProcessCgroup? = ProcessCgroup.ofCurrentProcess(), callerUID: UInt32? = nil,
        socketUnits: any SocketUnitSource = SystemctlSocketUnits()
    ) {
        self.caller = caller
        self.callerUID = callerUID ?? PortSys.effectiveUserID
        self.socketUnits = socketUnits
    }

    /// What supervises `holder`, from its cgroup alone; nil when nothing does (no cgroup read, a
    /// scope, a process outside any unit) or when it shares the caller's unit or container.
    public func supervisor(of holder: SocketHolder) -> Supervisor? {
        guard let cgroup = holder.cgroup else { return nil }
        if let manager = cgroup.manager {
            switch manager {
            case .system: return .serviceManager(.system)
            case .user(let uid):
                let name = uid == holder.uid ? holder.user : (PortSys.userName(uid) ?? String(uid))
                return .serviceManager(unitManager(uid: uid, name: name))
            }
        }
        if let container = cgroup.container, container != caller?.container {
            return .container(container)
        }
        if let unit = cgroup.unit, unit.isService,
            unit.name != caller?.unit?.name || unit.userID != caller?.unit?.userID
        {
            return .unit(unit)
        }
        return nil
    }

    /// The supervisor of each supervised holder among `holders` (of sockets on `port`), with
    /// what stops it for good. A manager's `.socket` units are listed (`socketUnits`) once per
    /// manager, only when that manager is itself among the holders.
    public func advice(for holders: [SocketHolder], port: UInt16) -> [Int32: SupervisorAdvice] {
        var supervisors: [(pid: Int32, supervisor: Supervisor)] = []
        for holder in holders where !supervisors.contains(where: { $0.pid == holder.pid }) {
            if let supervisor = supervisor(of: holder) { supervisors.append((holder.pid, supervisor)) }
        }
        guard !supervisors.isEmpty else { return [:] }

        // Socket activation: the manager holds the listener; its .socket units on the port say
        // which units to stop (the socket first, or it starts the service again).
        var listings: [UnitManager: Result<[SocketUnitListing], SocketUnitLookupError>] = [:]
        for case .serviceManager(let manager) in supervisors.map(\.supervisor) where listings[manager] == nil {
            listings[manager] = socketUnits.socketUnits(of: manager).map { $0.filter { $0.listens(onPort: port) } }
        }
        func services(of manager: UnitManager) -> [String] {
            var names: [String] = []
            for case .unit(let unit) in supervisors.map(\.supervisor)
            where unitManager(unit) == manager && !names.contains(unit.name) {
                names.append(unit.name)
            }
            return names
        }

        var advice: [Int32: SupervisorAdvice] = [:]
        for (pid, supervisor) in supervisors {
            let remedies: [Remedy]
            switch supervisor {
            case .serviceManager(let manager):
                if case .success(let found)? = listings[manager], !found.isEmpty {
                    remedies = [
                        .stopUnits(
                            Self.unique(found.map(\.unit) + found.flatMap(\.activates) + services(of: manager)),
                            manager: manager)
                    ]
                } else {
                    let known = services(of: manager)
                    remedies =
                        [.findSocketUnit(port: port, manager: manager)]
                        + (known.isEmpty ? [] : [.stopUnits(known, manager: manager)])
                }
            case .unit(let unit):
                let manager = unitManager(unit)
                let sockets: [String]
                if case .success(let found)? = listings[manager] {
                    sockets = found.filter { $0.activates.contains(unit.name) }.map(\.unit)
                } else {
                    sockets = []
                }
                remedies = [.stopUnits(Self.unique(sockets + [unit.name]), manager: manager)]
            case .container(let container):
                remedies =
                    container.podUID.map { [.stopPod(uid: $0)] }
                    ?? [.stopContainer(tool: container.stopTool, id: container.shortID)]
            }
            advice[pid] = SupervisorAdvice(supervisor: supervisor, remedies: remedies)
        }
        return advice
    }

    /// The remedies that stop every supervised holder of `advice`, each once, in order.
    public static func remedies(_ advice: [SupervisorAdvice]) -> [Remedy] {
        var result: [Remedy] = []
        for remedy in advice.flatMap(\.remedies) where !result.contains(remedy) { result.append(remedy) }
        return result
    }

    /// The manager of `unit`, as the command that reaches it.
    func unitManager(_ unit: SystemdUnit) -> UnitManager {
        guard let uid = unit.userID else { return .system }
        return unitManager(uid: uid, name: unit.userName ?? PortSys.userName(uid) ?? String(uid))
    }

    func unitManager(uid: UInt32, name: String) -> UnitManager {
        uid == callerUID ? .callingUser : .user(name)
    }

    private static func unique(_ names: [String]) -> [String] {
        var result: [String] = []
        for name in names where !result.contains(name) { result.append(name) }
        return result
    }
}
