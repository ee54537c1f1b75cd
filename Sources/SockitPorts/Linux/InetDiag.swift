import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The inet_diag wire format: the request, the bytecode filter and the reply parser. Pure
/// functions of bytes, so the parser can be fed anything (and fuzzed: the reply parser is
/// `@_spi(Fuzzing)` for `Fuzz/`).
@_spi(Fuzzing) public enum InetDiag {
    static let sockDiagByFamily: UInt16 = 20  // SOCK_DIAG_BY_FAMILY
    static let sockDestroy: UInt16 = 21  // SOCK_DESTROY
    static let tcpDiagGetSock: UInt16 = 18  // TCPDIAG_GETSOCK, the original inet_diag request
    static let messageDone: UInt16 = 3  // NLMSG_DONE
    static let messageError: UInt16 = 2  // NLMSG_ERROR
    static let headerSize = 16  // struct nlmsghdr
    static let messageSize = 72  // struct inet_diag_msg

    /// An `inet_diag_req_v2` dump request, with a bytecode filter on the port when one is given.
    static func request(
        family: UInt8, transport: TransportProtocol, states: UInt32, port: UInt16?, localOnly: Bool, sequence: UInt32,
        localPorts: ClosedRange<UInt16>? = nil
    ) -> [UInt8] {
        let body: [UInt8] =
            [family, UInt8(transport == .tcp ? IPPROTO_TCP : IPPROTO_UDP), 0, 0] + le32(states)
            + [UInt8](repeating: 0, count: 48)  // struct inet_diag_sockid: match any
        return dumpMessage(
            type: sockDiagByFamily, body: body, port: port, localOnly: localOnly, sequence: sequence,
            localPorts: localPorts)
    }

    /// A TCPDIAG_GETSOCK dump request (`struct inet_diag_req`, the interface before
    /// `inet_diag_req_v2`): the kernel answers it for both address families in one walk.
    static func compatRequest(
        states: UInt32, port: UInt16?, localOnly: Bool, sequence: UInt32, localPorts: ClosedRange<UInt16>? = nil
    ) -> [UInt8] {
        let body: [UInt8] =
            [0, 0, 0, 0]  // idiag_family (ignored: AF_UNSPEC), idiag_src_len, idiag_dst_len, idiag_ext
            + [UInt8](repeating: 0, count: 48)  // struct inet_diag_sockid: match any
            + le32(states) + le32(0)  // idiag_states, idiag_dbs
        return dumpMessage(
            type: tcpDiagGetSock, body: body, port: port, localOnly: localOnly, sequence: sequence,
            localPorts: localPorts)
    }

    /// `nlmsghdr` (a dump request) + `body` + the port's bytecode filter as an
    /// INET_DIAG_REQ_BYTECODE attribute, when a port is given.
    private static func dumpMessage(
        type: UInt16, body: [UInt8], port: UInt16?, localOnly: Bool, sequence: UInt32,
        localPorts: ClosedRange<UInt16>? = nil
    )
        -> [UInt8]
    {
        let bytecode = port.map { filter(port: $0, localOnly: localOnly) } ?? localPorts.map(filter(localPorts:)) ?? []
        let attribute = bytecode.isEmpty ? [] : le16(UInt16(4 + bytecode.count)) + le16(1) + bytecode
        let total = headerSize + body.count + attribute.count
        let flags = UInt16(NLM_F_REQUEST) | UInt16(NLM_F_DUMP)
        return le32(UInt32(total)) + le16(type) + le16(flags) + le32(sequence) + le32(0) + body + attribute
    }

    /// The bytecode for "source port == port" (or "source port == port || destination port ==
    /// port"), laid out as `ss` compiles `sport = :P or dport = :P`: each comparison is an
    /// `inet_diag_bc_op` followed by one carrying the port; `yes`/`no` are byte offsets forward;
    /// reaching the end exactly accepts, jumping 4 past it rejects.
    static func filter(port: UInt16, localOnly: Bool) -> [UInt8] {
        func op(_ code: Int32, _ yes: UInt8, _ no: UInt16) -> [UInt8] { [UInt8(code), yes] + le16(no) }
        let source = op(Int32(INET_DIAG_BC_S_EQ), 8, 12) + op(0, 0, port)
        if localOnly { return source }
        // S_EQ (yes: on to the JMP, which accepts; no: to D_EQ), JMP to the end, D_EQ.
        return source + op(Int32(INET_DIAG_BC_JMP), 4, 12) + op(Int32(INET_DIAG_BC_D_EQ), 8, 12) + op(0, 0, port)
    }

    /// The bytecode for "lower <= source port <= upper": S_GE then S_LE, each followed by the
    /// op that carries its port; a failed comparison jumps 4 past the end (reject).
    static func filter(localPorts range: ClosedRange<UInt16>) -> [UInt8] {
        func op(_ code: Int32, _ yes: UInt8, _ no: UInt16) -> [UInt8] { [UInt8(code), yes] + le16(no) }
        return op(Int32(INET_DIAG_BC_S_GE), 8, 20) + op(0, 0, range.lowerBound)
            + op(Int32(INET_DIAG_BC_S_LE), 8, 12) + op(0, 0, range.upperBound)
    }

    /// Reads netlink datagrams of one dump and collects the sockets until `NLMSG_DONE`.
    public struct ReplyParser {
        public let transport: TransportProtocol
        public private(set) var sockets: [PortSocket] = []
        /// Each socket's identity in the kernel, in the order of `sockets`, when asked for.
        private(set) var identities: [SocketIdentity] = []
        var keepIdentities = false
        public private(set) var finished = false
        /// The error the kernel answered with (`NLMSG_ERROR`, or a negative `NLMSG_DONE` status).
        public private(set) var error: Errno?

        public init(transport: TransportProtocol) { self.transport = transport }

        /// Parses one datagram. Malformed input ends the dump with `EPROTO`; nothing here traps.
        public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
            var offset = 0
            while !finished && offset + InetDiag.headerSize <= bytes.count {
                let length = Int(readLE32(bytes, offset))
                let type = readLE16(bytes, offset + 4)
                guard length >= InetDiag.headerSize, length <= bytes.count - offset else {
                    fail(EPROTO)
                    return
                }
                let payload = UnsafeRawBufferPointer(
                    rebasing: bytes[(offset + InetDiag.headerSize)..<(offset + length)])
                switch type {
                // The status is a negative errno. Negated with wrapping: -Int32.min would trap, and
                // wraps to a negative code, which `fail` reports as EPROTO.
                case InetDiag.messageDone:
                    if payload.count >= 4, Int32(bitPattern: readLE32(payload, 0)) < 0 {
                        fail(0 &- Int32(bitPattern: readLE32(payload, 0)))
                    }
                    finished = true
                case InetDiag.messageError:
                    let code = payload.count >= 4 ? 0 &- Int32(bitPattern: readLE32(payload, 0)) : EPROTO
                    if code != 0 { fail(code) } else { finished = true }
                case InetDiag.sockDiagByFamily, InetDiag.tcpDiagGetSock:
                    if let socket = InetDiag.socket(from: payload, transport: transport) {
                        sockets.append(socket)
                        if keepIdentities { identities.append(SocketIdentity(message: payload)) }
                    }
                default:
                    break  // NLMSG_NOOP, NLMSG_OVERRUN: skip
                }
                offset += (length + 3) & ~3
            }
        }

        private mutating func fail(_ code: Int32) {
            error = Errno(rawValue: code > 0 ? code : EPROTO)
            finished = true
        }
    }

    /// One `struct inet_diag_msg`; nil when too short or of an unknown family or state.
    public static func socket(from bytes: UnsafeRawBufferPointer, transport: TransportProtocol) -> PortSocket? {
        guard bytes.count >= messageSize, let state = TCPState(rawValue: bytes[1]) else { return nil }
        let family = CInt(bytes[0])
        let sourcePort = readBE16(bytes, 4)
        let destinationPort = readBE16(bytes, 6)
        let local: SocketAddress
        let remote: SocketAddress
        switch family {
        case AF_INET:
            local = .ipv4(.init(octets: bytes[8], bytes[9], bytes[10], bytes[11], port: sourcePort))
            remote = .ipv4(.init(octets: bytes[24], bytes[25], bytes[26], bytes[27], port: destinationPort))
        case AF_INET6:
            // idiag_if is the bound interface: the scope of a link-local address (fe80::/10).
            let interface = readLE32(bytes, 40)
            let localScope = bytes[8] == 0xfe && bytes[9] & 0xc0 == 0x80 ? interface : 0
            let remoteScope = bytes[24] == 0xfe && bytes[25] & 0xc0 == 0x80 ? interface : 0
            local = .ipv6(.init(bytes: Array(bytes[8..<24]), port: sourcePort, scopeID: localScope))
            remote = .ipv6(.init(bytes: Array(bytes[24..<40]), port: destinationPort, scopeID: remoteScope))
        default:
            return nil
        }
        let timer = bytes[2]
        let expires = Int(readLE32(bytes, 52))
        let unconnected = destinationPort == 0 && remote.isUnspecified
        return PortSocket(
            transport: transport, state: state, local: local, remote: unconnected ? nil : remote,
            uid: readLE32(bytes, 64), inode: UInt64(readLE32(bytes, 68)),
            timerMilliseconds: timer == 0 ? nil : expires, timerKind: timerName(timer))
    }

    /// A `SOCK_DESTROY` request for one socket (`inet_diag_req_v2` with its exact
    /// `inet_diag_sockid`, cookie included), acknowledged (`NLM_F_ACK`): the kernel aborts it
    /// (`tcp_abort`; a TIME-WAIT entry is descheduled), or answers why not.
    static func destroyRequest(_ identity: SocketIdentity, sequence: UInt32) -> [UInt8] {
        let body: [UInt8] =
            [identity.family, UInt8(IPPROTO_TCP), 0, 0] + le32(0xFFFF_FFFF) + identity.socketID
        let flags = UInt16(NLM_F_REQUEST) | UInt16(NLM_F_ACK)
        return le32(UInt32(headerSize + body.count)) + le16(sockDestroy) + le16(flags) + le32(sequence) + le32(0)
            + body
    }

    /// The status of an acknowledgement (`NLMSG_ERROR`: 0 for success, else the errno); EPROTO
    /// when `bytes` is not one.
    static func acknowledgement(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        guard bytes.count >= headerSize + 4, readLE16(bytes, 4) == messageError else { return EPROTO }
        return 0 &- Int32(bitPattern: readLE32(bytes, headerSize))
    }

    /// `idiag_timer`: 1 retransmit, 2 keep-alive, 3 TIME-WAIT, 4 zero-window probe.
    static func timerName(_ code: UInt8) -> String? {
        switch code {
        case 1: return "retrans"
        case 2: return "keepalive"
        case 3: return "timewait"
        case 4: return "probe"
        default: return nil
        }
    }
}

/// A socket as the kernel finds it again: its family and its `inet_diag_sockid` (ports,
/// addresses, interface and the cookie that tells it apart from a later socket on the same ports).
struct SocketIdentity: Sendable, Hashable {
    var family: UInt8
    /// The 48 bytes of `struct inet_diag_sockid`, as the dump gave them.
    var socketID: [UInt8]

    /// From a `struct inet_diag_msg` (family at 0, the id at 4).
    init(message bytes: UnsafeRawBufferPointer) {
        family = bytes[0]
        socketID = Array(bytes[4..<52])
    }
}

// Netlink integers are in host byte order (little-endian on every Linux Swift targets); ports
// and addresses in `inet_diag_sockid` are big-endian.
@inline(__always) func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xff), UInt8(value >> 8)] }
@inline(__always) func le32(_ value: UInt32) -> [UInt8] {
    [UInt8(value & 0xff), UInt8((value >> 8) & 0xff), UInt8((value >> 16) & 0xff), UInt8(value >> 24)]
}
@inline(__always) func readLE16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
    UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
}
@inline(__always) func readLE32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
        | UInt32(bytes[offset + 3]) << 24
}
@inline(__always) func readBE16(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
    UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
}
