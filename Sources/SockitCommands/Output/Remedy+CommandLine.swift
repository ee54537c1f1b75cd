import Sockit

extension Remedy {
    /// The remedy as `sockit` says it: the command that does it, where there is one.
    var commandLineText: String {
        switch self {
        case .setReuseAddress:
            return "set SO_REUSEADDR before bind to rebind over TIME_WAIT at once (sockit echo does, "
                + "unless --no-reuse-address)"
        case .setBroadcast:
            return "set SO_BROADCAST to send to a broadcast address (sockit send --broadcast)"
        case .findHolder(let port, let datagram):
            return "find the holder with: sockit who \(port)\(datagram ? " --udp" : "")"
        case .findHolderAsRoot(let port):
            return "run as root to see it: sudo sockit who \(port)"
        case .stopHolder(let port):
            return "stop it with: sockit free \(port)"
        case .stopProcess(let pid):
            return "stop it: kill \(pid)"
        case .includeOtherUsers:
            return "--all-users includes other users' processes (as root)"
        case .waitFor, .useUnprivilegedPort, .grantCapability, .lowerUnprivilegedPortStart, .raiseOpenFileLimit,
            .bindLocalAddress, .allowMoreTime, .retry, .advice, .stopPod:
            return description
        case .startWithoutHandoff:
            return "stop the running instance and start without --handoff"
        case .checkSocketUnit:
            return "check the unit's .socket file: ListenStream= for TCP, ListenDatagram= for --udp"
        case .matchTransport(let datagram):
            return datagram
                ? "the running instance serves UDP: start this one with --udp"
                : "the running instance serves TCP: start this one without --udp"
        case .destroyLeftovers(let port):
            return "as root: sockit free \(port) --leftovers"
        case .stopUnits(let names, let manager):
            return "stop it for good with: \(manager.systemctl) stop \(names.joined(separator: " "))"
        case .findSocketUnit(let port, let manager):
            return "its .socket unit could not be determined: find the one on port \(port) with "
                + "\(manager.systemctl) list-sockets, and stop it with its service"
        case .stopContainer(let tool, let id):
            return "stop the container with: \(tool) stop \(id)"
        case .signalSupervised:
            return "--force signals it anyway (its manager may start it again)"
        }
    }
}
