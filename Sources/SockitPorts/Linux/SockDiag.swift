import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

// The socket table through NETLINK_SOCK_DIAG (`linux/inet_diag.h`, `linux/sock_diag.h`): what
// `ss` reads. The port and the states are filtered in the kernel: the states by the request's
// bit mask, the port by a bytecode program (INET_DIAG_REQ_BYTECODE), so a query for one port on
// a machine with 10,000 sockets copies only that port's sockets out of the kernel.

/// The socket table read through netlink `SOCK_DIAG_BY_FAMILY` dumps, one per transport and family.
struct SockDiag: SocketTableSource {
    func sockets(_ query: SocketQuery) throws(SocketTableError) -> [PortSocket] {
        let socket = try open()
        defer { try? socket.close() }
        var result: [PortSocket] = []
        var sequence: UInt32 = 1
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        for transport in TransportProtocol.allCases where query.transports.contains(transport) {
            // TCP, both families: one TCPDIAG_GETSOCK dump walks the established hash once for
            // IPv4 and IPv6 together (the family-specific request walks it once per family, and on
            // a large machine that walk is most of the cost). Anything else: one dump per family.
            // A kernel that does not know the old request (EOPNOTSUPP without inet_diag's compat
            // handler, EINVAL for an unknown type) gets the per-family dumps; any other error is
            // an error, so a broken request or reply is never papered over.
            if transport == .tcp && query.families == .both {
                let request = InetDiag.compatRequest(
                    states: TCPState.mask(query.states), port: query.port, localOnly: query.localOnly,
                    sequence: sequence, localPorts: query.localPorts)
                sequence += 1
                do {
                    result += try dump(socket, request, transport: transport, buffer: buffer).filter(query.matches)
                    continue
                } catch {
                    guard let errno = error.errno, errno.rawValue == EOPNOTSUPP || errno.rawValue == EINVAL
                    else { throw error }
                }
            }
            for family in [SocketDomain.ipv4, .ipv6] where query.families.contains(family) {
                let request = InetDiag.request(
                    family: UInt8(family.rawValue), transport: transport, states: TCPState.mask(query.states),
                    port: query.port, localOnly: query.localOnly, sequence: sequence, localPorts: query.localPorts)
                sequence += 1
                result += try dump(socket, request, transport: transport, buffer: buffer).filter(query.matches)
            }
        }
        return result
    }

    /// Sends one dump request and reads the reply up to `NLMSG_DONE`.
    private func dump(
        _ socket: Socket, _ request: [UInt8], transport: TransportProtocol, buffer: UnsafeMutableRawBufferPointer
    )
        throws(SocketTableError) -> [PortSocket]
    {
        try exchange(socket, request, transport: transport, buffer: buffer, keepIdentities: false).sockets
    }

    /// Sends one dump request and parses the reply up to `NLMSG_DONE`.
    private func exchange(
        _ socket: Socket, _ request: [UInt8], transport: TransportProtocol, buffer: UnsafeMutableRawBufferPointer,
        keepIdentities: Bool
    )
        throws(SocketTableError) -> InetDiag.ReplyParser
    {
        let sent = request.withUnsafeBytes { bytes in Result { () throws(SocketError) in try socket.send(bytes) } }
        if case .failure(let error) = sent {
            throw SocketTableError("cannot send the sock_diag request: \(error.errno)", errno: error.errno)
        }
        var parser = InetDiag.ReplyParser(transport: transport)
        parser.keepIdentities = keepIdentities
        while !parser.finished {
            let count: Int
            do {
                count = try socket.receive(into: buffer)
            } catch {
                throw SocketTableError("cannot read the sock_diag reply: \(error.errno)", errno: error.errno)
            }
            if count == 0 { break }
            parser.consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        if let errno = parser.error {
            // ENOENT is what the kernel answers for a family or protocol without a diag handler
            // (NLMSG_ERROR for the family, an NLMSG_DONE status for the protocol).
            throw SocketTableError(
                "the kernel refused the \(transport) sock_diag dump: \(errno)"
                    + (transport == .udp && errno == Errno(rawValue: ENOENT) ? " (udp_diag not loaded)" : ""),
                errno: errno)
        }
        if !parser.finished {
            throw SocketTableError(
                "the \(transport) sock_diag reply ended before NLMSG_DONE", errno: Errno(rawValue: EPROTO))
        }
        return parser
    }

    /// The closed connections bound to `port` locally that no process holds (TIME-WAIT, and
    /// FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK without a file), with their identities.
    func closedConnections(port: UInt16) throws(SocketTableError) -> [(PortSocket, SocketIdentity)] {
        let socket = try open()
        defer { try? socket.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
        defer { buffer.deallocate() }
        let closing: [TCPState] = [.timeWait, .finWait1, .finWait2, .closing, .lastAck]
        let states = closing.reduce(UInt32(0)) { $0 | 1 << UInt32($1.rawValue) }
        var found: [(PortSocket, SocketIdentity)] = []
        for (index, family) in [SocketDomain.ipv4, .ipv6].enumerated() {
            let request = InetDiag.request(
                family: UInt8(family.rawValue), transport: .tcp, states: states, port: port, localOnly: true,
                sequence: UInt32(index + 1))
            let parser = try exchange(socket, request, transport: .tcp, buffer: buffer, keepIdentities: true)
            for (socket, identity) in zip(parser.sockets, parser.identities)
            where socket.local.port == port && socket.isClosedConnection {
                found.append((socket, identity))
            }
        }
        return found
    }

    /// Asks the kernel to destroy one socket (`SOCK_DESTROY`); nil when it did, else its errno:
    /// `EPERM` without `CAP_NET_ADMIN`, `EOPNOTSUPP` on a kernel without
    /// `CONFIG_INET_DIAG_DESTROY`, `ENOENT` when the socket is gone (or another has its ports:
    /// the cookie does not match).
    func destroy(_ identity: SocketIdentity, sequence: UInt32) throws(SocketTableError) -> Errno? {
        let socket = try open()
        defer { try? socket.close() }
        let request = InetDiag.destroyRequest(identity, sequence: sequence)
        let sent = request.withUnsafeBytes { bytes in Result { () throws(SocketError) in try socket.send(bytes) } }
        if case .failure(let error) = sent {
            throw SocketTableError("cannot send the SOCK_DESTROY request: \(error.errno)", errno: error.errno)
        }
        let reply = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { reply.deallocate() }
        let count: Int
        do {
            count = try socket.receive(into: reply)
        } catch {
            throw SocketTableError("cannot read the SOCK_DESTROY reply: \(error.errno)", errno: error.errno)
        }
        let status = InetDiag.acknowledgement(UnsafeRawBufferPointer(rebasing: reply[0..<count]))
        return status == 0 ? nil : Errno(rawValue: status)
    }

    private func open() throws(SocketTableError) -> Socket {
        do {
            return try Socket(.netlink, .datagram, protocol: IPProtocol(rawValue: CInt(NETLINK_SOCK_DIAG)))
        } catch {
            throw SocketTableError("cannot open a NETLINK_SOCK_DIAG socket: \(error.errno)", errno: error.errno)
        }
    }
}
