#if canImport(Glibc)
import Glibc
#endif

extension SocketError {
    /// What an errno means in the context of a call, and what to do about it.
    static func explain(
        syscall: String, errno: Errno, address: SocketAddress?, option: String?, socketType: SocketType?,
        reuseAddressWasSet: Bool?
    ) -> (explanation: [String], remedies: [Remedy]) {
        let port = address?.port ?? 0
        switch (syscall, errno) {
        case ("bind", .addressInUse):
            if socketType == .datagram {
                return (
                    ["another UDP socket is bound to this address; UDP has no TIME_WAIT, so a process holds it"],
                    [.findHolder(port: port, datagram: true)]
                )
            }
            if reuseAddressWasSet == true {
                return (
                    [
                        "SO_REUSEADDR is set, so a live socket listens on or is bound to this port, or the TIME_WAIT "
                            + "connections come from a listener that did not set SO_REUSEADDR (then wait up to 60 s)"
                    ],
                    [.findHolder(port: port, datagram: false), .stopHolder(port: port)]
                )
            }
            return (
                [
                    "this socket did not set SO_REUSEADDR: if no process listens on the port, it is held by "
                        + "connections in TIME_WAIT, which Linux keeps for 60 s after the side that closed first",
                    "SO_REUSEADDR rebinds over them when the old listener set it too; a server that still listens "
                        + "holds the port whatever is set",
                ],
                [.setReuseAddress, .findHolder(port: port, datagram: false)]
            )
        case ("bind", .permissionDenied) where (address?.port ?? 1024) < 1024:
            return (
                ["ports below 1024 are privileged on Linux"],
                [
                    .useUnprivilegedPort, .grantCapability("CAP_NET_BIND_SERVICE"),
                    .lowerUnprivilegedPortStart(current: Sys.readSysctl("net/ipv4/ip_unprivileged_port_start")),
                ]
            )
        case ("sendto", .permissionDenied), ("send", .permissionDenied), ("sendmsg", .permissionDenied),
            ("connect", .permissionDenied):
            return (["sending to a broadcast address needs SO_BROADCAST"], [.setBroadcast])
        case ("bind", .permissionDenied):
            return (
                ["this user may not bind there (a Unix path in a directory it cannot write, or a security policy)"], []
            )
        case ("bind", .addressNotAvailable):
            return (
                ["\(address.map { "\($0.host)" } ?? "the address") is not an address of this machine"],
                [.bindLocalAddress]
            )
        case ("connect", .addressNotAvailable):
            return (
                [
                    "no local port is left for an outgoing connection to this address, or the local address is gone",
                    "many connections in TIME_WAIT use up net.ipv4.ip_local_port_range",
                ],
                [.advice("reuse connections, or widen net.ipv4.ip_local_port_range")]
            )
        case (_, .connectionRefused):
            if socketType == .datagram {
                return (["nothing listens there: an ICMP port-unreachable came back for an earlier datagram"], [])
            }
            return (
                [
                    "nothing listens on \(address.map { "\($0)" } ?? "that address"), "
                        + "or a firewall rejects the connection"
                ],
                address?.port == nil ? [] : [.findHolder(port: port, datagram: false)]
            )
        case (_, .timedOut):
            return (
                [
                    "no answer from \(address.map { "\($0)" } ?? "the peer") in time: a firewall drops the packets, "
                        + "the host is down, or the network is unreachable"
                ],
                [.allowMoreTime]
            )
        case (_, .connectionReset):
            return (["the peer closed the connection abruptly (RST): it crashed, was killed, or refused the data"], [])
        case ("setsockopt", .protocolNotAvailable), ("getsockopt", .protocolNotAvailable):
            return (
                [
                    "this kernel or this kind of socket does not support \(option ?? "the option")",
                    "an option must fit the socket (a TCP option on a UDP socket fails) and the kernel version",
                ],
                []
            )
        case ("setsockopt", .invalidArgument):
            return (
                [
                    "the kernel rejected the value of \(option ?? "the option"): out of range, "
                        + "or not valid for this kind of socket or its state"
                ],
                []
            )
        case ("setsockopt", .notPermitted), ("setsockopt", .permissionDenied):
            return (
                [
                    "\(option ?? "this option") needs a capability this process lacks: CAP_NET_ADMIN "
                        + "(SO_MARK, SO_PRIORITY above 6, SO_RCVBUFFORCE) or CAP_NET_RAW"
                ],
                [.grantCapability("CAP_NET_ADMIN")]
            )
        case ("setsockopt", .noSuchDevice):
            return (["no network interface has that name: `ip link` lists them"], [])
        case (_, .tooManyOpenFiles):
            let current = Sys.openFileLimit()
            return (
                ["this process has reached its limit of open files\(current.map { " (now \($0))" } ?? "")"],
                [.raiseOpenFileLimit(current: current)]
            )
        case (_, .tooManyOpenFilesInSystem):
            return (["the whole system has reached its limit of open files (fs.file-max)"], [])
        case (_, .addressFamilyNotSupported):
            return (["this machine does not support that address family (IPv6 disabled?)"], [])
        case (_, .networkUnreachable):
            return (["no route to that network from this machine"], [])
        case (_, .brokenPipe):
            return (["the peer has closed the connection; nothing more can be sent"], [])
        case (_, .notConnected):
            return (["the socket is not connected"], [])
        default:
            return ([], [])
        }
    }
}
