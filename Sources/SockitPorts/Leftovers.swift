import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The sockets a port keeps after its processes are gone: TCP connections in TIME-WAIT, and
/// orphans still closing (FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK with no file). No signal
/// reaches them. When their listener lacked `SO_REUSEADDR`, they block every bind of the port
/// for up to a minute; the kernel can destroy them (`SOCK_DESTROY` over `NETLINK_SOCK_DIAG`, what
/// `ss -K` does), given `CAP_NET_ADMIN` and a kernel built with `CONFIG_INET_DIAG_DESTROY`.
///
/// What destroying TIME-WAIT risks: TIME-WAIT exists so that a late duplicate segment of the old
/// connection is not taken for part of a new one on the same ports. With TCP timestamps (on by
/// default on Linux, `net.ipv4.tcp_timestamps`) such a segment is recognised as old (PAWS) and
/// dropped; without them it could, rarely, corrupt a new connection between the same two ports.
///
/// Only sockets bound to the port on this machine and held by no process are touched: never a
/// live connection, never a listener, never a client connected *to* the port. Each is named to
/// the kernel by its exact addresses and its cookie, so a new connection that took the same
/// ports meanwhile is a different socket and is left alone.
public struct Leftovers: Sendable {
    /// Leftovers of this process's network namespace.
    public init() {}

    /// The process-less sockets bound to `port` locally (TCP; UDP keeps none). Read through
    /// netlink only: `/proc/net` cannot name a socket to destroy.
    public func find(port: UInt16) throws(LeftoverError) -> [PortSocket] {
        do {
            return try SockDiag().closedConnections(port: port).map(\.0)
        } catch {
            throw LeftoverError(reason: .socketTable(error), port: port)
        }
    }

    /// Destroys the process-less sockets bound to `port` locally.
    ///
    /// - Throws: `LeftoverError` with `.missingPrivilege` (`EPERM`: the process lacks
    ///   `CAP_NET_ADMIN`), `.kernelWithoutDestroy` (`EOPNOTSUPP`: no `CONFIG_INET_DIAG_DESTROY`),
    ///   or another reason; nothing was destroyed unless `destroyedBefore` says so.
    public func destroy(port: UInt16) throws(LeftoverError) -> LeftoverReport {
        let diag = SockDiag()
        let found: [(PortSocket, SocketIdentity)]
        do {
            found = try diag.closedConnections(port: port)
        } catch {
            throw LeftoverError(reason: .socketTable(error), port: port)
        }
        var report = LeftoverReport(port: port)
        for (index, (socket, identity)) in found.enumerated() {
            let refusal: Errno?
            do {
                refusal = try diag.destroy(identity, sequence: UInt32(index + 1))
            } catch {
                throw LeftoverError(reason: .socketTable(error), port: port, destroyedBefore: report.destroyed)
            }
            switch refusal?.rawValue {
            case nil:
                report.destroyed.append(socket)
            case ENOENT, ESTALE:
                // Gone on its own (its timer ran out), or its ports now belong to another socket.
                report.gone.append(socket)
            case EPERM, EACCES:
                throw LeftoverError(reason: .missingPrivilege, port: port, destroyedBefore: report.destroyed)
            case EOPNOTSUPP:
                throw LeftoverError(reason: .kernelWithoutDestroy, port: port, destroyedBefore: report.destroyed)
            default:
                throw LeftoverError(
                    reason: .refused(refusal!), port: port, destroyedBefore: report.destroyed)
            }
        }
        return report
    }
}

/// What `Leftovers.destroy(port:)` did.
public struct LeftoverReport: Sendable {
    /// The port whose sockets were destroyed.
    public var port: UInt16
    /// The sockets the kernel destroyed.
    public var destroyed: [PortSocket] = []
    /// The sockets that were gone by the time they were asked for.
    public var gone: [PortSocket] = []

    /// A report for `port`.
    public init(port: UInt16, destroyed: [PortSocket] = [], gone: [PortSocket] = []) {
        self.port = port
        self.destroyed = destroyed
        self.gone = gone
    }
}

/// Process-less sockets could not be destroyed.
public struct LeftoverError: SockitError {
    /// Why nothing (more) was destroyed.
    public enum Reason: Sendable, Hashable {
        /// The process lacks `CAP_NET_ADMIN` (in the network namespace's user namespace).
        case missingPrivilege
        /// The kernel was built without `CONFIG_INET_DIAG_DESTROY`.
        case kernelWithoutDestroy
        /// The kernel refused for another reason.
        case refused(Errno)
        /// The socket table could not be read, or the request not sent.
        case socketTable(SocketTableError)
    }

    /// Why.
    public var reason: Reason
    /// The port whose sockets were to be destroyed.
    public var port: UInt16
    /// Sockets destroyed before the failure (usually none: a refusal comes at the first).
    public var destroyedBefore: [PortSocket] = []

    /// An error for `port`.
    public init(reason: Reason, port: UInt16, destroyedBefore: [PortSocket] = []) {
        self.reason = reason
        self.port = port
        self.destroyedBefore = destroyedBefore
    }

    /// One sentence naming what is missing: the capability, or the kernel option.
    public var summary: String {
        let what = "cannot destroy the closed connections on port \(port)"
        switch reason {
        case .missingPrivilege:
            return "\(what): destroying a socket needs CAP_NET_ADMIN, which this process lacks"
        case .kernelWithoutDestroy:
            return "\(what): this kernel cannot destroy sockets (built without CONFIG_INET_DIAG_DESTROY)"
        case .refused(let errno):
            return "\(what): the kernel refused SOCK_DESTROY: \(errno)"
        case .socketTable(let error):
            return "\(what): \(error.summary)"
        }
    }

    /// For a kernel without the option: what alone removes the sockets then.
    public var explanation: [String] {
        switch reason {
        case .kernelWithoutDestroy:
            return ["nothing but time removes them: TIME-WAIT lasts 60 s, FIN-WAIT-2 net.ipv4.tcp_fin_timeout"]
        default:
            return []
        }
    }

    /// `CAP_NET_ADMIN` when it is missing; `SO_REUSEADDR` in the server for next time when the
    /// kernel cannot destroy sockets.
    public var remedies: [Remedy] {
        switch reason {
        case .missingPrivilege: return [.grantCapability("CAP_NET_ADMIN")]
        case .kernelWithoutDestroy: return [.setReuseAddress]
        case .refused, .socketTable: return []
        }
    }
}
