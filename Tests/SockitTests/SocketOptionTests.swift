import Foundation
import SockitTestSupport
import Testing

@_spi(Fuzzing) @testable import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// One row of the round-trip table: a socket kind, and a body that sets an option to a value
/// different from its initial one and checks what reads back (socket2's `test!` pattern).
struct RoundTrip: CustomTestStringConvertible, Sendable {
    var name: String
    var domain: SocketDomain = .ipv4
    var type: SocketType = .stream
    var check: @Sendable (Socket) throws -> Void

    var testDescription: String { name }

    /// Sets `value` and expects to read `expected` (default: the value), after checking the
    /// initial value differs, so the test cannot pass without the set taking effect.
    static func of<V: Equatable & Sendable>(
        _ option: SocketOption<V>, _ value: V, expect expected: V? = nil, domain: SocketDomain = .ipv4,
        type: SocketType = .stream
    ) -> RoundTrip {
        RoundTrip(name: option.cName, domain: domain, type: type) { socket in
            let initial = try socket.getOption(option)
            let wanted = expected ?? value
            #expect(initial != wanted, "\(option.cName): initial value already \(initial)")
            try socket.setOption(option, value)
            #expect(try socket.getOption(option) == wanted, "\(option.cName)")
        }
    }
}

@Suite("Typed socket options")
struct SocketOptionTests {
    static let roundTrips: [RoundTrip] = [
        .of(.reuseAddress, true),
        .of(.reusePort, true),
        .of(.broadcast, true, type: .datagram),
        .of(.keepAlive, true),
        .of(.receiveLowWatermark, 10),
        .of(.linger, .seconds(5)),
        .of(.linger, .zero),
        .of(.receiveTimeout, .milliseconds(1500)),
        .of(.sendTimeout, .seconds(2)),
        .of(.outOfBandInline, true),
        .of(.dontRoute, true),
        .of(.priority, 5),
        .of(.mark, 42),
        .of(.bindToDevice, "lo"),
        .of(.tcpNoDelay, true),
        .of(.tcpKeepAliveIdle, .seconds(30)),
        .of(.tcpKeepAliveInterval, .seconds(5)),
        .of(.tcpKeepAliveCount, 4),
        .of(.tcpUserTimeout, .milliseconds(1500)),
        .of(.tcpMaxSegmentSize, 1000),
        .of(.tcpCork, true),
        .of(.tcpQuickAck, false),
        .of(.tcpFastOpen, 5),
        // 5 s becomes 3 SYN-ACK retransmissions, which the kernel reports back as 7 s.
        .of(.tcpDeferAccept, .seconds(5), expect: .seconds(7)),
        .of(.tcpNotSentLowWatermark, 16384),
        .of(.tcpCongestion, "reno"),
        .of(.ipTimeToLive, 12),
        .of(.ipTypeOfService, 0x10),
        .of(.ipMulticastTimeToLive, 4, type: .datagram),
        .of(.ipMulticastLoop, false, type: .datagram),
        .of(.ipMulticastInterface, .loopback(port: 0), type: .datagram),
        .of(.ipFreeBind, true),
        .of(.ipv6Only, true, domain: .ipv6),
        .of(.ipv6UnicastHops, 9, domain: .ipv6),
        .of(.ipv6MulticastHops, 3, domain: .ipv6, type: .datagram),
        .of(.ipv6MulticastLoop, false, domain: .ipv6, type: .datagram),
        .of(.ipv6TrafficClass, 0x20, domain: .ipv6),
    ]

    @Test(arguments: roundTrips)
    func setsAndReadsBack(_ roundTrip: RoundTrip) throws {
        let socket = try Socket(roundTrip.domain, roundTrip.type)
        try roundTrip.check(socket)
    }

    @Test func sendBufferIsDoubledLikeReceiveBuffer() throws {
        let socket = try Socket(.ipv4, .stream)
        try socket.setOption(.sendBufferSize, 65536)
        #expect(try socket.getOption(.sendBufferSize) == 131072)
    }

    /// Linux doubles SO_RCVBUF; the typed read, the raw int read and the raw bytes agree.
    @Test func receiveBufferReadsTheDoubledEffectiveValue() throws {
        let socket = try Socket(.ipv4, .stream)
        try socket.setOption(.receiveBufferSize, 65536)
        let typed = try socket.getOption(.receiveBufferSize)
        let raw = try socket.getRawOption(level: SOL_SOCKET, name: SO_RCVBUF)
        let bytes = try socket.getRawOption(level: SOL_SOCKET, name: SO_RCVBUF, capacity: 4)
        #expect(typed == 131072)
        #expect(Int(raw) == typed)
        #expect(bytes == withUnsafeBytes(of: Int32(typed)) { Array($0) })

        // Above net.core.rmem_max the request is clamped first, then doubled.
        let maximum = try #require(readProcInt("/proc/sys/net/core/rmem_max"))
        try socket.setOption(.receiveBufferSize, maximum * 4)
        #expect(try socket.getOption(.receiveBufferSize) == maximum * 2)
    }

    @Test func rawFormSetsAndTypedFormReads() throws {
        let socket = try Socket(.ipv4, .stream)
        try socket.setRawOption(level: SOL_SOCKET, name: SO_KEEPALIVE, value: 1)
        #expect(try socket.getOption(.keepAlive))
        try socket.setRawOption(
            level: CInt(IPPROTO_TCP), name: TCP_KEEPCNT, bytes: withUnsafeBytes(of: Int32(7)) { Array($0) })
        #expect(try socket.getOption(.tcpKeepAliveCount) == 7)
        try socket.setOption(.ipTimeToLive, 33)
        #expect(try socket.getRawOption(level: CInt(IPPROTO_IP), name: IP_TTL) == 33)
    }

    @Test func keepAliveConvenienceSetsAllFour() throws {
        let socket = try Socket(.ipv4, .stream)
        try socket.setKeepAlive(idle: .seconds(20), interval: .seconds(3), count: 5)
        #expect(try socket.getOption(.keepAlive))
        #expect(try socket.getOption(.tcpKeepAliveIdle) == .seconds(20))
        #expect(try socket.getOption(.tcpKeepAliveInterval) == .seconds(3))
        #expect(try socket.getOption(.tcpKeepAliveCount) == 5)
    }

    @Test func multicastMembershipJoinsAndLeaves() throws {
        let socket = try Socket(.ipv4, .datagram)
        let membership = IPv4Membership(group: .init(octets: 239, 1, 2, 3, port: 0), interface: .loopback(port: 0))
        // Leaving a group never joined fails: so a successful leave proves the join happened.
        #expect(throws: SocketError.self) { try socket.setOption(.ipDropMembership, membership) }
        try socket.setOption(.ipAddMembership, membership)
        try socket.setOption(.ipDropMembership, membership)
    }

    @Test func ipv6MulticastMembershipJoinsAndLeaves() throws {
        let socket = try Socket(.ipv6, .datagram)
        let group = try #require(try SocketAddress("[ff02::1:3]:0").ipv6)
        let membership = IPv6Membership(group: group, interfaceIndex: if_nametoindex("lo"))
        #expect(throws: SocketError.self) { try socket.setOption(.ipv6LeaveGroup, membership) }
        try socket.setOption(.ipv6JoinGroup, membership)
        try socket.setOption(.ipv6LeaveGroup, membership)
    }

    // MARK: Read-only options

    @Test func typeDomainAndProtocolOfAStreamSocket() throws {
        let socket = try Socket(.ipv6, .stream)
        #expect(try socket.getOption(.type) == .stream)
        #expect(try socket.getOption(.domain) == .ipv6)
        #expect(try socket.getOption(.protocol) == .tcp)
        let udp = try Socket(.ipv4, .datagram)
        #expect(try udp.getOption(.type) == .datagram)
        #expect(try udp.getOption(.protocol) == .udp)
    }

    @Test func acceptConnectionsAfterListen() throws {
        let socket = try Socket(.ipv4, .stream)
        try socket.bind(to: .ipv4(.loopback(port: 0)))
        #expect(try socket.getOption(.acceptConnections) == false)
        try socket.listen()
        #expect(try socket.getOption(.acceptConnections))
    }

    @Test func pendingErrorIsConnectionRefusedAfterARefusedConnect() throws {
        // A port that nothing listens on: bound, read back, closed.
        let placeholder = try Socket(.ipv4, .stream)
        try placeholder.bind(to: .ipv4(.loopback(port: 0)))
        let closedAddress = try placeholder.localAddress()
        try placeholder.close()

        let client = try Socket(.ipv4, .stream, nonBlocking: true)
        let done = try client.connectNonBlocking(to: closedAddress)
        #expect(!done)
        #expect(try client.poll(for: Int16(POLLOUT), timeout: .seconds(5)))
        #expect(try client.getOption(.error) == .connectionRefused)
        #expect(try client.getOption(.error) == nil, "reading SO_ERROR clears it")
    }

    /// `TCP_INFO` decoded field by field agrees with `ss -ti`, which reads the same struct over
    /// netlink (`INET_DIAG_INFO`) and parses it on its own: a wrong offset gives a wrong number.
    @Test func tcpInfoAgreesWithSS() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let client = try Socket(.ipv4, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let (server, _) = try listener.accept()
        try client.sendAll(Array("hello".utf8))
        #expect(try server.receive(maxBytes: 5) == Array("hello".utf8))
        let clientPort = try #require(try client.localAddress().port)

        // The ACK of the data may be delayed: read until two readings agree on every field
        // compared, with ss's in between (bounded).
        var agreed = false
        for _ in 0..<50 where !agreed {
            let before = try client.getOption(.tcpInfo)
            let fields = try Self.ssInfo(port: clientPort, peer: try #require(address.port))
            let after = try client.getOption(.tcpInfo)
            guard before == after else { continue }
            agreed = true
            #expect(after.state == .established)
            #expect(fields["rto"].map { Double($0) } == Double(after.rto) / 1000, "rto \(after.rto) µs vs \(fields)")
            #expect(fields["mss"] == String(after.sendMSS))
            #expect(fields["rcvmss"] == String(after.receiveMSS))
            #expect(fields["advmss"] == String(after.advertisedMSS))
            #expect(fields["pmtu"] == String(after.pathMTU))
            #expect(fields["cwnd"] == String(after.sendCongestionWindow))
            #expect(fields["bytes_sent"] == String(after.bytesSent))
            #expect(fields["bytes_acked"] == String(after.bytesAcked))
            #expect(fields["segs_out"] == String(after.segmentsOut))
            #expect(fields["segs_in"] == String(after.segmentsIn))
            #expect(fields["minrtt"].flatMap(Double.init).map { Int(($0 * 1000).rounded()) } == Int(after.minRTT))
        }
        #expect(agreed, "TCP_INFO never stayed still for one ss run")
        // What this test did, exactly: 5 bytes sent, 5 received, plus the SYN that bytes_acked counts.
        let info = try client.getOption(.tcpInfo)
        #expect(info.bytesSent == 5)
        #expect(info.bytesAcked == 6)
        #expect(try server.getOption(.tcpInfo).bytesReceived == 5)
        #expect(try listener.getOption(.tcpInfo).state == .listen)
    }

    /// `ss -tinH` for the established socket from local port `port` to `peer`: its `key:value`
    /// words. Both ports: Linux gives one local port to connections to different peers.
    static func ssInfo(port: UInt16, peer: UInt16) throws -> [String: String] {
        let filter = ["sport", "=", ":\(port)", "and", "dport", "=", ":\(peer)"]
        let run = try TestSupport.run("/usr/bin/ss", ["-tinH", "state", "established"] + filter, timeout: .seconds(10))
        try #require(run.stdout.split(separator: "\n").count == 2, "not one socket: \(run.stdout)")
        try #require(run.status == 0, "ss: \(run.stderr)")
        var fields: [String: String] = [:]
        for word in run.stdout.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            guard let colon = word.firstIndex(of: ":"), !word.contains("(") else { continue }
            let key = String(word[..<colon])
            let value = String(word[word.index(after: colon)...])
            if key == "rtt" { continue }
            fields[key] = value
        }
        return fields
    }

    // MARK: Options the kernel lacks or refuses

    @Test func anOptionTheKernelLacksFailsWithAClearError() throws {
        let madeUp = SocketOption<Int>.integer(SOL_SOCKET, 9999, "SOL_SOCKET", "SO_MADE_UP")
        let socket = try Socket(.ipv4, .stream)
        let error = try #require(throws: SocketError.self) { try socket.setOption(madeUp, 1) }
        #expect(error.errno == .protocolNotAvailable)
        #expect(error.description.hasPrefix("cannot set SO_MADE_UP: protocol not available (ENOPROTOOPT, errno 92)"))
        #expect(error.description.contains("does not support SO_MADE_UP"))
        #expect(throws: SocketError.self) { try socket.getOption(madeUp) }
    }

    @Test func aTCPOptionOnAUDPSocketIsExplained() throws {
        let socket = try Socket(.ipv4, .datagram)
        let error = try #require(throws: SocketError.self) { try socket.setOption(.tcpNoDelay, true) }
        #expect(error.option == "TCP_NODELAY")
        #expect(error.explanation.contains { $0.contains("a TCP option on a UDP socket") })
    }

    @Test func readOnlyOptionsCannotBeSet() throws {
        let socket = try Socket(.ipv4, .stream)
        let error = try #require(throws: SocketError.self) { try socket.setOption(.acceptConnections, true) }
        #expect(error.description.contains("SO_ACCEPTCONN is read-only"))
    }

    // MARK: Decoding bytes the kernel did not write (found by fuzzing: Fuzz/, target options)

    /// 64-bit TCP_INFO counters past Int.max trapped when rendered (`sockit options`).
    @Test func tcpInfoCountersPastIntMaxRenderClamped() throws {
        let info = TCPInfo(bytes: [UInt8](repeating: 0xff, count: 256))
        #expect(info.bytesAcked == .max)
        guard case .fields(let fields) = info.optionValue else {
            Issue.record("TCP_INFO renders as \(info.optionValue)")
            return
        }
        #expect(fields.first { $0.name == "bytes_acked" }?.value == .integer(.max))
        #expect(fields.first { $0.name == "bytes_received" }?.value == .integer(.max))
    }

    /// A timeval of Int.max seconds plus microseconds made `Duration.secondsValue` trap
    /// (`Duration.components` cannot give seconds past Int64.max).
    @Test func timevalPastInt64MaxSecondsRenders() throws {
        let option = try #require(SocketOptionCatalog.all.first { $0.cName == "SO_RCVTIMEO" })
        let bytes = withUnsafeBytes(of: Int.max) { Array($0) } + withUnsafeBytes(of: 999_999) { Array($0) }
        guard case .seconds(let seconds) = try option.value(decoding: bytes) else {
            Issue.record("SO_RCVTIMEO renders as \(try option.value(decoding: bytes))")
            return
        }
        #expect(seconds >= Double(Int.max))
        #expect((Duration.seconds(Int64.max) + .seconds(5)).secondsValue >= Double(Int64.max))
        #expect(Duration.milliseconds(1500).secondsValue == 1.5, "ordinary durations as before")
    }

    /// A timeval or linger with a negative field is nothing the kernel returns: decoding it
    /// fails with EINVAL naming the option, instead of a negative duration (which printed as
    /// `-9.2e+18 s`, and as a timeout meant "at once"). Setting a negative time fails the same way
    /// before any syscall, instead of silently meaning "forever".
    @Test func negativeTimesAreRefusedBothWays() throws {
        let sendTimeout = try #require(SocketOptionCatalog.all.first { $0.cName == "SO_SNDTIMEO" })
        for (seconds, microseconds) in [(Int.min, Int.min), (-1, 0), (0, -1), (1, 1_000_000)] {
            let bytes = withUnsafeBytes(of: seconds) { Array($0) } + withUnsafeBytes(of: microseconds) { Array($0) }
            let error = try #require(throws: SocketError.self) { try sendTimeout.value(decoding: bytes) }
            #expect(error.errno == .invalidArgument && error.option == "SO_SNDTIMEO", "\(error)")
        }
        let linger = try #require(SocketOptionCatalog.all.first { $0.cName == "SO_LINGER" })
        let negative = withUnsafeBytes(of: Int32(1)) { Array($0) } + withUnsafeBytes(of: Int32(-5)) { Array($0) }
        #expect(throws: SocketError.self) { try linger.value(decoding: negative) }
        let five = withUnsafeBytes(of: Int32(1)) { Array($0) } + withUnsafeBytes(of: Int32(5)) { Array($0) }
        #expect(try linger.value(decoding: five) == .seconds(5))

        let socket = try Socket(.ipv4, .stream)
        for option in [SocketOption<Duration?>.receiveTimeout, .sendTimeout, .linger] {
            let error = try #require(throws: SocketError.self) { try socket.setOption(option, .seconds(-1)) }
            #expect(error.errno == .invalidArgument && error.option == option.cName, "\(error)")
            #expect(try socket.getOption(option) == nil, "\(option.cName) left as it was")
        }
        #expect(SocketOptionValue.seconds(1e19).description == "1e+19 s")
        #expect(SocketOptionValue.seconds(30).description == "30 s")
        #expect(SocketOptionValue.seconds(0.25).description == "0.25 s")
    }

    /// Every codec takes bytes of any length, as `getsockopt` may return fewer than asked for.
    @Test(arguments: [0, 1, 3, 4, 8, 16, 104, 256])
    func everyCodecDecodesBytesOfAnyLength(count: Int) throws {
        for fill: UInt8 in [0, 0xff] {
            let bytes = [UInt8](repeating: fill, count: count)
            // 0xff bytes make a negative timeval or linger, which is refused: anything but a crash.
            for option in SocketOptionCatalog.all { _ = (try? option.value(decoding: bytes))?.description }
        }
        let reuseAddress = SocketOptionCatalog.all.first { $0.cName == "SO_REUSEADDR" }
        #expect(
            try reuseAddress?.value(decoding: count >= 4 ? [1] + [UInt8](repeating: 0, count: count - 1) : [])
                == .bool(count >= 4))
    }

    /// The catalogue is every `public static var` key of `Sources/Sockit/SocketOptions+*.swift`,
    /// each once (by its C name, the first capitalised string literal of its declaration), in level
    /// order and sorted by C name within a level.
    @Test func catalogueHasEveryDeclaredKeyOnce() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Sockit").standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: sources.path)
            .filter { $0.hasPrefix("SocketOptions+") && $0.hasSuffix(".swift") }
        #expect(files.count == 4, "\(files)")
        let key = try Regex(#"public static var `?(\w+)`?: Self"#)
        let cName = try Regex(#""([A-Z][A-Z0-9_]+)""#)
        var declared: [String: String] = [:]  // C name: key
        for file in files {
            let text = try String(contentsOf: sources.appendingPathComponent(file), encoding: .utf8)
            let matches = text.matches(of: key)
            for (index, match) in matches.enumerated() {
                let end = index + 1 < matches.count ? matches[index + 1].range.lowerBound : text.endIndex
                let name = try #require(text[match.range.upperBound..<end].firstMatch(of: cName)?.output[1].substring)
                #expect(
                    declared.updateValue("\(file): \(match.output[1].substring ?? "")", forKey: String(name)) == nil)
            }
        }
        let listed = SocketOptionCatalog.all.map(\.cName)
        #expect(declared.count >= 48)
        #expect(Set(listed).count == listed.count, "listed once each")
        for (name, key) in declared.sorted(by: { $0.key < $1.key }) {
            #expect(listed.contains(name), "\(key) (\(name)) is missing from SocketOptionCatalog")
        }
        for name in listed { #expect(declared[name] != nil, "\(name) is listed but declared by no key") }
        let levels = SocketOptionCatalog.all.map(\.levelName)
        #expect(levels.first == "SOL_SOCKET" && levels.last == "IPPROTO_IPV6")
        for (first, second) in zip(SocketOptionCatalog.all, SocketOptionCatalog.all.dropFirst())
        where first.level == second.level {
            #expect(first.cName < second.cName, "sorted by C name within \(first.levelName)")
        }
    }

    /// The keys say how their values read: the table of `sockit options` prints these.
    @Test func keysDescribeTheirValues() {
        #expect(SocketOption.receiveBufferSize.text(for: 131_072) == "131072 bytes")
        #expect(SocketOption.sendBufferSize.text(for: 4096) == "4096 bytes")
        #expect(SocketOption.ipTimeToLive.text(for: 64) == "64")
        #expect(SocketOption.error.text(for: nil) == "0")
        #expect(SocketOption.error.text(for: .connectionRefused) == "ECONNREFUSED")
        #expect(SocketOption.type.text(for: .datagram) == "SOCK_DGRAM")
        #expect(SocketOption.domain.text(for: .ipv6) == "AF_INET6")
        #expect(SocketOption.protocol.text(for: .tcp) == "IPPROTO_TCP")
        #expect(SocketOption.reuseAddress.text(for: true) == "1 (on)")
    }
}

func readProcInt(_ path: String) -> Int? {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
}

extension SocketAddress {
    var ipv6: SocketAddress.IPv6? {
        if case .ipv6(let address) = self { return address }
        return nil
    }
}
