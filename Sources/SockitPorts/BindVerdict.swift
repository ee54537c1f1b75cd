import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Whether a new server could bind an address now, decided by trying: `bind()` without
/// `SO_REUSEADDR`, then with it, on a socket that is closed at once. The socket table only
/// explains the answer; the kernel's own bind rules decide it.
public struct BindVerdict: Sendable, Hashable {
    /// The verdict, as a case; its raw value is the `kind` of `sockit who --json`.
    public enum Kind: String, Sendable, Hashable {
        /// A bind works now, without any option.
        case free
        /// A bind works with `SO_REUSEADDR`: only TIME-WAIT or other non-listening sockets are left,
        /// from a listener that had set it too.
        case freeWithReuseAddress = "free_with_reuse_address"
        /// UDP: a bind works with `SO_REUSEADDR`, because the socket bound there set it too; the
        /// two sockets then share the port.
        case shared
        /// A listener (or a bound socket) holds the address; no option helps, the holder must stop.
        case inUse = "in_use"
        /// In use, but the holder belongs to a process this user cannot see.
        case inUseHidden = "in_use_hidden"
        /// TIME-WAIT connections left by a listener without `SO_REUSEADDR` block every bind until
        /// their timers run out; no option helps now.
        case timeWait = "time_wait"
        /// A port below 1024 without the privilege to bind it.
        case privileged
        /// The address is not one of this machine's.
        case addressNotAvailable = "address_not_available"
        /// The probe itself failed (no such address family, no descriptors left).
        case probeFailed = "probe_failed"
    }

    /// The address that was tried.
    public var address: SocketAddress
    /// The transport of the sockets that were tried (`SOCK_STREAM` for TCP, `SOCK_DGRAM` for UDP).
    public var transport: TransportProtocol
    /// The verdict.
    public var kind: Kind
    /// The verdict in a few words: `free`, `free with SO_REUSEADDR`, `in use`, …
    public var summary: String {
        switch kind {
        case .free: return "free"
        case .freeWithReuseAddress: return "free with SO_REUSEADDR"
        case .shared: return "shared with SO_REUSEADDR"
        case .inUse: return "in use"
        case .inUseHidden: return "in use (holder hidden)"
        case .timeWait: return "blocked by TIME-WAIT"
        case .privileged: return "needs privilege"
        case .addressNotAvailable: return "not a local address"
        case .probeFailed: return "unknown"
        }
    }
    /// Whether a new socket can bind the address now (with `SO_REUSEADDR` where `needsReuseAddress`).
    public var bindable: Bool
    /// Whether that bind needs `SO_REUSEADDR`.
    public var needsReuseAddress: Bool
    /// One sentence that says why (what to do is in `remedies`).
    public var reason: String
    /// What to do about it: `.stopHolder(port:)` for a holder, `.findHolderAsRoot(port:)` for a
    /// hidden one, `.setReuseAddress` when only that option is needed, `.waitFor(seconds:exact:)`
    /// for TIME-WAIT.
    public var remedies: [Remedy] = []
    /// For `.timeWait`: how long until the last closed connection is gone (`closing`'s time:
    /// exact for TIME-WAIT, an upper bound for connections still closing).
    public var waitMilliseconds: Int?
    /// How long the closed connections among the sockets that conflict may still block a bind;
    /// nil when there are none.
    public var closing: ClosingTime?
    /// The processes that hold the address, for `.inUse` and `.shared`.
    public var holders: [SocketHolder]
}

extension BindVerdict {
    /// The verdict for `address`, from a probe and the sockets bound to its port (`report.local`).
    /// `finTimeoutSeconds`: `net.ipv4.tcp_fin_timeout`, read only when a connection is still closing.
    /// `supervision`: how a holder run by a systemd service or a container is stopped for good
    /// (nil: every holder is to be signalled); a manager's `.socket` units are listed only when
    /// the manager itself holds the address.
    public static func decide(
        address: SocketAddress, transport: TransportProtocol, probe: BindProbe, local: [PortReport.Entry],
        unreadableProcesses: Int, finTimeoutSeconds: () -> Int = ClosingTime.systemFinTimeoutSeconds,
        supervision: Supervision? = nil
    ) -> BindVerdict {
        var verdict = BindVerdict(
            address: address, transport: transport, kind: .free, bindable: true, needsReuseAddress: false,
            reason: "", waitMilliseconds: nil, closing: nil, holders: [])
        let port = address.port ?? 0
        let relevant = local.filter { $0.socket.transport == transport && Self.conflicts($0.socket.local, address) }
        let closing = relevant.filter(\.socket.isClosedConnection)
        let time = ClosingTime.of(closing.map(\.socket), finTimeoutSeconds: finTimeoutSeconds)
        verdict.closing = time
        let live = relevant.filter { !$0.socket.isClosedConnection }
        let listeners = live.filter {
            $0.socket.state == .listen || ($0.socket.transport == .udp && $0.socket.remote == nil)
        }
        let holders = Self.uniqueHolders(listeners.isEmpty ? live : listeners)
        verdict.holders = holders
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        let closingText: String
        if closing.allSatisfy({ $0.socket.state == .timeWait }) {
            closingText = "\(count(closing.count, "connection")) in TIME-WAIT (\(time?.text ?? ""))"
        } else {
            var states: [String] = []
            for entry in closing where !states.contains(entry.socket.stateName) {
                states.append(entry.socket.stateName)
            }
            closingText =
                "\(count(closing.count, "closed connection")) in \(states.joined(separator: " or ")) "
                + "(\(time?.text ?? ""))"
        }

        switch (probe.plain, probe.withReuseAddress) {
        case (nil, _):
            verdict.reason = "nothing holds it: a server can bind \(address) now"
        case (let error?, _) where error == .permissionDenied:
            verdict.kind = .privileged
            verdict.bindable = false
            verdict.reason =
                "port \(port) is below 1024: binding it needs root or CAP_NET_BIND_SERVICE "
                + "(or a lower net.ipv4.ip_unprivileged_port_start)"
        case (let error?, _) where error == .addressNotAvailable:
            verdict.kind = .addressNotAvailable
            verdict.bindable = false
            verdict.reason = "\(address.host) is not an address of this machine"
        case (let error?, _) where error != .addressInUse:
            verdict.kind = .probeFailed
            verdict.bindable = false
            verdict.reason = "cannot tell: the test bind of \(address) failed: \(error)"
        case (_?, nil):
            verdict.needsReuseAddress = true
            if transport == .udp && !holders.isEmpty {
                verdict.kind = .shared
                verdict.reason =
                    "\(Self.describe(holders)) set SO_REUSEADDR on its socket there, so a new socket with it "
                    + "binds too, and the two share the port"
            } else {
                verdict.kind = .freeWithReuseAddress
                var what: [String] = []
                if !closing.isEmpty { what.append(closingText) }
                if !live.isEmpty {
                    what.append("\(count(live.count, "connection")) whose listener is gone")
                }
                let subject = what.isEmpty ? "sockets on the port" : what.joined(separator: " and ")
                let verb = closing.count + live.count == 1 ? "blocks" : "block"
                verdict.reason = "\(subject) \(verb) a bind without it"
                verdict.remedies = [.setReuseAddress]
            }
        case (_?, _?):
            verdict.bindable = false
            verdict.needsReuseAddress = false
            if !holders.isEmpty {
                verdict.kind = .inUse
                let advice = supervision?.advice(for: holders, port: port) ?? [:]
                let role =
                    listeners.isEmpty
                    ? "connections of \(Self.describe(holders, advice)) hold it (no listener)"
                    : "\(Self.describe(holders, advice)) \(transport == .tcp ? "listens" : "is bound") there"
                verdict.reason = role
                // A supervised holder is stopped through its supervisor (a signal and it comes
                // back); the others by a signal.
                let supervised = Supervision.remedies(holders.compactMap { advice[$0.pid] })
                let signalled: [Remedy] =
                    holders.contains { advice[$0.pid] == nil } ? [.stopHolder(port: port)] : []
                verdict.remedies = supervised + signalled
            } else if !live.isEmpty && (unreadableProcesses > 0 || live.contains { $0.hidden }) {
                verdict.kind = .inUseHidden
                let listening = listeners.isEmpty ? "a socket" : (transport == .tcp ? "a listener" : "a bound socket")
                verdict.reason = "\(listening) whose process this user cannot see (another user's) holds it"
                verdict.remedies = [.findHolderAsRoot(port: port)]
            } else if !closing.isEmpty && live.isEmpty {
                verdict.kind = .timeWait
                verdict.waitMilliseconds = time?.milliseconds
                verdict.reason =
                    "\(closingText) from a listener that did not set SO_REUSEADDR "
                    + "\(closing.count == 1 ? "blocks" : "block") every bind, so no option helps now"
                verdict.remedies = [
                    .waitFor(seconds: time?.seconds ?? 0, exact: time?.isExact ?? false), .destroyLeftovers(port: port),
                ]
            } else if !live.isEmpty {
                verdict.kind = .inUse
                verdict.reason =
                    "\(count(live.count, "socket")) that no visible process holds "
                    + "(another network or pid namespace, or the kernel) hold it"
            } else {
                verdict.kind = .inUse
                verdict.reason = "the socket table shows nothing on it now (it may be changing): retry"
            }
        }
        return verdict
    }

    /// Whether a socket bound to `bound` keeps a bind of `address` from working: same port, and
    /// the same address or a wildcard on either side (a dual-stack [::] covers IPv4 too).
    static func conflicts(_ bound: SocketAddress, _ address: SocketAddress) -> Bool {
        guard bound.port == address.port else { return false }
        if bound.isUnspecified || address.isUnspecified {
            switch (bound, address) {
            case (.ipv4, .ipv4), (.ipv6, .ipv6): return true
            case (.ipv6, .ipv4): return bound.isUnspecified  // [::] without IPV6_V6ONLY takes IPv4 too
            case (.ipv4, .ipv6): return address.isUnspecified
            default: return false
            }
        }
        return bound.host == address.host || mapped(bound) == mapped(address)
    }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else the host.
    private static func mapped(_ address: SocketAddress) -> String {
        if case .ipv6(let v6) = address, v6.high == 0, v6.low >> 32 == 0xffff {
            let v4 = UInt32(truncatingIfNeeded: v6.low)
            return SocketAddress.ipv4(.init(rawAddress: v4.bigEndian, port: 0)).host
        }
        return address.host
    }

    static func uniqueHolders(_ entries: [PortReport.Entry]) -> [SocketHolder] {
        var seen = Set<Int32>()
        var result: [SocketHolder] = []
        for entry in entries {
            for holder in entry.holders where seen.insert(holder.pid).inserted { result.append(holder) }
        }
        return result
    }

    /// `pid 42 (nginx: master process, user root, in nginx.service)`: up to three holders, each
    /// with its supervisor when it has one.
    static func describe(_ holders: [SocketHolder], _ advice: [Int32: SupervisorAdvice] = [:]) -> String {
        let named = holders.prefix(3).map { holder in
            let supervisor = advice[holder.pid].map { ", \($0.supervisor)" } ?? ""
            return "pid \(holder.pid) (\(holder.shortCommand()), user \(holder.user)\(supervisor))"
        }
        let more = holders.count > 3 ? " and \(holders.count - 3) more" : ""
        return named.joined(separator: ", ") + more
    }
}
