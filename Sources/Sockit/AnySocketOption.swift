/// A socket option of any value type: name, level and a way to read and render it.
public struct AnySocketOption: Sendable {
    /// The C level, e.g. `SOL_SOCKET`, `IPPROTO_TCP` (`SocketOption.level`).
    public let level: CInt
    /// The C option number, e.g. `SO_REUSEADDR` (`SocketOption.name`).
    public let name: CInt
    /// The level's C name, e.g. `SOL_SOCKET`.
    public let levelName: String
    /// The option's C name, e.g. `SO_REUSEADDR`.
    public let cName: String
    /// The C type behind the value, e.g. `int`, `struct linger`.
    public let cType: String
    /// Whether the option can be read, set, or both.
    public let access: SocketOptionAccess
    /// What the kernel does with the value, when it does something surprising (doubling, clamping).
    public let note: String?
    let read: @Sendable (Socket) throws(SocketError) -> (value: SocketOptionValue, text: String)
    let decodeBytes: @Sendable ([UInt8]) throws(SocketError) -> SocketOptionValue
    /// Parses a value written as text into what sets it; nil for a value type text cannot give.
    let parse: (@Sendable (String) -> (@Sendable (Socket) throws(SocketError) -> Void)?)?
    /// What a value of this option looks like as text (`0 or 1`, `seconds`); nil when it cannot
    /// be set from text (a struct, a read-only value type).
    public let textForm: String?

    /// Reads the option's current value from `socket`.
    public func value(of socket: Socket) throws(SocketError) -> SocketOptionValue { try read(socket).value }

    /// Reads the option's current value from `socket`, with the value as a person reads it
    /// (`SocketOption.text(for:)`: `131072 bytes`, `SOCK_STREAM`).
    public func valueAndText(of socket: Socket) throws(SocketError) -> (value: SocketOptionValue, text: String) {
        try read(socket)
    }

    /// Decodes bytes as `getsockopt` would return them, with this option's codec, and renders the
    /// value. For fuzzing the codecs with arbitrary bytes (`Fuzz/`).
    ///
    /// - Throws: `SocketError` (`EINVAL`) for bytes the kernel never returns (a negative time).
    @_spi(Fuzzing) public func value(decoding bytes: [UInt8]) throws(SocketError) -> SocketOptionValue {
        try decodeBytes(bytes)
    }
}
