import CSockit

/// An option value in a form that prints and serialises: JSON numbers are bytes for sizes and
/// seconds for times.
public enum SocketOptionValue: Sendable, Hashable, CustomStringConvertible {
    /// A flag: a C `int` read as on or off.
    case bool(Bool)
    /// A number; bytes for a size.
    case integer(Int)
    /// A time, in seconds.
    case seconds(Double)
    /// Text, such as an interface or congestion-control name.
    case string(String)
    /// No value: an option that is off (`SO_LINGER` off, no timeout) or empty.
    case none
    /// A struct such as `TCP_INFO`, field by field.
    case fields([Field])

    /// One named field of a struct value (`rtt_us` of `TCP_INFO`).
    public struct Field: Sendable, Hashable {
        /// The field's name, e.g. `rtt_us`.
        public var name: String
        /// The field's value.
        public var value: SocketOptionValue
        /// A field named `name` with `value`.
        public init(_ name: String, _ value: SocketOptionValue) {
            self.name = name
            self.value = value
        }
    }

    /// The value as `sockit options` prints it: `1 (on)`, `212992`, `5 s`, `none`, `rtt_us=52 …`.
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
