import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The `/proc/net/tcp` text format (`tcp4_seq_show` in `net/ipv4/tcp_ipv4.c`): one socket per
/// line after a header,
/// `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …`,
/// addresses as the hex of native-order 32-bit words, ports and states in hex, the timer in
/// clock ticks. Malformed lines are skipped; nothing here traps (`@_spi(Fuzzing)` for `Fuzz/`).
@_spi(Fuzzing) public enum ProcNet {
    public static func parse(
        _ bytes: [UInt8], transport: TransportProtocol, ticksPerSecond: Int = clockTicks
    ) -> [PortSocket] {
        var result: [PortSocket] = []
        var lineStart = 0
        var first = true
        bytes.withUnsafeBufferPointer { buffer in
            for index in 0...buffer.count where index == buffer.count || buffer[index] == UInt8(ascii: "\n") {
                defer { lineStart = index + 1 }
                if first {
                    first = false
                    continue
                }  // the header
                guard index > lineStart else { continue }
                let line = UnsafeBufferPointer(rebasing: buffer[lineStart..<index])
                if let socket = parseLine(line, transport: transport, ticksPerSecond: ticksPerSecond) {
                    result.append(socket)
                }
            }
        }
        return result
    }

    public static var clockTicks: Int { PortSys.clockTicks }

    private static func parseLine(
        _ line: UnsafeBufferPointer<UInt8>, transport: TransportProtocol, ticksPerSecond: Int
    )
        -> PortSocket?
    {
        // Fields split on spaces and colons would mix addresses and ports; split on spaces only.
        var fields: [UnsafeBufferPointer<UInt8>] = []
        var start = -1
        for index in 0...line.count {
            let isSpace = index == line.count || line[index] == UInt8(ascii: " ")
            if isSpace {
                if start >= 0 {
                    fields.append(UnsafeBufferPointer(rebasing: line[start..<index]))
                    start = -1
                }
                if fields.count == 10 { break }
            } else if start < 0 {
                start = index
            }
        }
        guard fields.count >= 10,
            let local = address(fields[1]), let remote = address(fields[2]),
            let stateCode = hex(fields[3]), stateCode <= 0xff, let state = TCPState(rawValue: UInt8(stateCode)),
            let uid = decimal(fields[7]), uid <= UInt64(UInt32.max), let inode = decimal(fields[9])
        else { return nil }
        // "tr:tm->when": the timer kind and the ticks until it fires.
        var timer: Int?
        var timerKind: String?
        let timerField = fields[5]
        if let colon = timerField.firstIndex(of: UInt8(ascii: ":")),
            let kind = hex(UnsafeBufferPointer(rebasing: timerField[..<colon])), kind > 0, kind <= 4,
            let ticks = hex(UnsafeBufferPointer(rebasing: timerField[(colon + 1)...])), ticks < 1 << 40
        {
            timer = Int(ticks) * 1000 / ticksPerSecond
            timerKind = InetDiag.timerName(UInt8(kind))
        }
        let unconnected = remote.port == 0 && remote.isUnspecified
        return PortSocket(
            transport: transport, state: state, local: local, remote: unconnected ? nil : remote, uid: UInt32(uid),
            inode: inode, timerMilliseconds: timer, timerKind: timerKind)
    }

    /// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6).
    private static func address(_ field: UnsafeBufferPointer<UInt8>) -> SocketAddress? {
        guard let colon = field.firstIndex(of: UInt8(ascii: ":")),
            let port = hex(UnsafeBufferPointer(rebasing: field[(colon + 1)...])), port <= 0xffff
        else { return nil }
        let host = UnsafeBufferPointer(rebasing: field[..<colon])
        switch host.count {
        case 8:
            guard let word = hex(host) else { return nil }
            return .ipv4(.init(rawAddress: UInt32(word), port: UInt16(port)))
        case 32:
            var bytes: [UInt8] = []
            for wordIndex in 0..<4 {
                guard let word = hex(UnsafeBufferPointer(rebasing: host[(wordIndex * 8)..<(wordIndex * 8 + 8)])) else {
                    return nil
                }
                // Each word was printed from memory as a native integer: its memory bytes are the address bytes.
                withUnsafeBytes(of: UInt32(word)) { bytes += $0 }
            }
            return .ipv6(.init(bytes: bytes, port: UInt16(port)))
        default:
            return nil
        }
    }

    private static func hex(_ text: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !text.isEmpty, text.count <= 16 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }

    private static func decimal(_ text: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard !text.isEmpty, text.count <= 19 else { return nil }
        var value: UInt64 = 0
        for byte in text {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
