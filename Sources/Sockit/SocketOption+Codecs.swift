import CSockit

#if canImport(Glibc)
import Glibc
#endif

// The codecs: the C types behind the options, each a factory of SocketOption.

extension SocketOption where Value == Bool {
    /// An `int` used as a flag: 0 off, non-zero on.
    public static func flag(
        _ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, access: SocketOptionAccess = .readWrite,
        note: String? = nil
    ) -> SocketOption<Bool> {
        SocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: "int (boolean)", access: access,
            note: note,
            capacity: 4, encode: { Socket.bytes(of: Int32($0 ? 1 : 0)) }, decode: { Socket.int32(from: $0) != 0 },
            render: { .bool($0) })
    }
}

extension SocketOption where Value == Int {
    /// A C `int` (or `unsigned int`) count: bytes, hops, segments. With a `unit`, the value reads
    /// `131072 bytes` (`text(for:)`).
    public static func integer(
        _ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, access: SocketOptionAccess = .readWrite,
        unsigned: Bool = false, unit: String? = nil, note: String? = nil
    ) -> SocketOption<Int> {
        var describe: (@Sendable (Int) -> String)?
        if let unit { describe = { value in "\(value) \(unit)" } }
        return SocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: unsigned ? "unsigned int" : "int",
            access: access, note: note, capacity: 4,
            encode: {
                Socket.bytes(of: unsigned ? Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) : Int32(clamping: $0))
            },
            decode: { unsigned ? Int(UInt32(bitPattern: Socket.int32(from: $0))) : Int(Socket.int32(from: $0)) },
            render: { .integer($0) },
            describe: describe)
    }
}

extension SocketOption where Value == Duration {
    /// A C `int` (or `unsigned int`) holding a time in whole `unit`s (seconds or milliseconds).
    public static func time(
        _ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, unit: Duration, note: String? = nil
    ) -> SocketOption<Duration> {
        let unitName = unit == .seconds(1) ? "seconds" : "milliseconds"
        return SocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: "int (\(unitName))", note: note,
            capacity: 4,
            encode: { value in
                let count = (value / unit).rounded(.up)
                return Socket.bytes(of: Int32(clamping: Int64(count)))
            },
            decode: { unit * Int(Socket.int32(from: $0)) },
            render: { .seconds($0.secondsValue) })
    }
}

extension SocketOption where Value == Duration? {
    /// `struct timeval`, for `SO_RCVTIMEO`/`SO_SNDTIMEO`: nil (zero) means wait forever.
    public static func timeval(
        _ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, note: String? = nil
    )
        -> SocketOption<Duration?>
    {
        SocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: "struct timeval", note: note,
            capacity: MemoryLayout<Glibc.timeval>.size,
            encode: { value throws(SocketError) in
                var tv = Glibc.timeval()
                if let value, value < .zero {
                    throw SocketError(
                        syscall: "setsockopt", errno: .invalidArgument, option: cName,
                        explanation: ["a timeout cannot be negative (\(value)); nil means wait forever"])
                }
                if let value, value > .zero {
                    let (seconds, attoseconds) = value.components
                    tv.tv_sec = Int(seconds)
                    tv.tv_usec = Int(attoseconds / 1_000_000_000_000)
                    if tv.tv_sec == 0 && tv.tv_usec == 0 { tv.tv_usec = 1 }  // sub-microsecond: not "forever"
                }
                return withUnsafeBytes(of: tv) { Array($0) }
            },
            decode: { bytes throws(SocketError) in
                guard bytes.count >= MemoryLayout<Glibc.timeval>.size else { return nil }
                let tv = bytes.withUnsafeBytes { $0.loadUnaligned(as: Glibc.timeval.self) }
                guard tv.tv_sec >= 0, (0..<1_000_000).contains(tv.tv_usec) else {
                    throw SocketError(
                        syscall: "getsockopt", errno: .invalidArgument, option: cName,
                        explanation: ["not a valid struct timeval: tv_sec \(tv.tv_sec), tv_usec \(tv.tv_usec)"])
                }
                if tv.tv_sec == 0 && tv.tv_usec == 0 { return nil }
                return .seconds(tv.tv_sec) + .microseconds(tv.tv_usec)
            },
            render: { $0.map { .seconds($0.secondsValue) } ?? .none })
    }

    /// `struct linger`, for `SO_LINGER`: nil is off (close returns at once, the kernel sends what
    /// is queued); a duration makes close wait that long; zero makes close reset the connection.
    public static func linger(
        _ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, note: String? = nil
    )
        -> SocketOption<Duration?>
    {
        SocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: "struct linger", note: note,
            capacity: MemoryLayout<Glibc.linger>.size,
            encode: { value throws(SocketError) in
                var value32 = Glibc.linger()
                if let value, value < .zero {
                    throw SocketError(
                        syscall: "setsockopt", errno: .invalidArgument, option: cName,
                        explanation: ["a linger time cannot be negative (\(value)); nil turns lingering off"])
                }
                if let value {
                    value32.l_onoff = 1
                    value32.l_linger = Int32(clamping: Int64((value / .seconds(1)).rounded(.up)))
                }
                return withUnsafeBytes(of: value32) { Array($0) }
            },
            decode: { bytes throws(SocketError) in
                guard bytes.count >= MemoryLayout<Glibc.linger>.size else { return nil }
                let value = bytes.withUnsafeBytes { $0.loadUnaligned(as: Glibc.linger.self) }
                if value.l_onoff == 0 { return nil }
                guard value.l_linger >= 0 else {
                    throw SocketError(
                        syscall: "getsockopt", errno: .invalidArgument, option: cName,
                        explanation: ["not a valid struct linger: l_linger \(value.l_linger)"])
                }
                return .seconds(value.l_linger)
            },
            render: { $0.map { .seconds($0.secondsValue) } ?? .none })
    }
}

extension SocketOption where Value == String {
    /// A NUL-terminated string (`SO_BINDTODEVICE`, `TCP_CONGESTION`).
    public static func string(
        _ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, capacity: Int, note: String? = nil
    ) -> SocketOption<String> {
        SocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: "char[\(capacity)]", note: note,
            capacity: capacity,
            encode: { Array($0.utf8) },
            decode: { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) },
            render: { .string($0) })
    }
}
