/// Whether an option can be read, set, or both.
public enum SocketOptionAccess: String, Sendable, Hashable {
    case readWrite = "read-write"
    case readOnly = "read-only"
    case writeOnly = "write-only"
}
