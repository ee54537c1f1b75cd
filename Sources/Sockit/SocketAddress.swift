import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// A socket address: IPv4, IPv6 (with scope id) or Unix (a path, or a Linux abstract name).
///
/// Prints canonically: `127.0.0.1:8080`, `[::1]:8080`, `[fe80::1%eth0]:80`, `/run/app.sock`,
/// `@name` (abstract). `SocketAddress("127.0.0.1:8080")` parses the same forms back, see
/// `init(_:)` in `SocketAddress+Parsing.swift`.
public enum SocketAddress: Hashable, Sendable {
    /// An IPv4 address and port (`AF_INET`).
    case ipv4(IPv4)
    /// An IPv6 address and port, with scope id and flow label (`AF_INET6`).
    case ipv6(IPv6)
    /// A Unix-domain path or abstract name (`AF_UNIX`).
    case unix(Unix)

    /// An IPv4 address and port. The corresponding C type is `struct sockaddr_in`.
    public struct IPv4: Hashable, Sendable {
        /// The address in network byte order, as in `in_addr.s_addr`.
        public var rawAddress: UInt32
        /// The port, in host byte order (`sin_port` is converted on the way to C).
        public var port: UInt16

        /// The four bytes of the address, most significant first.
        public var octets: (UInt8, UInt8, UInt8, UInt8) {
            let hostOrder = UInt32(bigEndian: rawAddress)
            return (
                UInt8(hostOrder >> 24), UInt8((hostOrder >> 16) & 0xff), UInt8((hostOrder >> 8) & 0xff),
                UInt8(hostOrder & 0xff)
            )
        }

        /// The address `a.b.c.d` with `port`: `IPv4(octets: 127, 0, 0, 1, port: 8080)`.
        public init(octets a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
            let hostOrder = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
            self.rawAddress = hostOrder.bigEndian
            self.port = port
        }

        /// The address whose `in_addr.s_addr` is `rawAddress` (network byte order), with `port`.
        public init(rawAddress: UInt32, port: UInt16) {
            self.rawAddress = rawAddress
            self.port = port
        }

        /// `127.0.0.1:port`.
        public static func loopback(port: UInt16) -> IPv4 { IPv4(octets: 127, 0, 0, 1, port: port) }
        /// `0.0.0.0:port`, every local address (`INADDR_ANY`).
        public static func any(port: UInt16) -> IPv4 { IPv4(rawAddress: 0, port: port) }
    }

    /// An IPv6 address, port, scope id and flow label. The corresponding C type is `struct sockaddr_in6`.
    public struct IPv6: Hashable, Sendable {
        /// The first 8 of the 16 address bytes, most significant first (`::1` has 0 here).
        public var high: UInt64
        /// The last 8 of the 16 address bytes, most significant first (`::1` has 1 here).
        public var low: UInt64
        /// The port, in host byte order (`sin6_port` is converted on the way to C).
        public var port: UInt16
        /// The interface index for link-local addresses (`sin6_scope_id`); 0 when none.
        public var scopeID: UInt32
        /// The flow label and traffic class (`sin6_flowinfo`); usually 0.
        public var flowInfo: UInt32

        /// An address from its two 8-byte halves (see `high` and `low`).
        public init(high: UInt64, low: UInt64, port: UInt16, scopeID: UInt32 = 0, flowInfo: UInt32 = 0) {
            self.high = high
            self.low = low
            self.port = port
            self.scopeID = scopeID
            self.flowInfo = flowInfo
        }

        /// `[::1]:port`.
        public static func loopback(port: UInt16) -> IPv6 { IPv6(high: 0, low: 1, port: port) }
        /// `[::]:port`, every local address (`in6addr_any`).
        public static func any(port: UInt16) -> IPv6 { IPv6(high: 0, low: 0, port: port) }

        /// The 16 bytes of the address.
        public var bytes: [UInt8] {
            (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
        }

        /// An address from its 16 bytes, most significant first (as in `in6_addr`); traps on any other count.
        public init(bytes: [UInt8], port: UInt16, scopeID: UInt32 = 0, flowInfo: UInt32 = 0) {
            precondition(bytes.count == 16, "an IPv6 address has 16 bytes")
            self.high = bytes[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
            self.low = bytes[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
            self.port = port
            self.scopeID = scopeID
            self.flowInfo = flowInfo
        }
    }

    /// A Unix-domain address: a file system path, or a Linux abstract name (no file; printed `@name`).
    /// The corresponding C type is `struct sockaddr_un`.
    public struct Unix: Hashable, Sendable {
        /// The file system path, or the abstract name without its leading NUL (or `@`).
        public var path: String
        /// True for a Linux abstract address: `sun_path` starts with a NUL byte, and no file exists.
        public var isAbstract: Bool

        /// A path address, or an abstract name when `isAbstract` is true. Parsing checks the length
        /// against `maximumPathLength`; this initialiser does not, and a longer path is cut there
        /// on its way to C.
        public init(path: String, isAbstract: Bool = false) {
            self.path = path
            self.isAbstract = isAbstract
        }

        /// The largest path or name that fits `sun_path` with its terminating NUL (107 bytes on Linux).
        public static var maximumPathLength: Int { Int(sockit_sun_path_size()) - 1 }
    }
}

extension SocketAddress {
    /// The port of an IP address; nil for a Unix address.
    public var port: UInt16? {
        switch self {
        case .ipv4(let address): return address.port
        case .ipv6(let address): return address.port
        case .unix: return nil
        }
    }

    /// The same address with another port; a Unix address is returned unchanged.
    public func withPort(_ port: UInt16) -> SocketAddress {
        switch self {
        case .ipv4(var address):
            address.port = port
            return .ipv4(address)
        case .ipv6(var address):
            address.port = port
            return .ipv6(address)
        case .unix: return self
        }
    }

    /// The socket domain this address belongs to.
    public var domain: SocketDomain {
        switch self {
        case .ipv4: return .ipv4
        case .ipv6: return .ipv6
        case .unix: return .unix
        }
    }

    /// The host part as printed: `127.0.0.1`, `::1`, `fe80::1%eth0`, or the Unix path.
    public var host: String {
        switch self {
        case .ipv4(let address):
            return Self.ipv4Text(address.octets, port: nil)
        case .ipv6(let address):
            var raw = in6_addr()
            withUnsafeMutableBytes(of: &raw) { buffer in
                for (index, byte) in address.bytes.enumerated() { buffer[index] = byte }
            }
            var text = Self.ntop(AF_INET6, &raw, Int(INET6_ADDRSTRLEN))
            if address.scopeID != 0 {
                text += "%" + (Sys.interfaceName(address.scopeID) ?? "\(address.scopeID)")
            }
            return text
        case .unix(let address):
            return address.isAbstract ? "@" + address.path : address.path
        }
    }

    /// True for 127.0.0.0/8 and ::1 (and ::ffff:127.0.0.0/104).
    public var isLoopback: Bool {
        switch self {
        case .ipv4(let address): return address.octets.0 == 127
        case .ipv6(let address):
            if address.high == 0 && address.low == 1 { return true }
            return address.high == 0 && address.low >> 32 == 0xffff && (address.low >> 24) & 0xff == 127
        case .unix: return false
        }
    }

    /// True for the unspecified address, 0.0.0.0 or ::.
    public var isUnspecified: Bool {
        switch self {
        case .ipv4(let address): return address.rawAddress == 0
        case .ipv6(let address): return address.high == 0 && address.low == 0
        case .unix: return false
        }
    }

    private static func ntop(_ family: CInt, _ source: UnsafeRawPointer, _ size: Int) -> String {
        Sys.networkToPresentation(family, source, capacity: size) ?? "?"
    }
}

extension SocketAddress: CustomStringConvertible {
    /// `127.0.0.1:8080`, `[::1]:8080`, `/path`, `@abstract`.
    public var description: String {
        switch self {
        case .ipv4(let address): return Self.ipv4Text(address.octets, port: address.port)
        case .ipv6(let address): return "[" + host + "]:" + String(address.port)
        case .unix: return host
        }
    }

    /// `a.b.c.d` as inet_ntop prints it, and `:port` after it when given: written digit by digit
    /// into the string's own storage (no interpolation): a listing formats hundreds.
    static func ipv4Text(_ octets: (UInt8, UInt8, UInt8, UInt8), port: UInt16?) -> String {
        String(unsafeUninitializedCapacity: 21) { buffer in
            var count = 0
            func put(_ value: Int) {
                var divisor = 1
                while divisor * 10 <= value { divisor *= 10 }
                var rest = value
                while divisor > 0 {
                    buffer[count] = UInt8(ascii: "0") + UInt8(rest / divisor)
                    rest %= divisor
                    divisor /= 10
                    count += 1
                }
            }
            func put(separator: UInt8) {
                buffer[count] = separator
                count += 1
            }
            put(Int(octets.0))
            put(separator: UInt8(ascii: "."))
            put(Int(octets.1))
            put(separator: UInt8(ascii: "."))
            put(Int(octets.2))
            put(separator: UInt8(ascii: "."))
            put(Int(octets.3))
            if let port {
                put(separator: UInt8(ascii: ":"))
                put(Int(port))
            }
            return count
        }
    }
}

// MARK: - C representation

extension SocketAddress {
    /// Calls `body` with this address as a `sockaddr` pointer and its length, as `bind`,
    /// `connect` and `sendto` take it.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        var storage = sockaddr_storage()
        let length = fill(&storage)
        return try withUnsafePointer(to: &storage) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    /// Writes this address into `storage` and returns its length.
    public func fill(_ storage: inout sockaddr_storage) -> socklen_t {
        storage = sockaddr_storage()
        return withUnsafeMutableBytes(of: &storage) { raw -> socklen_t in
            switch self {
            case .ipv4(let address):
                var sin = sockaddr_in()
                sin.sin_family = sa_family_t(AF_INET)
                sin.sin_port = address.port.bigEndian
                sin.sin_addr = in_addr(s_addr: address.rawAddress)
                withUnsafeBytes(of: &sin) { raw.copyMemory(from: $0) }
                return socklen_t(MemoryLayout<sockaddr_in>.size)
            case .ipv6(let address):
                var sin6 = sockaddr_in6()
                sin6.sin6_family = sa_family_t(AF_INET6)
                sin6.sin6_port = address.port.bigEndian
                sin6.sin6_flowinfo = address.flowInfo.bigEndian
                sin6.sin6_scope_id = address.scopeID
                withUnsafeMutableBytes(of: &sin6.sin6_addr) { buffer in
                    for (index, byte) in address.bytes.enumerated() { buffer[index] = byte }
                }
                withUnsafeBytes(of: &sin6) { raw.copyMemory(from: $0) }
                return socklen_t(MemoryLayout<sockaddr_in6>.size)
            case .unix(let address):
                let pathOffset = MemoryLayout<sa_family_t>.size
                raw.storeBytes(of: sa_family_t(AF_UNIX), as: sa_family_t.self)
                let bytes = Array(address.path.utf8)
                let start = address.isAbstract ? pathOffset + 1 : pathOffset
                let count = min(bytes.count, Unix.maximumPathLength)
                for index in 0..<count { raw[start + index] = bytes[index] }
                // A path is NUL-terminated; an abstract name's length is exactly what is given.
                return socklen_t(address.isAbstract ? start + count : start + count + 1)
            }
        }
    }

    /// Reads an address the kernel filled in (`accept`, `getsockname`, `recvfrom`).
    /// Returns nil for a family sockit does not model.
    public init?(storage: sockaddr_storage, length: socklen_t) {
        var storage = storage
        let family = CInt(storage.ss_family)
        switch family {
        case AF_INET:
            let sin = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self) }
            self = .ipv4(IPv4(rawAddress: sin.sin_addr.s_addr, port: UInt16(bigEndian: sin.sin_port)))
        case AF_INET6:
            let sin6 = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self) }
            var raw = sin6.sin6_addr
            let bytes = withUnsafeBytes(of: &raw) { Array($0) }
            self = .ipv6(
                IPv6(
                    bytes: bytes, port: UInt16(bigEndian: sin6.sin6_port), scopeID: sin6.sin6_scope_id,
                    flowInfo: UInt32(bigEndian: sin6.sin6_flowinfo)))
        case AF_UNIX:
            let pathOffset = MemoryLayout<sa_family_t>.size
            let pathLength = Int(length) - pathOffset
            let bytes = withUnsafeBytes(of: &storage) { raw -> [UInt8] in
                guard pathLength > 0 else { return [] }
                return Array(raw[pathOffset..<(pathOffset + min(pathLength, Unix.maximumPathLength + 1))])
            }
            if let first = bytes.first, first == 0, bytes.count > 0, pathLength > 0 {
                self = .unix(Unix(path: String(decoding: bytes.dropFirst(), as: UTF8.self), isAbstract: true))
            } else {
                let path = bytes.prefix { $0 != 0 }
                self = .unix(Unix(path: String(decoding: path, as: UTF8.self)))
            }
        default:
            return nil
        }
    }
}
