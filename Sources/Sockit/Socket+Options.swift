#if canImport(Glibc)
import Glibc
#endif

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
        let bytes = try getRawOption(
            level: option.level, name: option.name, capacity: option.capacity, cName: option.cName)
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
    public func getRawOption(
        level: CInt, name: CInt, capacity: Int, cName: String? = nil
    ) throws(SocketError) -> [UInt8] {
        try withDescriptor("getsockopt") { fd throws(SocketError) in
            try Self.getRawOption(descriptor: fd, level: level, name: name, capacity: capacity, cName: cName)
        }
    }

    /// Reads a typed option of a descriptor no `Socket` owns yet (`init(adopting:)`).
    static func getOption<Value>(_ option: SocketOption<Value>, descriptor fd: CInt) throws(SocketError) -> Value {
        let bytes = try getRawOption(
            descriptor: fd, level: option.level, name: option.name, capacity: option.capacity, cName: option.cName)
        return try option.decode(bytes)
    }

    private static func getRawOption(
        descriptor fd: CInt, level: CInt, name: CInt, capacity: Int, cName: String?
    )
        throws(SocketError) -> [UInt8]
    {
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
