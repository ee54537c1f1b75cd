import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The memory the echo server holds for peers that do not read: `--max-buffered` for all of
/// them together, and reading again once it is free.
@Suite("sockit echo: bounded output")
struct EchoOutputBoundTests {
    /// `EchoConfiguration.pendingWriteLimit`, which `sockit echo` does not change (the exact cap
    /// for one connection is `EchoRobustnessTests.neverReadingClient`).
    static let connectionCap = 256 * 1024

    @Test(
        "1,000 clients that never read, --max-buffered 8M on 2 loops (epoll): the server holds at most 8 MiB for them, its RSS grows by at most 8 MiB + 1 MiB, and a client that reads is echoed 4 MiB in full"
    )
    func manyNonReadersStayWithinTheBound() throws {
        try manyNonReaders(backend: "--epoll", slack: 64 * 1024, least: 3, checkRSS: true)
    }

    @Test(
        "1,000 clients that never read, --max-buffered 8M on 2 loops (io_uring): they do not starve a client that reads of the ring's buffers (it is echoed 4 MiB in full), and the server holds at most 8 MiB + 4 MiB for them"
    )
    func manyNonReadersOnIOURing() throws {
        // Looser than epoll: a ring buffer counts 16 KiB whatever it holds, and a cancelled
        // receive delivers what the peer sent meanwhile (README, "io_uring"). Where the kernel
        // refuses io_uring the server runs on epoll, and the same holds.
        try manyNonReaders(backend: "--io-uring", slack: 4 * 1024 * 1024, least: 2, checkRSS: false)
    }

    /// 1,000 clients that never read and one that does, on `backend`: what the server holds for
    /// the first is within the bound plus `slack` and at least `least` quarters of it (the bound
    /// is what stopped the reading), and the reader is echoed every byte.
    private func manyNonReaders(backend: String, slack: Int, least: Int, checkRSS: Bool) throws {
        let count = 1000
        let bound = 8 * 1024 * 1024
        try raiseDescriptorLimit(to: count + 1024)
        let server = try EchoProcess(
            ["--threads", "2", "--send-buffer", "4096", "--recv-buffer", "4096", "--max-buffered", "8M", backend],
            wrapper: ["/usr/bin/prlimit", "--nofile=\(count + 256):\(count + 256)", "--"],
            backendFromEnvironment: false)
        let pid = server.child.pid
        defer { reportIfExited(server) }
        // One echo on each loop first: what every server has touched by then is not growth.
        for index in 0..<2 {
            let client = try connectClient(server.address)
            let message = payload(32 * 1024, seed: UInt64(index))
            try client.sendAll(message)
            #expect(try receiveExactly(client, message.count) == message)
            try client.close()
        }
        let before = try #require(statusKiB(pid, "VmRSS"))

        let clients = try NonReadingClients(count: count, to: server.address)
        try #require(try clients.pushUntilStuck())
        let held = try clients.heldByServerAtRest().compactMap { $0 }
        let total = held.reduce(0, +)
        // Without the bound each would hold 256 KiB: 250 MiB. With it the total is within it
        // (give or take the slack), and the bound is what stopped the reading: it is nearly
        // reached.
        #expect(total <= bound + slack, "the server holds \(total) bytes for clients that do not read")
        #expect(total >= bound * least / 4, "the server holds only \(total) bytes: something else stopped it")
        #expect(held.allSatisfy { $0 <= Self.connectionCap + slack / count }, "most held for one: \(held.max() ?? 0)")

        // A client that reads is served, every byte in order, while the others still wait.
        let message = payload(4 * 1024 * 1024, seed: 5)
        let echoed = try echoWhileReading(server.address, message, readSize: 1000)
        #expect(differenceOf(echoed, message) == nil)

        // The peak RSS (VmHWM) over the RSS before: the bound, plus 1 MiB for the rest (the
        // 1,000 connections' objects, their slots in the loops' tables and malloc's headers:
        // measured 0.2 MiB over the bound here). Not under a sanitizer, whose shadow memory
        // the server's RSS includes (the bytes held, above, are checked all the same).
        let peak = try #require(statusKiB(pid, "VmHWM"))
        if checkRSS && sanitizerRuntime == nil {
            #expect(
                peak - before <= (bound + 1024 * 1024) / 1024, "RSS grew from \(before) KiB to a peak of \(peak) KiB")
        }
    }

    @Test(
        "once clients holding most of the buffered output leave, the paused ones are read from again, up to the bound")
    func pausedConnectionsResume() throws {
        let count = 64
        let bound = 2 * 1024 * 1024
        // Epoll's exact byte bounds (the io_uring backend holds whole 16 KiB buffers and bounds
        // them less tightly: URingEchoTests.outputCap, README "io_uring"), so always on epoll.
        let server = try EchoProcess(
            ["--threads", "2", "--send-buffer", "4096", "--recv-buffer", "4096", "--max-buffered", "2M", "--epoll"])
        defer { reportIfExited(server) }
        let clients = try NonReadingClients(count: count, to: server.address)
        try #require(try clients.pushUntilStuck())
        let first = try clients.heldByServerAtRest().map { $0 ?? 0 }
        #expect(first.reduce(0, +) >= bound * 3 / 4, "the server holds \(first.reduce(0, +)) bytes")
        // How the total spreads over the clients depends on the order of events (a few at
        // 256 KiB, or all at a few KiB each). The biggest holders leave until the others hold
        // at most half the bound: the total falls below the low mark (an eighth below), and
        // the others, paused by the bound, must be read from again. 8 of them can hold it all.
        var leaving: [Int] = []
        var left = first.reduce(0, +)
        for index in first.indices.sorted(by: { first[$0] > first[$1] }) where left > bound / 2 {
            leaving.append(index)
            left -= first[index]
        }
        let staying = first.indices.filter { !leaving.contains($0) }
        try #require(staying.count >= 8, "only \(staying.count) clients stay")
        for index in leaving { try clients.reset(index) }
        try #require(try clients.pushUntilStuck())
        let second = try clients.heldByServerAtRest()
        let now = staying.map { second[$0] ?? 0 }
        let total = now.reduce(0, +)
        #expect(
            total >= bound * 3 / 4,
            "the \(staying.count) clients that stayed held \(left) bytes, and \(total) once the others left")
        #expect(total <= bound + 64 * 1024)
        #expect(now.allSatisfy { $0 <= Self.connectionCap })
    }

    @Test(
        "--max-buffered 0: the server holds no output at all, and still echoes every byte, in order, to a slow reader")
    func nothingBuffered() throws {
        // Epoll's exact byte bounds (the io_uring backend holds whole 16 KiB buffers and bounds
        // them less tightly: URingEchoTests.outputCap, README "io_uring"), so always on epoll.
        let server = try EchoProcess(["--threads", "1", "--send-buffer", "4096", "--max-buffered", "0", "--epoll"])
        // Small reads against a small receive buffer: most of the server's writes are short.
        let message = payload(1024 * 1024, seed: 11)
        let echoed = try echoWhileReading(server.address, message, readSize: 700)
        #expect(differenceOf(echoed, message) == nil)
        // A client that never reads gets nothing held for it.
        let clients = try NonReadingClients(count: 1, to: server.address)
        try #require(try clients.pushUntilStuck())
        #expect(try clients.heldByServerAtRest() == [0], "sent \(clients.sent[0]) bytes")
    }

    @Test("--max-buffered takes bytes with K, M or G; anything else is a usage error (exit 2) that says what it takes")
    func maxBufferedArgument() throws {
        for bad in ["x", "-1", "8MB", "1.5M", "", "99999999999G"] {
            let child = try ChildProcess(sockitBinary(), ["echo", "127.0.0.1:0", "--max-buffered", bad])
            #expect(child.waitForExit(timeout: .seconds(10)) == 2, "--max-buffered \(bad)")
            #expect(child.stderr.contains("--max-buffered"), "--max-buffered \(bad): \(child.stderr)")
        }
        for good in ["64K", "16m", "1G", "3KiB", "12"] {
            _ = try EchoProcess(["--max-buffered", good])
        }
    }
}

/// Sends `message` on a new connection while reading the echo (non-blocking, both at once),
/// and returns what came back before EOF, or before 10 s without progress. A small receive
/// buffer and small reads keep the server's socket full, so that many of its writes are short.
func echoWhileReading(_ address: SocketAddress, _ message: [UInt8], readSize: Int = 65536) throws -> [UInt8] {
    let client = try Socket(for: address, .stream)
    try client.setOption(.receiveBufferSize, 4096)
    try client.connect(to: address, timeout: .seconds(10))
    try client.setNonBlocking(true)
    var sent = 0
    var received: [UInt8] = []
    received.reserveCapacity(message.count)
    var buffer = [UInt8](repeating: 0, count: readSize)
    for _ in 0..<10_000_000 where received.count < message.count {
        let events = Int16(POLLIN) | (sent < message.count ? Int16(POLLOUT) : 0)
        guard try client.poll(for: events, timeout: .seconds(10)) else { break }
        if sent < message.count {
            let result = try message.withUnsafeBytes { raw throws(SocketError) in
                try client.sendNonBlocking(
                    UnsafeRawBufferPointer(rebasing: raw[sent..<min(sent + 65536, message.count)]))
            }
            if case .processed(let count) = result { sent += count }
        }
        let result = try buffer.withUnsafeMutableBytes { raw throws(SocketError) in
            try client.receiveNonBlocking(into: raw)
        }
        if case .processed(let count) = result {
            if count == 0 { break }
            received += buffer[0..<count]
        }
    }
    return received
}

/// Where `received` differs from `expected`, described in a line; nil when equal. For large
/// payloads: `#expect(a == b)` on two arrays of megabytes would have the testing library diff
/// them element by element, which takes minutes.
func differenceOf(_ received: [UInt8], _ expected: [UInt8]) -> String? {
    if received == expected { return nil }
    let common = min(received.count, expected.count)
    let first = (0..<common).first { received[$0] != expected[$0] }
    if let first { return "\(received.count) bytes of \(expected.count), first difference at byte \(first)" }
    return "\(received.count) bytes of \(expected.count), equal as far as they go"
}

/// Records the server's exit and the end of its stderr if it is no longer running: a crash, or
/// a sanitizer's report, shows up here rather than only as resets at the clients.
func reportIfExited(_ server: EchoProcess) {
    if let status = server.child.waitForExit(timeout: .zero) {
        Issue.record("sockit echo exited with status \(status): \(server.child.stderr.suffix(4000))")
    }
}
