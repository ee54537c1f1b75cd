import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("UDP: echo, send, listen, broadcast")
struct UDPTests {
    @Test("sockit echo --udp: a datagram comes back to its sender (Socket and sockit send)")
    func echoRoundTrip() throws {
        let server = try EchoProcess(["--udp"])
        let client = try Socket(.ipv4, .datagram)
        try client.setOption(.receiveTimeout, .seconds(10))
        let message = payload(1200)
        try client.send(message, to: server.address)
        let (reply, sender) = try client.receiveFrom()
        #expect(reply == message)
        #expect(sender == server.address)

        let (status, out, stderr) = try shell("\(sockitBinary()) send \(server.address) --udp ping")
        #expect(status == 0, "\(stderr)")
        #expect(String(decoding: out, as: UTF8.self) == "ping\n")
    }

    @Test("sockit send --udp with nothing listening: exit 1 with a clear message")
    func noReply() throws {
        let unused = try Socket(.ipv4, .datagram)
        try unused.bind(to: SocketAddress("127.0.0.1:0"))
        let address = try unused.localAddress()
        let (status, _, stderr) = try shell("\(sockitBinary()) send \(address) --udp --timeout 0.5 ping")
        #expect(status == 1)
        #expect(stderr.hasPrefix("sockit: no reply from \(address) within 0.5 s"))
    }

    @Test("broadcast to 127.255.255.255: EACCES explained without --broadcast, delivered with it")
    func broadcast() throws {
        let listener = try ChildProcess(
            sockitBinary(), ["listen", "0.0.0.0:0", "--udp", "--count", "1", "--timeout", "10"])
        let line = try #require(listener.readLine())
        let bound = try SocketAddress(String(line.dropFirst("listening on ".count)))
        let target = "127.255.255.255:\(bound.port!)"

        let (denied, _, message) = try shell("\(sockitBinary()) send \(target) --udp denied")
        #expect(denied == 2)
        #expect(message.hasPrefix("sockit: cannot send to \(target): permission denied (EACCES, errno 13)\n"))
        #expect(message.contains("SO_BROADCAST"))
        #expect(message.contains("--broadcast"))

        let (allowed, _, stderr) = try shell("\(sockitBinary()) send \(target) --udp --broadcast --timeout 0.3 hello")
        #expect(allowed == 0, "\(stderr)")
        let received = try #require(listener.readLine())
        #expect(received.hasPrefix("from 127.0.0.1:"))
        #expect(received.hasSuffix("(6 bytes): hello"))
        #expect(listener.waitForExit() == 0)
    }

    @Test("sockit send --broadcast says what it sent and waits for replies only with --reply")
    func broadcastWaitsOnlyWhenAsked() throws {
        let echo = try EchoProcess(["--udp"], address: "0.0.0.0:0")
        let target = "127.255.255.255:\(echo.port)"

        let (sent, quiet, said) = try shell("\(sockitBinary()) send \(target) --udp --broadcast hello")
        #expect(sent == 0, "\(said)")
        #expect(quiet.isEmpty, "printed a reply it was not asked to wait for")
        #expect(said == "sockit: sent 6 bytes to \(target) (broadcast)\n")

        let (asked, replies, _) = try shell("\(sockitBinary()) send \(target) --udp --broadcast --reply hello")
        #expect(asked == 0)
        let text = String(decoding: replies, as: UTF8.self)
        #expect(text.hasPrefix("from 127.0.0.1:\(echo.port) (6 bytes): hello"), "\(text)")

        let (misused, _, why) = try shell("\(sockitBinary()) send \(target) --udp --reply hello")
        #expect(misused == 2)
        #expect(why.contains("--reply goes with --broadcast"))
    }

    @Test("sockit listen --timeout is an idle timeout: exit 0 once datagrams arrived and then stopped")
    func listenIdleTimeoutAfterDatagrams() throws {
        let listener = try ChildProcess(sockitBinary(), ["listen", "127.0.0.1:0", "--udp", "--timeout", "0.5"])
        let line = try #require(listener.readLine())
        let bound = try SocketAddress(String(line.dropFirst("listening on ".count)))
        let sender = try Socket(.ipv4, .datagram)
        try sender.send(Array("one\n".utf8), to: bound)
        #expect(listener.readLine()?.hasSuffix("(4 bytes): one") == true)
        #expect(listener.waitForExit() == 0, "\(listener.stderr)")
        #expect(!listener.stderr.contains("no datagram"))
    }

    @Test("sockit listen --timeout: exit 1 with a clear message when nothing arrives")
    func listenTimeout() throws {
        let listener = try ChildProcess(sockitBinary(), ["listen", "127.0.0.1:0", "--udp", "--timeout", "0.3"])
        #expect(listener.readLine()?.hasPrefix("listening on 127.0.0.1:") == true)
        #expect(listener.waitForExit() == 1)
        #expect(listener.stderr.contains("no datagram on 127.0.0.1:"))
        #expect(listener.stderr.contains("within 0.3 s"))
    }
}

/// The UDP echo server's batches when the send buffer fills: `sendmmsg` sends part of a batch,
/// then `EAGAIN`; the rest must wait for `EPOLLOUT`, not be dropped.
@Suite("UDP echo: a full send buffer drops no reply")
struct UDPFullSendBufferTests {
    /// Root, the tools, and a kernel with the tbf qdisc (a container may lack the module):
    /// tried once in a throwaway network namespace.
    static let canSlowLoopback: Bool = {
        guard geteuid() == 0, access("/usr/bin/unshare", X_OK) == 0 else { return false }
        let setup =
            "PATH=/usr/sbin:/sbin:$PATH; ip link set lo up && tc qdisc add dev lo root tbf rate 10mbit burst 32kbit latency 400ms"
        guard let probe = try? ChildProcess("/usr/bin/unshare", ["-n", "/bin/sh", "-c", setup]) else { return false }
        return probe.waitForExit(timeout: .seconds(10)) == 0
    }()

    @Test(
        "a slowed loopback and --send-buffer 4096: 400 datagrams, 64 outstanding, each echoed exactly once",
        .enabled(if: canSlowLoopback, "needs root, unshare, ip and tc"))
    func partialSendsAreResent() throws {
        let fixture = TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/udp-slow-loopback.py").path
        // Its own network namespace: the qdisc that slows loopback slows nothing else.
        let run = try ChildProcess(
            "/usr/bin/unshare", ["-n", "/usr/bin/python3", fixture, sockitBinary(), "400", "1000", "64"])
        let out = String(decoding: run.readStdout(timeout: .seconds(40)), as: UTF8.self)
        let status = run.waitForExit(timeout: .seconds(10))
        #expect(status == 0, "\(out)\(run.stderr)")
        #expect(out.hasPrefix("sent=400 echoed=400 missing=0 duplicates=0 wrong=0"), "\(out)")
    }
}
