#if canImport(Glibc)
import Glibc
#endif

extension SocketAddress {
    /// Why a text is not a socket address; `description` names the input and the problem.
    public struct ParseError: SockitError, Hashable {
        /// The text that was given.
        public var input: String
        /// What is wrong with it, in a phrase: `port 70000 is out of range (0-65535)`.
        public var reason: String

        /// An error for `input`, saying `reason`.
        public init(input: String, reason: String) {
            self.input = input
            self.reason = reason
        }

        public var summary: String { "invalid address \"\(input)\": \(reason)" }
        public var kind: SockitErrorKind { .usage }
    }

    /// Parses `127.0.0.1:8080`, `[::1]:8080`, `[fe80::1%eth0]:80`, `localhost:8080` (resolved,
    /// first IPv4 address, else first IPv6), a Unix path (`/run/app.sock`, `./app.sock`) or a Linux
    /// abstract name (`@name`).
    ///
    /// - Throws: `SocketAddress.ParseError` naming the input: a port out of range or missing, an
    ///   empty host, a malformed IPv4 address such as `1.2.3`, an IPv6 address without brackets,
    ///   a Unix path longer than `sun_path`, a host name that does not resolve.
    public init(_ text: String) throws(ParseError) {
        func fail(_ reason: String) -> ParseError { ParseError(input: text, reason: reason) }
        if text.isEmpty { throw fail("empty address; expected HOST:PORT, [IPV6]:PORT, /path or @name") }

        if text.hasPrefix("/") || text.hasPrefix("./") || text.hasPrefix("../") {
            guard text.utf8.count <= Unix.maximumPathLength else {
                throw fail(
                    "Unix path is \(text.utf8.count) bytes; sun_path holds at most \(Unix.maximumPathLength)")
            }
            guard !text.utf8.contains(0) else { throw fail("Unix path contains a NUL byte") }
            self = .unix(Unix(path: text))
            return
        }
        if text.hasPrefix("@") {
            let name = String(text.dropFirst())
            guard name.utf8.count <= Unix.maximumPathLength else {
                throw fail(
                    "abstract name is \(name.utf8.count) bytes; sun_path holds at most \(Unix.maximumPathLength)")
            }
            self = .unix(Unix(path: name, isAbstract: true))
            return
        }

        // C sees a NUL as the end of the text (inet_pton, if_nametoindex, getaddrinfo): without this,
        // "127.0.0.1\0junk:80" would be 127.0.0.1:80. Only an abstract name holds NULs, as its bytes.
        guard !text.utf8.contains(0) else { throw fail("address contains a NUL byte") }
        let host: Substring
        let portText: Substring
        let bracketed: Bool
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw fail("missing \"]\" after the IPv6 address") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { throw fail("missing \":PORT\" after \"]\"") }
            portText = rest.dropFirst()
            bracketed = true
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw fail("missing port; expected HOST:PORT, e.g. 127.0.0.1:8080")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            bracketed = false
            if host.contains(":") {
                throw fail("an IPv6 address needs brackets: [\(host)]:\(portText)")
            }
        }
        let port = try Self.parsePort(portText, fail)
        if host.isEmpty { throw fail("empty host; use 0.0.0.0 or [::] for every address, 127.0.0.1 for loopback") }

        if bracketed {
            self = try Self.parseIPv6(host, port: port, fail)
            return
        }
        if let ipv4 = Self.parseIPv4(host, port: port) {
            self = ipv4
            return
        }
        if host.allSatisfy({ $0.isNumber || $0 == "." }) {
            throw fail("\"\(host)\" is not an IPv4 address (four numbers 0-255 separated by dots)")
        }
        self = try Self.resolve(host: String(host), port: port, fail)
    }

    /// Parses `HOST` alone (no port) with the given port, e.g. from `--host 127.0.0.1`.
    public init(host: String, port: UInt16) throws(ParseError) {
        if host.contains(":") && !host.hasPrefix("[") {
            try self.init("[\(host)]:\(port)")
        } else {
            try self.init("\(host):\(port)")
        }
    }

    static func parsePort(_ text: Substring, _ fail: (String) -> ParseError) throws(ParseError) -> UInt16 {
        if text.isEmpty { throw fail("missing port number after \":\"") }
        guard text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw fail("port \"\(text)\" is not a number (0-65535)")
        }
        guard text.count <= 5, let value = Int(text), value <= 65535 else {
            throw fail("port \(text) is out of range (0-65535)")
        }
        return UInt16(value)
    }

    static func parseIPv4(_ host: Substring, port: UInt16) -> SocketAddress? {
        var raw = in_addr()
        guard Sys.presentationToNetwork(AF_INET, String(host), &raw) else { return nil }
        return .ipv4(IPv4(rawAddress: raw.s_addr, port: port))
    }

    static func parseIPv6(
        _ host: Substring, port: UInt16, _ fail: (String) -> ParseError
    ) throws(ParseError)
        -> SocketAddress
    {
        var addressPart = host
        var scopeID: UInt32 = 0
        if let percent = host.firstIndex(of: "%") {
            addressPart = host[..<percent]
            let scope = String(host[host.index(after: percent)...])
            if scope.isEmpty { throw fail("empty scope after \"%\"") }
            if let number = UInt32(scope) {
                scopeID = number
            } else {
                scopeID = Sys.interfaceIndex(scope)
                if scopeID == 0 { throw fail("no network interface named \"\(scope)\"") }
            }
        }
        var raw = in6_addr()
        guard Sys.presentationToNetwork(AF_INET6, String(addressPart), &raw) else {
            throw fail("\"\(addressPart)\" is not an IPv6 address")
        }
        let bytes = withUnsafeBytes(of: &raw) { Array($0) }
        return .ipv6(IPv6(bytes: bytes, port: port, scopeID: scopeID))
    }

    /// Resolves a host name with `getaddrinfo`: the first IPv4 address, else the first IPv6 one.
    static func resolve(
        host: String, port: UInt16, _ fail: (String) -> ParseError
    ) throws(ParseError)
        -> SocketAddress
    {
        let addresses = try resolveAll(host: host, port: port, fail)
        if let v4 = addresses.first(where: { $0.domain == .ipv4 }) { return v4 }
        return addresses[0]
    }

    /// Every address `getaddrinfo` returns for `host`, de-duplicated, in its order.
    public static func resolveAll(host: String, port: UInt16) throws(ParseError) -> [SocketAddress] {
        try resolveAll(host: host, port: port) { ParseError(input: "\(host):\(port)", reason: $0) }
    }

    static func resolveAll(
        host: String, port: UInt16, _ fail: (String) -> ParseError
    ) throws(ParseError)
        -> [SocketAddress]
    {
        let found: [(sockaddr_storage, socklen_t)]
        switch Sys.resolve(host) {
        case .success(let addresses): found = addresses
        case .failure(let failure): throw fail("cannot resolve host \"\(host)\": \(failure.message.lowercased())")
        }
        var result: [SocketAddress] = []
        for (storage, length) in found {
            if let address = SocketAddress(storage: storage, length: length)?.withPort(port), !result.contains(address)
            {
                result.append(address)
            }
        }
        guard !result.isEmpty else { throw fail("cannot resolve host \"\(host)\": no IP addresses") }
        return result
    }
}

extension SocketAddress {
    /// Parses like `init(_:)`, returning nil instead of throwing.
    public init?(parsing text: String) {
        guard let address = try? SocketAddress(text) else { return nil }
        self = address
    }
}
