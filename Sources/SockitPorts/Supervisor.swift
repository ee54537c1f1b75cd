import Sockit

/// What runs a process and would start it again, or keep its socket, if it were only signalled:
/// a systemd service, a container runtime, or the process is a systemd manager itself (socket
/// activation: the manager holds the listener for a `.socket` unit).
public enum Supervisor: Sendable, Hashable, CustomStringConvertible {
    /// A systemd `.service` unit: its manager may start the process again (`Restart=`).
    case unit(SystemdUnit)
    /// A container: its runtime (or Kubernetes) stops it, or starts it again.
    case container(Container)
    /// The process is a systemd manager itself (the system's, pid 1, or a user's `systemd --user`),
    /// holding a socket for a `.socket` unit. It is never signalled: that would stop every unit
    /// it runs.
    case serviceManager(UnitManager)

    /// Whether the process may be signalled when the caller insists (`PortFreer.signalSupervised`):
    /// a service's or a container's process may, a manager never.
    public var maySignal: Bool {
        if case .serviceManager = self { return false }
        return true
    }

    /// Where the process runs, after its pid: `in nginx.service`, `in docker container
    /// 0123456789ab`, `the system's service manager (systemd)`.
    public var description: String {
        switch self {
        case .unit(let unit):
            return "in \(unit)"
        case .container(let container):
            let pod = container.podUID.map { " of Kubernetes pod \($0)" } ?? ""
            return "in \(container.runtime.rawValue) container \(container.shortID)\(pod)"
        case .serviceManager(.system):
            return "the system's service manager (systemd)"
        case .serviceManager(.callingUser):
            return "this user's service manager (systemd --user)"
        case .serviceManager(.user(let name)):
            return "user \(name)'s service manager (systemd --user)"
        }
    }
}
