import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Clients no one here wrote talk to `sockit echo`. Needs python3, nc (netcat-openbsd) and socat.
@Suite("sockit echo: real clients")
struct EchoClientTests {
    @Test("Python's socket module: a 1 MiB binary payload comes back byte for byte")
    func pythonMegabyte() throws {
        let server = try EchoProcess()
        let script = """
            import socket, sys, threading, hashlib
            data = bytes((i * 7 + (i >> 8)) & 0xff for i in range(1 << 20))
            s = socket.create_connection(("127.0.0.1", \(server.port)), timeout=20)
            def send():
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
            t = threading.Thread(target=send); t.start()
            got = bytearray()
            while True:
                chunk = s.recv(65536)
                if not chunk: break
                got += chunk
            t.join()
            print(len(got), got == data)
            """
        let (status, out, stderr) = try shell("python3 -c '\(script)'")
        #expect(status == 0, "\(stderr)")
        #expect(String(decoding: out, as: UTF8.self) == "1048576 True\n")
    }

    @Test("nc (netcat-openbsd) -N: a line comes back, then end-of-file")
    func netcat() throws {
        let server = try EchoProcess()
        let (status, out, stderr) = try shell("printf 'hello from nc\\n' | nc -N -w 10 127.0.0.1 \(server.port)")
        #expect(status == 0, "\(stderr)")
        #expect(String(decoding: out, as: UTF8.self) == "hello from nc\n")
    }

    @Test("socat: a 1 MiB random binary file comes back byte for byte")
    func socatMegabyte() throws {
        let server = try EchoProcess()
        let file = "/tmp/sockit-test-\(getpid())-socat.bin"
        defer { unlink(file) }
        let script = """
            head -c 1048576 /dev/urandom > \(file) && \
            socat -t 10 -T 20 - TCP:127.0.0.1:\(server.port) < \(file) | cmp - \(file) && echo same
            """
        let (status, out, stderr) = try shell(script)
        #expect(status == 0, "\(stderr)")
        #expect(String(decoding: out, as: UTF8.self) == "same\n")
    }

    @Test("sockit send: stdin in, the same bytes out (binary), and a message with a newline")
    func sockitSend() throws {
        let server = try EchoProcess()
        let (status, out, stderr) = try shell(
            "head -c 300000 /dev/urandom > /tmp/sockit-send-\(getpid()).bin; "
                + "\(sockitBinary()) send \(server.address) < /tmp/sockit-send-\(getpid()).bin | cmp - /tmp/sockit-send-\(getpid()).bin "
                + "&& \(sockitBinary()) send \(server.address) hello world; rm -f /tmp/sockit-send-\(getpid()).bin")
        #expect(status == 0, "\(stderr)")
        #expect(String(decoding: out, as: UTF8.self) == "hello world\n")
    }

    @Test("1,000 concurrent connections each round-trip correctly")
    func thousandConnections() throws {
        let server = try EchoProcess(["--threads", "2"])
        var sockets: [Socket] = []
        for _ in 0..<1000 { sockets.append(try connectClient(server.address)) }
        // Every connection is open before any data moves: they are all concurrent.
        for (index, socket) in sockets.enumerated() {
            try socket.sendAll(payload(100, seed: UInt64(index)))
        }
        var correct = 0
        for (index, socket) in sockets.enumerated() {
            if try receiveExactly(socket, 100) == payload(100, seed: UInt64(index)) { correct += 1 }
        }
        #expect(correct == 1000)
        for socket in sockets { try socket.shutdown(.write) }
        for socket in sockets { #expect(try socket.receive(maxBytes: 1).isEmpty) }
    }

    @Test("IPv6 loopback: [::1]:0")
    func ipv6() throws {
        let server = try EchoProcess(address: "[::1]:0")
        #expect(server.address.host == "::1")
        let client = try connectClient(server.address)
        try client.sendAll(Array("six".utf8))
        #expect(try receiveExactly(client, 3) == Array("six".utf8))
    }
}
