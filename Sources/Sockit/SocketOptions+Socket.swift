import CSockit

#if canImport(Glibc)
import Glibc
#endif

// SOL_SOCKET options, sorted by C name. Each doc comment names the C option and what the
// kernel does with the value.

private let solLevel = SOL_SOCKET
private let solLevelName = "SOL_SOCKET"

extension SocketOption where Value == Bool {
    /// Allow sending to broadcast addresses; without it such a `sendto` fails with `EACCES`.
    /// The corresponding C option is `SO_BROADCAST` (`int`).
    public static var broadcast: Self { .flag(solLevel, SO_BROADCAST, solLevelName, "SO_BROADCAST") }

    /// Route only to directly connected hosts, bypassing the routing table.
    /// The corresponding C option is `SO_DONTROUTE` (`int`).
    public static var dontRoute: Self { .flag(solLevel, SO_DONTROUTE, solLevelName, "SO_DONTROUTE") }

    /// Send keep-alive probes on an idle connection (timers: `TCP_KEEPIDLE`, `TCP_KEEPINTVL`,
    /// `TCP_KEEPCNT`; see `Socket.setKeepAlive`). The corresponding C option is `SO_KEEPALIVE` (`int`).
    public static var keepAlive: Self { .flag(solLevel, SO_KEEPALIVE, solLevelName, "SO_KEEPALIVE") }

    /// Receive TCP urgent data inline in the normal stream. The corresponding C option is `SO_OOBINLINE` (`int`).
    public static var outOfBandInline: Self { .flag(solLevel, SO_OOBINLINE, solLevelName, "SO_OOBINLINE") }

    /// Allow `bind` to an address whose port is still held by sockets that are not listening
    /// (TIME_WAIT after a restart). Set it before `bind`. On Linux it helps over TIME_WAIT only
    /// if the old listener had set it too; it never allows two listeners on one port (that is
    /// `SO_REUSEPORT`). The corresponding C option is `SO_REUSEADDR` (`int`).
    public static var reuseAddress: Self {
        .flag(
            solLevel, SO_REUSEADDR, solLevelName, "SO_REUSEADDR",
            note: "set before bind; rebinding over TIME_WAIT needs it on the old listener too")
    }

    /// Let several sockets of the same user bind the same address and port; the kernel spreads
    /// incoming connections or datagrams across them. The corresponding C option is `SO_REUSEPORT` (`int`).
    public static var reusePort: Self {
        .flag(
            solLevel, SO_REUSEPORT, solLevelName, "SO_REUSEPORT",
            note: "every socket sharing the port must set it, same user")
    }

    /// Whether the socket is listening (after `listen`). Read-only.
    /// The corresponding C option is `SO_ACCEPTCONN` (`int`).
    public static var acceptConnections: Self {
        .flag(solLevel, SO_ACCEPTCONN, solLevelName, "SO_ACCEPTCONN", access: .readOnly)
    }
}

extension SocketOption where Value == Int {
    /// The receive buffer size in bytes. Linux doubles the value set (to leave room for its
    /// bookkeeping) and clamps the request to `net.core.rmem_max` first, unless the process has
    /// `CAP_NET_ADMIN` and uses `SO_RCVBUFFORCE`; reading returns the doubled, effective size.
    /// Setting it disables the kernel's receive-buffer auto-tuning for this socket.
    /// The corresponding C option is `SO_RCVBUF` (`int`).
    public static var receiveBufferSize: Self {
        .integer(solLevel, SO_RCVBUF, solLevelName, "SO_RCVBUF", unit: "bytes", note: bufferNote("rmem_max"))
    }

    /// The send buffer size in bytes: doubled and clamped like `receiveBufferSize`, to
    /// `net.core.wmem_max`. The corresponding C option is `SO_SNDBUF` (`int`).
    public static var sendBufferSize: Self {
        .integer(solLevel, SO_SNDBUF, solLevelName, "SO_SNDBUF", unit: "bytes", note: bufferNote("wmem_max"))
    }

    /// The minimum number of bytes a `recv` waits for. The corresponding C option is `SO_RCVLOWAT` (`int`).
    public static var receiveLowWatermark: Self { .integer(solLevel, SO_RCVLOWAT, solLevelName, "SO_RCVLOWAT") }

    /// The queueing priority of outgoing packets, 0-6 (higher needs `CAP_NET_ADMIN`).
    /// The corresponding C option is `SO_PRIORITY` (`int`).
    public static var priority: Self {
        .integer(solLevel, SO_PRIORITY, solLevelName, "SO_PRIORITY", note: "above 6 needs CAP_NET_ADMIN")
    }

    /// The firewall mark of outgoing packets (for policy routing, nftables); setting it needs
    /// `CAP_NET_ADMIN`. The corresponding C option is `SO_MARK` (`unsigned int`).
    public static var mark: Self {
        .integer(solLevel, SO_MARK, solLevelName, "SO_MARK", unsigned: true, note: "setting needs CAP_NET_ADMIN")
    }
}

extension SocketOption where Value == Duration? {
    /// What `close` does with unsent data: nil (off, the default) returns at once and the
    /// kernel still sends it; a duration makes close block up to that long; zero makes close
    /// discard it and reset the connection (RST, no TIME_WAIT).
    /// The corresponding C option is `SO_LINGER` (`struct linger`).
    public static var linger: Self {
        .linger(solLevel, SO_LINGER, solLevelName, "SO_LINGER", note: "0 s: close sends RST")
    }

    /// How long a blocking receive waits before failing with `EAGAIN`; nil waits forever.
    /// The corresponding C option is `SO_RCVTIMEO` (`struct timeval`).
    public static var receiveTimeout: Self { .timeval(solLevel, soReceiveTimeout64, solLevelName, "SO_RCVTIMEO") }

    /// How long a blocking send waits before failing with `EAGAIN`; nil waits forever.
    /// The corresponding C option is `SO_SNDTIMEO` (`struct timeval`).
    public static var sendTimeout: Self { .timeval(solLevel, soSendTimeout64, solLevelName, "SO_SNDTIMEO") }
}

extension SocketOption where Value == String {
    /// Bind the socket to one network interface by name (`""` unbinds). Needs `CAP_NET_RAW` on
    /// kernels before 5.7. The corresponding C option is `SO_BINDTODEVICE` (`char[IFNAMSIZ]`).
    public static var bindToDevice: Self {
        .string(solLevel, SO_BINDTODEVICE, solLevelName, "SO_BINDTODEVICE", capacity: Int(IF_NAMESIZE))
    }
}

extension SocketOption where Value == Errno? {
    /// The pending error, cleared by reading it: after a non-blocking `connect` becomes
    /// writable, `ECONNREFUSED` or nil for success. Read-only.
    /// The corresponding C option is `SO_ERROR` (`int`).
    public static var error: Self {
        SocketOption(
            level: solLevel, name: SO_ERROR, levelName: solLevelName, cName: "SO_ERROR", cType: "int (errno)",
            access: .readOnly, note: "reading clears it", capacity: 4,
            encode: { Socket.bytes(of: $0?.rawValue ?? 0) },
            decode: {
                let code = Socket.int32(from: $0)
                return code == 0 ? nil : Errno(rawValue: code)
            },
            render: { .integer(Int($0?.rawValue ?? 0)) }, describe: { $0?.name ?? "0" })
    }
}

extension SocketOption where Value == SocketType {
    /// The socket type, e.g. `SOCK_STREAM`. Read-only. The corresponding C option is `SO_TYPE` (`int`).
    public static var type: Self {
        SocketOption(
            level: solLevel, name: SO_TYPE, levelName: solLevelName, cName: "SO_TYPE", cType: "int", access: .readOnly,
            capacity: 4, encode: { Socket.bytes(of: $0.rawValue) },
            decode: { SocketType(rawValue: Socket.int32(from: $0)) }, render: { .integer(Int($0.rawValue)) },
            describe: { $0.description })
    }
}

extension SocketOption where Value == SocketDomain {
    /// The address family, e.g. `AF_INET`. Read-only. The corresponding C option is `SO_DOMAIN` (`int`).
    public static var domain: Self {
        SocketOption(
            level: solLevel, name: SO_DOMAIN, levelName: solLevelName, cName: "SO_DOMAIN", cType: "int",
            access: .readOnly,
            capacity: 4, encode: { Socket.bytes(of: $0.rawValue) },
            decode: { SocketDomain(rawValue: Socket.int32(from: $0)) }, render: { .integer(Int($0.rawValue)) },
            describe: { $0.description })
    }
}

extension SocketOption where Value == IPProtocol {
    /// The protocol, e.g. `IPPROTO_TCP`. Read-only. The corresponding C option is `SO_PROTOCOL` (`int`).
    public static var `protocol`: Self {
        SocketOption(
            level: solLevel, name: SO_PROTOCOL, levelName: solLevelName, cName: "SO_PROTOCOL", cType: "int",
            access: .readOnly,
            capacity: 4, encode: { Socket.bytes(of: $0.rawValue) },
            decode: { IPProtocol(rawValue: Socket.int32(from: $0)) }, render: { .integer(Int($0.rawValue)) },
            describe: { $0.description })
    }
}

/// `SO_RCVTIMEO`/`SO_SNDTIMEO`: the `_OLD` numbers take a native `struct timeval` on 64-bit Linux.
private let soReceiveTimeout64: CInt = 20
private let soSendTimeout64: CInt = 21

private func bufferNote(_ sysctl: String) -> String {
    let limit = Sys.readSysctl("net/core/\(sysctl)").map { " (now \($0))" } ?? ""
    return "kernel doubles the value set, after clamping it to net.core.\(sysctl)\(limit)"
}
