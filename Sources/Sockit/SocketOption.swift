import CSockit

/// A typed socket option: its C level and name, the C type behind it, and how a Swift value
/// maps to the bytes `setsockopt` takes and `getsockopt` returns.
///
/// ```swift
/// try socket.setOption(.reuseAddress, true)
/// try socket.setOption(.receiveBufferSize, 1 << 20)
/// let effective = try socket.getOption(.receiveBufferSize)   // doubled (after clamping to rmem_max)
/// ```
/// The keys are in `SocketOptions+Socket.swift`, `+TCP`, `+IP` and `+IPv6`, the C types behind
/// them in `SocketOption+Codecs.swift`; for anything else use the raw form,
/// `Socket.setRawOption(level:name:bytes:)`.
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
    /// Whether the option can be read, set, or both; `Socket.setOption` refuses a read-only key and
    /// `Socket.getOption` a write-only one (`ENOPROTOOPT`, without a syscall).
    public let access: SocketOptionAccess
    /// What the kernel does with the value, when it does something surprising (doubling, clamping).
    public let note: String?
    /// The bytes to offer `getsockopt`.
    let capacity: Int
    let encode: @Sendable (Value) throws(SocketError) -> [UInt8]
    let decode: @Sendable ([UInt8]) throws(SocketError) -> Value
    let render: @Sendable (Value) -> SocketOptionValue
    /// The value as a person reads it (`131072 bytes`, `SOCK_STREAM`); by default the rendered
    /// value's description.
    let describe: @Sendable (Value) -> String

    /// A key for an option sockit has no key for, from its C level and name and a codec.
    ///
    /// The codec factories in `SocketOption+Codecs.swift` build the keys sockit declares; for a
    /// one-off option the raw form (`Socket.setRawOption(level:name:value:cName:)`) is simpler.
    ///
    /// - Parameters:
    ///   - level: the C level, e.g. `SOL_SOCKET`.
    ///   - name: the C option number, e.g. `SO_REUSEADDR`.
    ///   - levelName: the level's C name, for messages.
    ///   - cName: the option's C name, for messages.
    ///   - cType: the C type behind the value, e.g. `int`.
    ///   - access: whether it can be read, set, or both.
    ///   - note: what the kernel does with the value, when it is surprising.
    ///   - capacity: how many bytes to offer `getsockopt`.
    ///   - encode: the bytes `setsockopt` takes for a value.
    ///   - decode: the value from the bytes `getsockopt` returned.
    ///   - render: the value in printable, serialisable form.
    ///   - describe: the value as a person reads it; by default `render`'s description.
    public init(
        level: CInt, name: CInt, levelName: String, cName: String, cType: String,
        access: SocketOptionAccess = .readWrite,
        note: String? = nil, capacity: Int, encode: @escaping @Sendable (Value) throws(SocketError) -> [UInt8],
        decode: @escaping @Sendable ([UInt8]) throws(SocketError) -> Value,
        render: @escaping @Sendable (Value) -> SocketOptionValue,
        describe: (@Sendable (Value) -> String)? = nil
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
        self.describe = describe ?? { render($0).description }
    }

    /// `value` as a person reads it: `131072 bytes` for a buffer size, `SOCK_STREAM` for `SO_TYPE`,
    /// `ECONNREFUSED` for `SO_ERROR`.
    public func text(for value: Value) -> String { describe(value) }

    /// A type-erased view, for listing options of any value type together.
    public var erased: AnySocketOption {
        var setter: (@Sendable (String) -> (@Sendable (Socket) throws(SocketError) -> Void)?)?
        if let parse = SocketOptionText.parser(for: Value.self) {
            setter = { text in
                guard let value = parse(text) else { return nil }
                let set: @Sendable (Socket) throws(SocketError) -> Void = { socket throws(SocketError) in
                    try socket.setOption(self, value)
                }
                return set
            }
        }
        return AnySocketOption(
            level: level, name: name, levelName: levelName, cName: cName, cType: cType, access: access, note: note,
            read: { socket throws(SocketError) in
                let value = try socket.getOption(self)
                return (self.render(value), self.describe(value))
            },
            decodeBytes: { bytes throws(SocketError) in self.render(try self.decode(bytes)) },
            parse: setter,
            textForm: SocketOptionText.form(of: Value.self))
    }
}
