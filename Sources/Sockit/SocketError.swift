#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failed socket call, with everything needed to understand and fix it: the syscall, the
/// errno by name and number and its text, the address or option involved, and an explanation
/// with a remedy.
///
/// `description` reads like:
/// ```
/// cannot bind 127.0.0.1:8080: address already in use (EADDRINUSE, errno 98)
///   this socket did not set SO_REUSEADDR; if the port is held only by connections in TIME_WAIT …
///   find the holder with: sockit who 8080
/// ```
///
/// On the errno numbers: `EADDRINUSE` is 98 on Linux, 48 on macOS and the BSDs, and
/// `WSAEADDRINUSE` (10048) on Windows: the same condition everywhere, and the same remedies.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    /// The C call that failed, e.g. `bind`, `setsockopt`.
    public var syscall: String
    /// Why it failed.
    public var errno: Errno
    /// The address being bound, connected or sent to, when there is one.
    public var address: SocketAddress?
    /// The option being set or read, e.g. `SO_RCVBUF`, when the call was `setsockopt`/`getsockopt`.
    public var option: String?
    /// Lines that explain the cause and say what to do, most useful first.
    public var hints: [String]
    /// For `EADDRINUSE` on bind, what holds the port, when a diagnoser is installed
    /// (`SockitPorts` installs one); nil otherwise.
    public var diagnosis: PortDiagnosis?

    public init(
        syscall: String, errno: Errno, address: SocketAddress? = nil, option: String? = nil, hints: [String]? = nil,
        diagnosis: PortDiagnosis? = nil, socketType: SocketType? = nil, reuseAddressWasSet: Bool? = nil
    ) {
        self.syscall = syscall
        self.errno = errno
        self.address = address
        self.option = option
        self.diagnosis = diagnosis
        self.hints =
            hints
            ?? SocketError.explain(
                syscall: syscall, errno: errno, address: address, option: option, socketType: socketType,
                reuseAddressWasSet: reuseAddressWasSet, diagnosis: diagnosis)
    }

    /// `cannot bind 127.0.0.1:8080: address already in use (EADDRINUSE, errno 98)`.
    public var summary: String {
        "cannot \(action): \(errno)"
    }

    /// The summary line, then each hint indented by two spaces.
    public var description: String {
        ([summary] + hints.map { "  " + $0 }).joined(separator: "\n")
    }

    /// The verb phrase of the summary: `bind 127.0.0.1:8080`, `set SO_RCVBUF`, `connect to [::1]:80`.
    public var action: String {
        let target = address.map { " \($0)" } ?? ""
        switch syscall {
        case "socket": return "create a socket"
        case "bind": return "bind" + target
        case "listen": return "listen on" + (address.map { " \($0)" } ?? " the socket")
        case "accept", "accept4": return "accept a connection" + (address.map { " on \($0)" } ?? "")
        case "connect": return "connect" + (address.map { " to \($0)" } ?? "")
        case "send", "sendto", "sendmsg", "write", "writev": return "send" + (address.map { " to \($0)" } ?? "")
        case "recv", "recvfrom", "recvmsg", "read": return "receive" + (address.map { " from \($0)" } ?? "")
        case "setsockopt": return "set \(option ?? "a socket option")"
        case "getsockopt": return "read \(option ?? "a socket option")"
        case "shutdown": return "shut down the socket"
        case "close": return "close the socket"
        case "getsockname": return "read the local address"
        case "getpeername": return "read the remote address"
        case "fcntl": return "set the socket's flags"
        default: return syscall + target
        }
    }
}

/// What holds a port, as found when a `bind()` fails with `EADDRINUSE`. Filled in by a diagnoser
/// that `SockitPorts` installs; `Sockit` itself does not read the socket table.
public struct PortDiagnosis: Sendable, Hashable {
    /// A process that holds a socket on the port.
    public struct Holder: Sendable, Hashable {
        public var pid: Int32
        public var command: String
        public var user: String
        /// `LISTEN`, `ESTABLISHED`, `UNCONN` (a bound UDP socket), …
        public var state: String
        public var localAddress: String
        public var fd: Int32

        public init(pid: Int32, command: String, user: String, state: String, localAddress: String, fd: Int32) {
            self.pid = pid
            self.command = command
            self.user = user
            self.state = state
            self.localAddress = localAddress
            self.fd = fd
        }
    }

    /// Processes that hold the port.
    public var holders: [Holder]
    /// Sockets on the port whose process this user cannot see (another user's, without privilege).
    public var hiddenSockets: Int
    /// A listener is among the hidden sockets.
    public var hiddenListener: Bool
    /// Connections on the port in TIME_WAIT, or closed and still closing (FIN_WAIT2, ...).
    public var timeWaitCount: Int
    /// The longest time left on a TIME_WAIT connection, in milliseconds; an upper bound when
    /// `timeWaitIsUpperBound`.
    public var timeWaitLongestMilliseconds: Int
    /// Some connections are still closing (FIN_WAIT1, FIN_WAIT2, CLOSING, LAST_ACK): when they
    /// end is not known, and `timeWaitLongestMilliseconds` bounds it (net.ipv4.tcp_fin_timeout
    /// and then TIME_WAIT's 60 s) instead of being the time left.
    public var timeWaitIsUpperBound: Bool
    /// Whether the TIME_WAIT sockets allow rebinding with `SO_REUSEADDR` (the old listener set it);
    /// nil when unknown.
    public var timeWaitReusable: Bool?

    public init(
        holders: [Holder] = [], hiddenSockets: Int = 0, hiddenListener: Bool = false, timeWaitCount: Int = 0,
        timeWaitLongestMilliseconds: Int = 0, timeWaitIsUpperBound: Bool = false, timeWaitReusable: Bool? = nil
    ) {
        self.holders = holders
        self.hiddenSockets = hiddenSockets
        self.hiddenListener = hiddenListener
        self.timeWaitCount = timeWaitCount
        self.timeWaitLongestMilliseconds = timeWaitLongestMilliseconds
        self.timeWaitIsUpperBound = timeWaitIsUpperBound
        self.timeWaitReusable = timeWaitReusable
    }
}

extension SocketError {
    /// The explanation and remedy for an errno in the context of a call.
    static func explain(
        syscall: String, errno: Errno, address: SocketAddress?, option: String?, socketType: SocketType?,
        reuseAddressWasSet: Bool?, diagnosis: PortDiagnosis?
    ) -> [String] {
        let port = address?.port.map(String.init) ?? "PORT"
        switch (syscall, errno) {
        case ("bind", .addressInUse):
            if let diagnosis { return explainAddressInUse(diagnosis, port: port, reuseAddressWasSet: reuseAddressWasSet) }
            if socketType == .datagram {
                return [
                    "another UDP socket is bound to this address; UDP has no TIME_WAIT, so a process holds it",
                    "find it with: sockit who \(port) --udp",
                ]
            }
            if reuseAddressWasSet == true {
                return [
                    "SO_REUSEADDR is set, so a live socket listens on or is bound to this port, or the TIME_WAIT "
                        + "connections come from a listener that did not set SO_REUSEADDR (then wait up to 60 s)",
                    "find the holder with: sockit who \(port); stop it with: sockit free \(port)",
                ]
            }
            return [
                "this socket did not set SO_REUSEADDR: if no process listens on the port, it is held by connections "
                    + "in TIME_WAIT, which Linux keeps for 60 s after the side that closed first",
                "set SO_REUSEADDR (SocketOption.reuseAddress) before bind to rebind over TIME_WAIT at once "
                    + "(it works when the old listener set it too)",
                "if a server still listens there, find it with: sockit who \(port)",
            ]
        case ("bind", .permissionDenied) where (address?.port ?? 1024) < 1024:
            let start = readSysctl("net/ipv4/ip_unprivileged_port_start").map { " (now \($0))" } ?? ""
            return [
                "ports below 1024 are privileged on Linux",
                "use a port of 1024 or more, run with CAP_NET_BIND_SERVICE "
                    + "(setcap cap_net_bind_service=+ep BINARY), or lower net.ipv4.ip_unprivileged_port_start\(start)",
            ]
        case ("sendto", .permissionDenied), ("send", .permissionDenied), ("sendmsg", .permissionDenied),
            ("connect", .permissionDenied):
            return [
                "sending to a broadcast address needs SO_BROADCAST",
                "set SocketOption.broadcast to true first (sockit send --broadcast)",
            ]
        case ("bind", .permissionDenied):
            return ["this user may not bind there (a Unix path in a directory it cannot write, or a security policy)"]
        case ("bind", .addressNotAvailable):
            return [
                "\(address.map { "\($0.host)" } ?? "the address") is not an address of this machine",
                "bind to 0.0.0.0 or [::] for every address, 127.0.0.1 for loopback, or one that `ip addr` lists "
                    + "(IP_FREEBIND allows binding an address before it is configured)",
            ]
        case ("connect", .addressNotAvailable):
            return [
                "no local port is left for an outgoing connection to this address, or the local address is gone",
                "many connections in TIME_WAIT use up net.ipv4.ip_local_port_range; reuse connections, "
                    + "or widen the range",
            ]
        case (_, .connectionRefused):
            if socketType == .datagram {
                return ["nothing listens there: an ICMP port-unreachable came back for an earlier datagram"]
            }
            return [
                "nothing listens on \(address.map { "\($0)" } ?? "that address"), or a firewall rejects the connection",
                "start the server or check the port: sockit who \(port)",
            ]
        case (_, .timedOut):
            return [
                "no answer from \(address.map { "\($0)" } ?? "the peer") in time: a firewall drops the packets, "
                    + "the host is down, or the network is unreachable",
                "check the address, or allow more time",
            ]
        case (_, .connectionReset):
            return ["the peer closed the connection abruptly (RST): it crashed, was killed, or refused the data"]
        case ("setsockopt", .protocolNotAvailable), ("getsockopt", .protocolNotAvailable):
            return [
                "this kernel or this kind of socket does not support \(option ?? "the option")",
                "check that the option fits the socket (a TCP option on a UDP socket fails) and the kernel version",
            ]
        case ("setsockopt", .invalidArgument):
            return [
                "the kernel rejected the value of \(option ?? "the option"): out of range, "
                    + "or not valid for this kind of socket or its state"
            ]
        case ("setsockopt", .notPermitted), ("setsockopt", .permissionDenied):
            return [
                "\(option ?? "this option") needs a capability this process lacks: CAP_NET_ADMIN "
                    + "(SO_MARK, SO_PRIORITY above 6, SO_RCVBUFFORCE) or CAP_NET_RAW",
                "run as root or grant the capability (setcap cap_net_admin=+ep BINARY)",
            ]
        case ("setsockopt", .noSuchDevice):
            return ["no network interface has that name: `ip link` lists them"]
        case (_, .tooManyOpenFiles):
            var limit = rlimit()
            let current = getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 ? " (now \(limit.rlim_cur))" : ""
            return [
                "this process has reached its limit of open files\(current)",
                "close sockets that are no longer used, or raise the limit: ulimit -n, LimitNOFILE= in systemd",
            ]
        case (_, .tooManyOpenFilesInSystem):
            return ["the whole system has reached its limit of open files (fs.file-max)"]
        case (_, .addressFamilyNotSupported):
            return ["this machine does not support that address family (IPv6 disabled?)"]
        case (_, .networkUnreachable):
            return ["no route to that network from this machine"]
        case (_, .brokenPipe):
            return ["the peer has closed the connection; nothing more can be sent"]
        case (_, .notConnected):
            return ["the socket is not connected"]
        default:
            return []
        }
    }

    private static func explainAddressInUse(_ diagnosis: PortDiagnosis, port: String, reuseAddressWasSet: Bool?)
        -> [String]
    {
        var lines: [String] = []
        if !diagnosis.holders.isEmpty {
            for holder in diagnosis.holders.prefix(5) {
                lines.append(
                    "held by pid \(holder.pid) (\(holder.command), user \(holder.user)) in \(holder.state) "
                        + "on \(holder.localAddress)")
            }
            if diagnosis.holders.count > 5 { lines.append("and \(diagnosis.holders.count - 5) more processes") }
            lines.append("stop it with: sockit free \(port)")
            return lines
        }
        if diagnosis.hiddenSockets > 0 {
            lines.append(
                "\(diagnosis.hiddenSockets) socket\(diagnosis.hiddenSockets == 1 ? "" : "s") on this port "
                    + "\(diagnosis.hiddenListener ? "(one listening) " : "")belong to a process this user cannot see")
            lines.append("run as root to see it: sudo sockit who \(port)")
            return lines
        }
        if diagnosis.timeWaitCount > 0 {
            let seconds = (diagnosis.timeWaitLongestMilliseconds + 999) / 1000
            let plural = diagnosis.timeWaitCount == 1 ? "connection" : "connections"
            let wait =
                diagnosis.timeWaitIsUpperBound ? "wait until they are gone (at most \(seconds) s)" : "wait \(seconds) s"
            lines.append(
                "\(diagnosis.timeWaitCount) \(plural) on this port \(diagnosis.timeWaitCount == 1 ? "is" : "are") "
                    + (diagnosis.timeWaitIsUpperBound
                        ? "in TIME_WAIT or still closing (FIN_WAIT2, or another state before it): when "
                            + "\(diagnosis.timeWaitCount == 1 ? "it ends" : "they end") is not known precisely, "
                            + "at most \(seconds) s from now; no process listens"
                        : "in TIME_WAIT (up to \(seconds) s left); no process listens"))
            switch (diagnosis.timeWaitReusable, reuseAddressWasSet) {
            case (false?, _):
                lines.append(
                    "they come from a listener that did not set SO_REUSEADDR, so no option helps now: "
                        + "\(wait) (and set SO_REUSEADDR in the server for next time)")
            case (_, true?):
                lines.append(
                    "SO_REUSEADDR is set here, so the old listener did not set it: \(wait)")
            default:
                lines.append("set SO_REUSEADDR (SocketOption.reuseAddress) before bind to rebind now")
            }
            return lines
        }
        lines.append("the port was busy, but it is free now: retry")
        return lines
    }
}

extension String {
    /// A string from a NUL-terminated C buffer (stops at the first NUL or the end).
    init(cChars buffer: [CChar]) {
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Reads a sysctl from /proc/sys (e.g. `net/ipv4/ip_unprivileged_port_start`), trimmed; nil when unreadable.
func readSysctl(_ name: String) -> String? {
    guard let file = fopen("/proc/sys/" + name, "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 256)
    guard fgets(&buffer, CInt(buffer.count), file) != nil else { return nil }
    let text = String(cChars: buffer)
    return String(text.filter { !$0.isWhitespace })
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#endif
