import CSockit

/// What to do about a failure, as data. The library says *what* helps; whoever shows the error
/// says it in its own words, or acts on it. `sockit` prints `.findHolder(port: 8080)` as
/// "find it with: sockit who 8080"; `description` says it for a Swift program, naming the API.
///
/// ```swift
/// do {
///     try listener.bind(to: address)
/// } catch let error as SocketError where error.remedies.contains(.setReuseAddress) {
///     try listener.setOption(.reuseAddress, true)   // and try again
/// }
/// ```
public enum Remedy: Sendable, Hashable, CustomStringConvertible {
    /// Set `SO_REUSEADDR` (`SocketOption.reuseAddress`) before `bind`: a restart then binds over
    /// connections in TIME-WAIT.
    case setReuseAddress
    /// Set `SO_BROADCAST` (`SocketOption.broadcast`) before sending to a broadcast address.
    case setBroadcast
    /// Find the processes that hold the port (`PortInspector` in SockitPorts).
    case findHolder(port: UInt16, datagram: Bool)
    /// Look again with the privilege to see every user's processes: another user's process
    /// holds the port and is hidden from this one.
    case findHolderAsRoot(port: UInt16)
    /// Stop the processes that hold the port (`PortFreer` in SockitPorts).
    case stopHolder(port: UInt16)
    /// Stop this process (it is stuck, or holds what is needed).
    case stopProcess(pid: Int32)
    /// Also signal other users' processes (`PortFreer.allowOtherUsers`); root only, in effect.
    case includeOtherUsers
    /// Wait: closed connections block the port for `seconds` more (at most, when not `exact`).
    case waitFor(seconds: Int, exact: Bool)
    /// Use a port of 1024 or more: lower ones are privileged on Linux.
    case useUnprivilegedPort
    /// Grant the process a capability, e.g. `CAP_NET_BIND_SERVICE`, `CAP_NET_ADMIN`, `CAP_SYS_PTRACE`
    /// (run as root, or `setcap`).
    case grantCapability(String)
    /// Lower `net.ipv4.ip_unprivileged_port_start` (now `current`, when known).
    case lowerUnprivilegedPortStart(current: String?)
    /// Close sockets no longer used, or raise the limit on open files (now `current`).
    case raiseOpenFileLimit(current: UInt64?)
    /// Bind an address of this machine: `0.0.0.0` or `[::]` for all of them, `127.0.0.1` for loopback.
    case bindLocalAddress
    /// Give it more time (a longer timeout), or check the address.
    case allowMoreTime
    /// Try again: the state changed while it was looked at.
    case retry
    /// Start without taking over from a running instance (no hand-off path).
    case startWithoutHandoff
    /// Check the systemd `.socket` unit: `ListenStream=` for TCP, `ListenDatagram=` for UDP.
    case checkSocketUnit
    /// Advice that names no tool and no API, in a sentence.
    case advice(String)
    /// Serve the transport the running instance serves (its sockets are of that type):
    /// datagram (UDP) or stream (TCP).
    case matchTransport(datagram: Bool)
    /// Destroy the closed connections no process holds on the port (`Leftovers` in
    /// SockitPorts; needs `CAP_NET_ADMIN`).
    case destroyLeftovers(port: UInt16)
    /// Stop these systemd units through their manager (`systemctl stop NAMES`): it would start a
    /// process of theirs that is only signalled again (`Restart=`, socket activation).
    case stopUnits([String], manager: UnitManager)
    /// Find the `.socket` unit that listens on `port` (`systemctl list-sockets`) and stop it with
    /// the service it starts: the manager itself holds the socket, and which unit could not be told.
    case findSocketUnit(port: UInt16, manager: UnitManager)
    /// Stop the container through its runtime's command (`tool`: `docker`, `podman`, `crictl`), by id.
    case stopContainer(tool: String, id: String)
    /// Stop the Kubernetes pod (by uid) through what runs it (delete it, or scale its workload
    /// down): kubelet starts a container stopped on its own again.
    case stopPod(uid: String)
    /// Signal the process anyway (`PortFreer.signalSupervised`), knowing that its manager may
    /// start it again.
    case signalSupervised

    /// The remedy in a library user's words, naming sockit's API where there is one.
    public var description: String {
        switch self {
        case .setReuseAddress:
            return "set SO_REUSEADDR (SocketOption.reuseAddress) before bind to rebind over TIME_WAIT at once"
        case .setBroadcast:
            return "set SO_BROADCAST (SocketOption.broadcast) before sending to a broadcast address"
        case .findHolder(let port, let datagram):
            return "find the process that holds \(datagram ? "UDP" : "TCP") port \(port) (PortInspector.report)"
        case .findHolderAsRoot(let port):
            return "look again as root to see the process that holds port \(port)"
        case .stopHolder(let port):
            return "stop the processes that hold port \(port) (PortFreer)"
        case .stopProcess(let pid):
            return "stop pid \(pid)"
        case .includeOtherUsers:
            return "allow other users' processes (PortFreer.allowOtherUsers; root only)"
        case .waitFor(let seconds, let exact):
            return exact ? "wait \(seconds) s" : "wait until they are gone (at most \(seconds) s)"
        case .useUnprivilegedPort:
            return "use a port of 1024 or more"
        case .grantCapability(let capability):
            return "run as root or grant \(capability) (setcap \(capability.lowercased())=+ep BINARY)"
        case .lowerUnprivilegedPortStart(let current):
            return "lower net.ipv4.ip_unprivileged_port_start\(current.map { " (now \($0))" } ?? "")"
        case .raiseOpenFileLimit(let current):
            return "close sockets that are no longer used, or raise the limit of open files"
                + "\(current.map { " (now \($0))" } ?? ""): ulimit -n, LimitNOFILE= in systemd"
        case .bindLocalAddress:
            return "bind to 0.0.0.0 or [::] for every address, 127.0.0.1 for loopback, or one that `ip addr` lists "
                + "(IP_FREEBIND allows binding an address before it is configured)"
        case .allowMoreTime:
            return "check the address, or allow more time"
        case .retry:
            return "retry"
        case .startWithoutHandoff:
            return "start without a hand-off path, after stopping the running instance"
        case .checkSocketUnit:
            return "check the unit's .socket file: ListenStream= for TCP, ListenDatagram= for UDP"
        case .advice(let text):
            return text
        case .matchTransport(let datagram):
            return "serve what the running instance serves: "
                + (datagram ? "UDP (SocketType.datagram)" : "TCP (SocketType.stream)")
        case .destroyLeftovers(let port):
            return "destroy the closed connections on port \(port) (Leftovers.destroy; needs CAP_NET_ADMIN)"
        case .stopUnits(let names, let manager):
            return "stop it for good through its manager: \(manager.systemctl) stop \(names.joined(separator: " "))"
        case .findSocketUnit(let port, let manager):
            return "find the .socket unit that listens on port \(port) with \(manager.systemctl) list-sockets, "
                + "and stop it with its service"
        case .stopContainer(let tool, let id):
            return "stop the container: \(tool) stop \(id)"
        case .stopPod(let uid):
            return "stop its Kubernetes pod (uid \(uid)): delete it, or scale down what runs it; "
                + "kubelet restarts a container stopped on its own"
        case .signalSupervised:
            return "signal it anyway (PortFreer.signalSupervised); its manager may start it again"
        }
    }
}
