/// An option and a value for it, parsed from text (`SO_KEEPALIVE=1`, `TCP_KEEPIDLE=30`) and
/// checked before anything is set: the C name must be an option of `SocketOptionCatalog` that can
/// be written, and the value must read as the option's type. `apply(to:)` then sets it through
/// the typed key, as `Socket.setOption` does.
///
/// ```swift
/// let assignments = try ["SO_KEEPALIVE=1", "TCP_KEEPIDLE=30"].map(SocketOptionAssignment.init)
/// for assignment in assignments { try assignment.apply(to: socket) }
/// ```
///
/// Values: a flag takes `1`/`0`, `true`/`false`, `on`/`off`, `yes`/`no`; a size or count a whole
/// number; a time seconds (`30`, `0.5`, or with a unit: `500ms`, `2s`); a time that may be absent
/// (`SO_LINGER`, `SO_RCVTIMEO`) also `none`/`off`; a name (`TCP_CONGESTION`) the text itself;
/// `IP_MULTICAST_IF` an IPv4 address.
public struct SocketOptionAssignment: Sendable {
    /// The option to set.
    public let option: AnySocketOption
    /// The value as written.
    public let value: String
    private let set: @Sendable (Socket) throws(SocketError) -> Void

    /// Parses `NAME=VALUE`.
    public init(_ text: String) throws(SocketOptionAssignmentError) {
        guard let equals = text.firstIndex(of: "=") else {
            throw SocketOptionAssignmentError(.notAnAssignment(text))
        }
        try self.init(name: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
    }

    /// The option named `name` (its C name, any case) set to `value`.
    public init(name: String, value: String) throws(SocketOptionAssignmentError) {
        guard let option = SocketOptionCatalog.named(name) else {
            throw SocketOptionAssignmentError(.unknownOption(name))
        }
        guard option.access != .readOnly else { throw SocketOptionAssignmentError(.readOnly(option.cName)) }
        guard let parse = option.parse, let form = option.textForm else {
            throw SocketOptionAssignmentError(.notSettableFromText(option.cName, cType: option.cType))
        }
        guard let set = parse(value.trimmingSpaces) else {
            throw SocketOptionAssignmentError(.badValue(option.cName, value: value, expected: form))
        }
        self.option = option
        self.value = value
        self.set = set
    }

    /// Sets the option on `socket` (`setsockopt`).
    public func apply(to socket: Socket) throws(SocketError) { try set(socket) }
}

/// `SocketOptionAssignment` could not be made: nothing was set.
public struct SocketOptionAssignmentError: SockitError, Hashable {
    /// What was wrong with the text.
    public enum Reason: Sendable, Hashable {
        /// The text has no `=`.
        case notAnAssignment(String)
        /// No option of `SocketOptionCatalog` has this C name.
        case unknownOption(String)
        /// The option (its C name) can only be read.
        case readOnly(String)
        /// The option's C type (a struct, a membership request) has no text form.
        case notSettableFromText(String, cType: String)
        /// The value does not read as the option's type (`expected` says what would).
        case badValue(String, value: String, expected: String)
    }

    /// What was wrong.
    public var reason: Reason

    /// An error for `reason`.
    public init(_ reason: Reason) { self.reason = reason }

    public var summary: String {
        switch reason {
        case .notAnAssignment(let text):
            return "\"\(text)\" is not NAME=VALUE (for example SO_KEEPALIVE=1)"
        case .unknownOption(let name):
            return "no socket option is named \"\(name)\""
        case .readOnly(let name):
            return "\(name) is read-only: the kernel reports it, nothing sets it"
        case .notSettableFromText(let name, let cType):
            return "\(name) takes a \(cType), which cannot be written as NAME=VALUE"
        case .badValue(let name, let value, let expected):
            return "\(name) takes \(expected), not \"\(value)\""
        }
    }

    public var explanation: [String] {
        guard case .unknownOption(let name) = reason else { return [] }
        let upper = name.uppercased()
        let close = SocketOptionCatalog.all.map(\.cName).filter {
            $0.contains(upper) || upper.contains($0) || $0.hasSuffix("_" + upper)
        }
        return close.isEmpty
            ? ["the C name of an option, as `sockit options` lists it (SO_KEEPALIVE, TCP_KEEPIDLE, ...)"]
            : ["did you mean \(close.prefix(3).joined(separator: ", "))?"]
    }

    public var kind: SockitErrorKind { .failure }
}

extension SocketOptionCatalog {
    /// The option with C name `name` (any case), readable or not.
    public static func named(_ name: String) -> AnySocketOption? {
        let upper = name.trimmingSpaces.uppercased()
        return all.first { $0.cName == upper }
    }
}

/// How option values are written as text, by value type.
enum SocketOptionText {
    static func form<Value>(of type: Value.Type) -> String? {
        switch type {
        case is Bool.Type: return "0 or 1"
        case is Int.Type: return "a whole number"
        case is Duration.Type: return "seconds (30, 0.5, 500ms)"
        case is Duration?.Type: return "seconds (30, 0.5, 500ms) or none"
        case is String.Type: return "a name"
        case is SocketAddress.IPv4.Type: return "an IPv4 address"
        default: return nil
        }
    }

    static func parser<Value: Sendable>(for type: Value.Type) -> (@Sendable (String) -> Value?)? {
        switch type {
        case is Bool.Type: return { bool($0) as? Value }
        case is Int.Type: return { Int($0) as? Value }
        case is Duration.Type: return { seconds($0) as? Value }
        case is Duration?.Type:
            return { text in
                if ["none", "off"].contains(text.lowercased()) { return Duration?.none as? Value }
                return seconds(text).map { Duration?.some($0) } as? Value
            }
        case is String.Type: return { $0.isEmpty ? nil : $0 as? Value }
        case is SocketAddress.IPv4.Type:
            return { text in
                guard case .ipv4(let address)? = try? SocketAddress(text + ":0") else { return nil }
                return address as? Value
            }
        default: return nil
        }
    }

    static func bool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "1", "true", "on", "yes": return true
        case "0", "false", "off", "no": return false
        default: return nil
        }
    }

    /// `30`, `0.5`, `30s`, `500ms`: a time of 0 or more, to the microsecond.
    static func seconds(_ text: String) -> Duration? {
        var number = text.lowercased()
        var scale = 1.0
        if number.hasSuffix("ms") {
            number.removeLast(2)
            scale = 0.001
        } else if number.hasSuffix("s") {
            number.removeLast()
        }
        guard let value = Double(number), value.isFinite, value >= 0, value * scale <= 1e9 else { return nil }
        return .microseconds(Int64((value * scale * 1e6).rounded()))
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
