import Sockit
import Testing

@Suite("SocketAddress parsing and printing")
struct SocketAddressTests {
    /// Good inputs and how they print back.
    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("0.0.0.0:0", "0.0.0.0:0"),
        ("255.255.255.255:65535", "255.255.255.255:65535"),
        ("[::1]:8080", "[::1]:8080"),
        ("[::]:80", "[::]:80"),
        ("[2001:db8:0:0:0:0:0:1]:443", "[2001:db8::1]:443"),
        ("[::ffff:127.0.0.1]:9", "[::ffff:127.0.0.1]:9"),
        ("[fe80::1%1]:80", "[fe80::1%lo]:80"),
        ("[fe80::1%lo]:80", "[fe80::1%lo]:80"),
        ("localhost:8080", "127.0.0.1:8080"),
        ("/tmp/app.sock", "/tmp/app.sock"),
        ("./app.sock", "./app.sock"),
        ("@sockit-abstract", "@sockit-abstract"),
    ])
    func parsesAndPrintsCanonically(input: String, printed: String) throws {
        let address = try SocketAddress(input)
        #expect(address.description == printed)
        #expect(try SocketAddress(address.description) == address, "printing then parsing gives the same address")
    }

    /// Bad inputs: the error names the input and says what is wrong.
    @Test(arguments: [
        ("127.0.0.1:65536", "out of range"),
        ("127.0.0.1:99999999", "out of range"),
        ("127.0.0.1:-1", "not a number"),
        ("127.0.0.1:abc", "not a number"),
        ("127.0.0.1:", "missing port"),
        ("127.0.0.1", "missing port"),
        ("1.2.3:80", "not an IPv4 address"),
        ("300.1.1.1:80", "not an IPv4 address"),
        (":80", "empty host"),
        ("", "empty address"),
        ("::1:80", "needs brackets"),
        ("[::1]80", "missing \":PORT\""),
        ("[::1:80", "missing \"]\""),
        ("[::g]:80", "not an IPv6 address"),
        ("[fe80::1%nosuchif0]:80", "no network interface"),
        ("/" + String(repeating: "a", count: 200), "sun_path holds at most 107"),
        ("@" + String(repeating: "b", count: 108), "sun_path holds at most 107"),
        ("no-such-host.invalid:80", "cannot resolve host"),
    ])
    func rejectsBadInput(input: String, reason: String) {
        do {
            let address = try SocketAddress(input)
            Issue.record("\"\(input)\" parsed as \(address)")
        } catch {
            #expect(error.input == input)
            #expect(error.reason.contains(reason), "reason was: \(error.reason)")
            #expect(error.description.hasPrefix("invalid address \"\(input)\""))
        }
    }

    /// Found by fuzzing (Fuzz/, target address): C reads a NUL as the end of the text, so
    /// "127.0.0.1\0junk:80" parsed as 127.0.0.1:80 (inet_pton, if_nametoindex, getaddrinfo saw
    /// only what comes before the NUL).
    @Test(arguments: ["127.0.0.1\u{0}junk:80", "0.0.0\u{0}\t:0", "[::1\u{0}junk]:80", "[fe80::1%lo\u{0}junk]:80"])
    func rejectsANulByteOutsideAnAbstractName(input: String) {
        #expect(SocketAddress(parsing: input) == nil, "accepted \(input.debugDescription)")
        #expect(throws: SocketAddress.ParseError(input: input, reason: "address contains a NUL byte")) {
            try SocketAddress(input)
        }
    }

    /// An abstract name is bytes: a NUL in it is part of the name, and prints and parses back.
    @Test func abstractNameKeepsItsNulBytes() throws {
        let address = try SocketAddress("@a\u{0}b")
        #expect(address == .unix(.init(path: "a\u{0}b", isAbstract: true)))
        #expect(try SocketAddress(address.description) == address)
    }

    @Test func longestUnixPathFits() throws {
        let path = "/" + String(repeating: "p", count: SocketAddress.Unix.maximumPathLength - 1)
        let address = try SocketAddress(path)
        #expect(address == .unix(.init(path: path)))
    }

    @Test func portsAndFamilies() throws {
        let v4 = try SocketAddress("127.0.0.1:80")
        #expect(v4.port == 80)
        #expect(v4.domain == .ipv4)
        #expect(v4.isLoopback)
        #expect(v4.withPort(81).description == "127.0.0.1:81")
        let v6 = try SocketAddress("[::1]:80")
        #expect(v6.domain == .ipv6)
        #expect(v6.isLoopback)
        #expect(try SocketAddress("[::]:1").isUnspecified)
        #expect(try SocketAddress("/x").port == nil)
    }

    /// The kernel's view agrees with ours: bind, read back with getsockname, compare.
    @Test(arguments: ["127.0.0.1:0", "[::1]:0", "@sockit-test-abstract-address"])
    func roundTripsThroughTheKernel(input: String) throws {
        var address = try SocketAddress(input)
        if case .unix(var unix) = address {
            unix.path += "-\(getpid())"
            address = .unix(unix)
        }
        let socket = try Socket(for: address, .stream)
        try socket.bind(to: address)
        let bound = try socket.localAddress()
        if address.port != nil {
            #expect(bound.withPort(0) == address)
            #expect(bound.port != 0)
        } else {
            #expect(bound == address)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
