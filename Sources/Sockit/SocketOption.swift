#if canImport(Glibc)
import Glibc
#endif

/// Whether an option can be read, set, or both.
public enum SocketOptionAccess: String, Sendable, Hashable {
    case readWrite = "read-write"
    case readOnly = "read-only"
    case writeOnly = "write-only"
}

/// A typed socket option: its C level and name, the C type behind it, and how a Swift value
/// maps to the bytes `setsockopt` takes and `getsockopt` returns.
///
/// ```swift
/// try socket.setOption(.reuseAddress, true)
/// try socket.setOption(.receiveBufferSize, 1 << 20)
/// let effective = try socket.getOption(.receiveBufferSize)   // 2 MiB: Linux doubles it
/// ```
/// The catalogue is in `SocketOptions+Socket.swift`, `+TCP`, `+IP` and `+IPv6`; for anything
/// else use the raw form, `Socket.setRawOption(level:name:bytes:)`.
public struct SocketOption<Value: Sendable>: Sendable {
    /// The C level, e.g. `SOL_SOCKET`, `IPPROTO_TCP`.
    public let level: CInt
    /// The C option number, e.g. `SO_REUSEADDR`.
    public let name: CInt
    /// The level's C name, e.g. `SOL_SOCKET`.
    public let levelName: String
    /// The option's C name, e.g. `SO_REUSEADDR`.
    public let cName: String
    /// The C type behind the value, e.g. `int`, `struct linger`.
    public let cType: String
    public let access: SocketOptionAccess
    /// What the kernel does with the value, when it does something surprising (doubling, clamping).
    public let note: String?
    /// The bytes to offer `getsockopt`.
    let capacity: Int
    let encode: @Sendable (Value) throws(SocketError) -> [UInt8]
    let decode: @Sendable ([UInt8]) throws(SocketError) -> Value
    let render: @Sendable (Value) -> SocketOptionValue

    public init(
        level: CInt, name: CInt, levelName: String, cName: String, cType: String, access: SocketOptionAccess = .readWrite,
        note: String? = nil, capacity: Int, encode: @escaping @Sendable (Value) throws(SocketError) -> [UInt8],
        decode: @escaping @Sendable ([UInt8]) throws(SocketError) -> Value,
        render: @escaping @Sendable (Value) -> SocketOptionValue
    ) {
        self.level = level
        self.name = name
        self.levelName = levelName
        self.cName = cName
        self.cType = cType
        self.access = access
        self.note = note
        self.capacity = capacity
        self.encode = encode
        self.decode = decode
        self.render = render
    }

    /// A type-erased view, for listing options of any value type together.
    public var erased: AnySocketOption {
        AnySocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: cType, access: access, note: note,
            read: { socket throws(SocketError) in self.render(try socket.getOption(self)) },
            decodeBytes: { bytes throws(SocketError) in self.render(try self.decode(bytes)) })
    }
}

/// An option value in a form that prints and serialises: JSON numbers are bytes for sizes and
/// seconds for times.
public enum SocketOptionValue: Sendable, Hashable, CustomStringConvertible {
    case bool(Bool)
    case integer(Int)
    /// A time, in seconds.
    case seconds(Double)
    case string(String)
    /// No value: an option that is off (`SO_LINGER` off, no timeout) or empty.
    case none
    /// A struct such as `TCP_INFO`, field by field.
    case fields([Field])

    public struct Field: Sendable, Hashable {
        public var name: String
        public var value: SocketOptionValue
        public init(_ name: String, _ value: SocketOptionValue) {
            self.name = name
            self.value = value
        }
    }

    public var description: String {
        switch self {
        case .bool(let value): return value ? "1 (on)" : "0 (off)"
        case .integer(let value): return String(value)
        case .seconds(let value):
            // Int(exactly:): a whole number of seconds past Int's range (decoded from a timeval
            // the kernel never wrote) prints as a Double instead of trapping.
            if value == value.rounded(), let whole = Int(exactly: value) { return "\(whole) s" }
            return "\(value) s"
        case .string(let value): return value.isEmpty ? "\"\"" : value
        case .none: return "none"
        case .fields(let fields): return fields.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
        }
    }
}

/// A socket option of any value type: name, level and a way to read and render it.
public struct AnySocketOption: Sendable {
    public let level: CInt
    public let name: CInt
    public let levelName: String
    public let cName: String
    public let cType: String
    public let access: SocketOptionAccess
    public let note: String?
    let read: @Sendable (Socket) throws(SocketError) -> SocketOptionValue
    let decodeBytes: @Sendable ([UInt8]) throws(SocketError) -> SocketOptionValue

    /// Reads the option's current value from `socket`.
    public func value(of socket: Socket) throws(SocketError) -> SocketOptionValue { try read(socket) }

    /// Decodes bytes as `getsockopt` would return them, with this option's codec, and renders the
    /// value. For fuzzing the codecs with arbitrary bytes (`Fuzz/`).
    ///
    /// - Throws: `SocketError` (`EINVAL`) for bytes the kernel never returns (a negative time).
    @_spi(Fuzzing) public func value(decoding bytes: [UInt8]) throws(SocketError) -> SocketOptionValue {
        try decodeBytes(bytes)
    }
}

extension Socket {
    /// Sets a typed option. The corresponding C function is `setsockopt`.
    ///
    /// - Throws: `SocketError` naming the option: `ENOPROTOOPT` when this kernel or socket type
    ///   lacks it, `EINVAL` for a value out of range, `EPERM` when it needs a capability.
    public func setOption<Value>(_ option: SocketOption<Value>, _ value: Value) throws(SocketError) {
        if option.access == .readOnly {
            throw SocketError(
                syscall: "setsockopt", errno: .protocolNotAvailable, option: option.cName,
                explanation: ["\(option.cName) is read-only: the kernel reports it, no one sets it"])
        }
        try setRawOption(level: option.level, name: option.name, bytes: try option.encode(value), cName: option.cName)
    }

    /// Reads a typed option; sizes and times are the effective values the kernel uses.
    /// The corresponding C function is `getsockopt`.
    public func getOption<Value>(_ option: SocketOption<Value>) throws(SocketError) -> Value {
        if option.access == .writeOnly {
            throw SocketError(
                syscall: "getsockopt", errno: .protocolNotAvailable, option: option.cName,
                explanation: ["\(option.cName) is write-only: the kernel does not report it"])
        }
        let bytes = try getRawOption(level: option.level, name: option.name, capacity: option.capacity, cName: option.cName)
        return try option.decode(bytes)
    }

    // MARK: Raw form

    /// Sets any option from raw bytes, for options sockit has no typed key for (like Python's
    /// `setsockopt(level, name, bytes)`). The corresponding C function is `setsockopt`.
    public func setRawOption(level: CInt, name: CInt, bytes: [UInt8], cName: String? = nil) throws(SocketError) {
        try withDescriptor("setsockopt") { fd throws(SocketError) in
            let result = bytes.withUnsafeBytes { raw in
                Sys.setsockopt(fd, level, name, raw.baseAddress, socklen_t(raw.count))
            }
            _ = try result.orThrow {
                SocketError(syscall: "setsockopt", errno: $0, option: cName ?? "option \(name) at level \(level)")
            }
        }
    }

    /// Sets any option to a C `int` (like Python's `setsockopt(level, name, int)`).
    public func setRawOption(level: CInt, name: CInt, value: Int32, cName: String? = nil) throws(SocketError) {
        try setRawOption(level: level, name: name, bytes: Self.bytes(of: value), cName: cName)
    }

    /// Reads any option as raw bytes, at most `capacity` of them; the result has the length the
    /// kernel returned. The corresponding C function is `getsockopt`.
    public func getRawOption(level: CInt, name: CInt, capacity: Int, cName: String? = nil) throws(SocketError) -> [UInt8] {
        try withDescriptor("getsockopt") { fd throws(SocketError) in
            var bytes = [UInt8](repeating: 0, count: capacity)
            var length = socklen_t(capacity)
            let result = bytes.withUnsafeMutableBytes { raw in
                Sys.getsockopt(fd, level, name, raw.baseAddress, &length)
            }
            _ = try result.orThrow {
                SocketError(syscall: "getsockopt", errno: $0, option: cName ?? "option \(name) at level \(level)")
            }
            bytes.removeSubrange(Int(length)...)
            return bytes
        }
    }

    /// Reads any option as a C `int`.
    public func getRawOption(level: CInt, name: CInt, cName: String? = nil) throws(SocketError) -> Int32 {
        let bytes = try getRawOption(level: level, name: name, capacity: MemoryLayout<Int32>.size, cName: cName)
        return Self.int32(from: bytes)
    }

    static func bytes<T: FixedWidthInteger>(of value: T) -> [UInt8] {
        withUnsafeBytes(of: value) { Array($0) }
    }

    /// A native-endian C `int` from up to four bytes (the kernel returns one byte for a few
    /// options when asked with a short buffer).
    static func int32(from bytes: [UInt8]) -> Int32 {
        if bytes.count >= 4 { return bytes.withUnsafeBytes { $0.loadUnaligned(as: Int32.self) } }
        if bytes.count == 1 { return Int32(bytes[0]) }
        return 0
    }
}

// MARK: - Codecs: the C types behind the options

extension SocketOption where Value == Bool {
    /// An `int` used as a flag: 0 off, non-zero on.
    public static func flag(
        _ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, access: SocketOptionAccess = .readWrite,
        note: String? = nil
    ) -> SocketOption<Bool> {
        SocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: "int (boolean)", access: access, note: note,
            capacity: 4, encode: { Socket.bytes(of: Int32($0 ? 1 : 0)) }, decode: { Socket.int32(from: $0) != 0 },
            render: { .bool($0) })
    }
}

extension SocketOption where Value == Int {
    /// A C `int` (or `unsigned int`) count: bytes, hops, segments.
    public static func integer(
        _ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, access: SocketOptionAccess = .readWrite,
        unsigned: Bool = false, note: String? = nil
    ) -> SocketOption<Int> {
        SocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: unsigned ? "unsigned int" : "int",
            access: access, note: note, capacity: 4,
            encode: { Socket.bytes(of: unsigned ? Int32(bitPattern: UInt32(truncatingIfNeeded: $0)) : Int32(clamping: $0)) },
            decode: { unsigned ? Int(UInt32(bitPattern: Socket.int32(from: $0))) : Int(Socket.int32(from: $0)) },
            render: { .integer($0) })
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
    public static func timeval(_ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, note: String? = nil)
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
    public static func linger(_ level: CInt, _ name: CInt, _ levelName: String, _ cName: String, note: String? = nil)
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

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var secondsValue: Double {
        // `components` traps when the seconds do not fit an Int64, and a Duration holds more (a
        // timeval of Int.max seconds and some microseconds): divide those instead.
        if self >= .seconds(Int64.max) || self <= .seconds(Int64.min) { return self / .seconds(1) }
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
