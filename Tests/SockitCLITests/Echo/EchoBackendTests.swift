import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sockit echo` on epoll (the default, or `--epoll`) and `--io-uring`: io_uring where the kernel
/// allows it, epoll where it refuses (said at debug level), and the two flags exclusive.
@Suite("sockit echo: the io_uring and epoll backends")
struct EchoBackendTests {
    private func echoOnce(_ address: SocketAddress) throws {
        let client = try connectClient(address)
        let message = payload(100 * 1024, seed: 3)
        try client.sendAll(message)
        #expect(try receiveExactly(client, message.count) == message)
        try client.close()
    }

    @Test("--io-uring with io_uring refused (forced set-up failure): serves on epoll, and --verbose says why")
    func refusedFallsBackToEpoll() throws {
        let server = try EchoProcess(
            ["--threads", "1", "--io-uring", "--verbose"],
            environment: ["SOCKIT_TEST_REFUSE_IO_URING": "1"])
        try echoOnce(server.address)
        server.child.signal(SIGTERM)
        #expect(server.child.waitForExit(timeout: .seconds(10)) == 0)
        let log = server.child.stderr
        #expect(log.contains("io_uring is not available: serving on epoll"), "\(log)")
        #expect(log.contains("SOCKIT_TEST_REFUSE_IO_URING"), "the reason is given: \(log)")
        #expect(!log.contains("backend=io_uring"), "\(log)")
    }

    @Test("--io-uring where the kernel allows it: serves on io_uring (the log says which); --epoll on epoll")
    func eachBackendServes() throws {
        let uring = try EchoProcess(["--threads", "1", "--io-uring", "--verbose"])
        try echoOnce(uring.address)
        uring.child.signal(SIGTERM)
        #expect(uring.child.waitForExit(timeout: .seconds(10)) == 0)
        let log = uring.child.stderr
        // A kernel without io_uring (or a seccomp profile refusing it) falls back, and says so.
        #expect(log.contains("backend=io_uring") != log.contains("io_uring is not available"), "\(log)")

        let epoll = try EchoProcess(["--threads", "1", "--epoll", "--verbose"])
        try echoOnce(epoll.address)
        epoll.child.signal(SIGTERM)
        #expect(epoll.child.waitForExit(timeout: .seconds(10)) == 0)
        #expect(!epoll.child.stderr.contains("io_uring"), "\(epoll.child.stderr)")
    }

    @Test("no backend flag: epoll, the measured default (README, \"io_uring\"); no ring is even set up")
    func theDefaultIsEpoll() throws {
        let server = try EchoProcess(["--threads", "1", "--verbose"], backendFromEnvironment: false)
        try echoOnce(server.address)
        server.child.signal(SIGTERM)
        #expect(server.child.waitForExit(timeout: .seconds(10)) == 0)
        #expect(!server.child.stderr.contains("io_uring"), "\(server.child.stderr)")
    }

    @Test("--epoll and --io-uring together are a usage error (exit 2)")
    func bothFlagsAreAUsageError() throws {
        let child = try ChildProcess(sockitBinary(), ["echo", "127.0.0.1:0", "--epoll", "--io-uring"])
        #expect(child.waitForExit(timeout: .seconds(10)) == 2)
        #expect(child.stderr.contains("--epoll and --io-uring"), "\(child.stderr)")
    }
}
