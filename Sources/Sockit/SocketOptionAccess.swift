/// Whether an option can be read, set, or both.
public enum SocketOptionAccess: String, Sendable, Hashable {
    /// Read with `getsockopt` and set with `setsockopt` (most options).
    case readWrite = "read-write"
    /// Only read: the kernel reports it (`SO_ERROR`, `SO_TYPE`, `TCP_INFO`).
    case readOnly = "read-only"
    /// Only set: the kernel does not report it (`IP_ADD_MEMBERSHIP`).
    case writeOnly = "write-only"
}
