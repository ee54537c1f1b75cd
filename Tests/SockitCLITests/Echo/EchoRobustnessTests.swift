import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What the network does to a server: half-close, peers that never read, idle peers, too many
/// peers, resets, and running out of descriptors.
@Suite("sockit echo: robustness")
struct EchoRobustnessTests {
    @Test("a client's half-close gets every echoed byte, then FIN")
    func halfClose() throws {
        let server = try EchoProcess(["--threads", "1"])
        let client = try connectClient(server.address)
        let data = payload(3 * 1024 * 1024)
        // Send on a thread-free path: interleave sending and receiving with non-blocking I/O.
        try client.setNonBlocking(true)
        var sent = 0
        var received: [UInt8] = []
        var finSent = false
        var rounds = 0
        while rounds < 100_000 {
            rounds += 1
            if sent == data.count && !finSent {
                try client.shutdown(.write)
                finSent = true
            }
            // Ten seconds without progress ends the loop (and the test fails below).
            guard try client.poll(for: Int16(POLLIN) | (finSent ? 0 : Int16(POLLOUT)), timeout: .seconds(10)) else {
                break
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let result = try buffer.withUnsafeMutableBytes { raw throws(SocketError) in
                try client.receiveNonBlocking(into: raw)
            }
            if case .processed(let count) = result {
                if count == 0 { break }
                received += buffer[0..<count]
            }
            if !finSent {
                let wrote = try data.withUnsafeBytes { raw throws(SocketError) in
                    try client.sendNonBlocking(
                        UnsafeRawBufferPointer(rebasing: raw[sent..<min(sent + 65536, data.count)]))
                }
                if case .processed(let count) = wrote { sent += count }
            }
        }
        #expect(finSent)
        #expect(differenceOf(received, data) == nil)
    }

    @Test(
        "a client that never reads: the server holds exactly the 256 KiB cap of its output, not a byte more, and serves others"
    )
    func neverReadingClient() throws {
        // Epoll's exact byte bounds (the io_uring backend holds whole 16 KiB buffers and bounds
        // them less tightly: URingEchoTests.outputCap, README "io_uring"), so always on epoll.
        let server = try EchoProcess(["--threads", "1", "--epoll"])
        let clients = try NonReadingClients(count: 1, to: server.address)
        try #require(try clients.pushUntilStuck())
        // What the server has read from the client and not written back, from the kernel's
        // queues at both ends. A peer that never reads only adds to it, so this final value is
        // the most it ever was: it reaches the cap (which is what stopped the reading) and
        // does not pass it.
        let held = try clients.heldByServerAtRest()
        #expect(held == [256 * 1024], "sent \(clients.sent[0]) bytes")
        // The server still serves others meanwhile.
        let other = try connectClient(server.address)
        try other.sendAll(Array("other".utf8))
        #expect(try receiveExactly(other, 5) == Array("other".utf8))
    }

    @Test("--idle-timeout closes a connection that stays quiet")
    func idleTimeout() throws {
        let server = try EchoProcess(["--threads", "1", "--idle-timeout", "1"])
        let client = try connectClient(server.address)
        try client.sendAll([1, 2, 3])
        #expect(try receiveExactly(client, 3) == [1, 2, 3])
        let start = ContinuousClock.now
        // Blocks until the server closes (the receive timeout is 10 s).
        #expect(try client.receive(maxBytes: 1).isEmpty)
        let waited = start.duration(to: .now)
        // The server checks every quarter of the timeout, so it closes between 1 and 1.25 s
        // after the last byte (measured 1.001 to 1.013 s here, also with two busy loops on the
        // two cores). Up to 1.9 s passes a loaded machine; a timeout doubled or ignored fails.
        #expect(waited >= .milliseconds(950) && waited < .milliseconds(1900), "closed after \(waited)")
    }

    @Test("beyond --max-connections new connections are closed at once; a freed slot is reused")
    func maxConnections() throws {
        let server = try EchoProcess(["--threads", "1", "--max-connections", "2"])
        let first = try connectClient(server.address)
        let second = try connectClient(server.address)
        for socket in [first, second] {
            try socket.sendAll([7])
            #expect(try socket.receive(maxBytes: 1) == [7])
        }
        let third = try connectClient(server.address)
        let reply = Result { () throws(SocketError) in try third.receive(maxBytes: 1) }
        switch reply {
        case .success(let bytes): #expect(bytes.isEmpty, "the third connection was served")
        case .failure(let error): #expect(error.errno == .connectionReset)
        }
        try first.sendAll([8])
        #expect(try first.receive(maxBytes: 1) == [8])
        // Free a slot; once the server has seen the close, a new connection is served.
        try first.shutdown(.write)
        #expect(try first.receive(maxBytes: 1).isEmpty)  // the server closed its side: slot freed
        let fourth = try connectClient(server.address)
        try fourth.sendAll([9])
        #expect(try fourth.receive(maxBytes: 1) == [9])
    }

    @Test("a reset in the middle of a write closes that connection only: the server lets it go and goes on serving")
    func resetMidWrite() throws {
        let server = try EchoProcess(["--threads", "1"])
        let start = try #require(descriptorCount(server.child.pid))
        for _ in 0..<5 {
            let client = try Socket(for: server.address, .stream)
            try client.connect(to: server.address, timeout: .seconds(10))
            try client.setOption(.receiveBufferSize, 4096)
            try client.setNonBlocking(true)
            let chunk = payload(65536)
            // Fill both directions so the server has a write pending, then reset.
            for _ in 0..<200 {
                let result = try chunk.withUnsafeBytes { raw throws(SocketError) in try client.sendNonBlocking(raw) }
                if case .wouldBlock = result {
                    if try !client.poll(for: Int16(POLLOUT), timeout: .milliseconds(200)) { break }
                }
            }
            try client.setOption(.linger, Duration.zero)  // close sends RST
            try client.close()
        }
        // Each reset connection is closed by the server: its descriptors come back to their
        // start (polled, bounded: the server handles the resets after the client sent them).
        var count = descriptorCount(server.child.pid)
        for _ in 0..<500 where count != start {
            var none = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&none, 0, 10)
            count = descriptorCount(server.child.pid)
        }
        #expect(count == start, "the server had \(start) descriptors before, \(count.map(String.init) ?? "?") after")
        // After that, the same loop serves a new connection, a full echo both ways.
        let client = try connectClient(server.address)
        let message = payload(256 * 1024, seed: 3)
        let echoed = try echoWhileReading(server.address, message)
        #expect(differenceOf(echoed, message) == nil)
        try client.sendAll(Array("alive".utf8))
        #expect(try receiveExactly(client, 5) == Array("alive".utf8))
    }

    @Test(
        "after 200 connections end in resets (also mid-write), half-closes and closes, the server's descriptor count is back where it started"
    )
    func descriptorsReturnAfterChurn() throws {
        let server = try EchoProcess(["--threads", "1"])
        let start = try #require(descriptorCount(server.child.pid))
        for round in 0..<5 {
            // 40 open at once, then each ends its own way.
            var clients: [Socket] = []
            for index in 0..<40 {
                let client = try connectClient(server.address)
                let message = payload(1 + (index * 997) % 4000, seed: UInt64(round * 40 + index))
                try client.sendAll(message)
                #expect(try receiveExactly(client, message.count) == message)
                clients.append(client)
            }
            for (index, client) in clients.enumerated() {
                switch index % 4 {
                case 0:  // reset with nothing in flight
                    try client.setOption(.linger, Duration.zero)
                    try client.close()
                case 1:  // half-close: the rest of the echo, then the server's FIN
                    try client.sendAll(payload(20_000, seed: 7))
                    try client.shutdown(.write)
                    #expect(try receiveExactly(client, 20_001).count == 20_000)
                    try client.close()
                case 2:  // a normal close, client first
                    try client.close()
                default:  // reset while the server has a write pending to a client that does not read
                    try client.setNonBlocking(true)
                    let chunk = payload(65536)
                    for _ in 0..<200 {
                        let result = try chunk.withUnsafeBytes { raw throws(SocketError) in
                            try client.sendNonBlocking(raw)
                        }
                        if case .wouldBlock = result { break }
                    }
                    try client.setOption(.linger, Duration.zero)
                    try client.close()
                }
            }
        }
        // A last echo on the same loop: the ends above reached the server before this byte did.
        let last = try connectClient(server.address)
        try last.sendAll([42])
        #expect(try last.receive(maxBytes: 1) == [42])
        try last.close()
        // Each of the server's closes follows an event it has already been sent; allow it a
        // moment to process them, polling the count (bounded), then compare exactly.
        var count = descriptorCount(server.child.pid)
        for _ in 0..<500 where count != start {
            var none = pollfd(fd: -1, events: 0, revents: 0)
            _ = poll(&none, 0, 10)
            count = descriptorCount(server.child.pid)
        }
        #expect(count == start, "the server had \(start) descriptors before, \(count.map(String.init) ?? "?") after")
    }

    @Test("EMFILE: accepting pauses without spinning, and resumes once descriptors free up")
    func outOfDescriptors() throws {
        let server = try EchoProcess(
            ["--threads", "1"], wrapper: ["/usr/bin/prlimit", "--nofile=40:40", "--"])
        // Fill the descriptor table: some connections are served, the rest wait in the backlog.
        var served: [Socket] = []
        var waiting: [Socket] = []
        for index in 0..<60 {
            let client = try connectClient(server.address, timeout: .seconds(10))
            try client.setOption(.receiveTimeout, .milliseconds(index < 5 ? 5000 : 300))
            try client.sendAll([UInt8(index)])
            let reply = Result { () throws(SocketError) in try client.receive(maxBytes: 1) }
            if case .success(let bytes) = reply, bytes == [UInt8(index)] {
                served.append(client)
            } else {
                waiting.append(client)
            }
        }
        #expect(!served.isEmpty)
        #expect(!waiting.isEmpty, "the descriptor limit was never reached")
        #expect(server.child.waitForStderr("pausing accept", timeout: .seconds(5)))
        // Meanwhile the server stays nearly idle: it does not spin on the waiting connections.
        let ticksPerSecond = sysconf(Int32(_SC_CLK_TCK))
        let cpuBefore = server.child.cpuTicks()
        let windowStart = ContinuousClock.now
        var probe = pollfd(fd: -1, events: 0, revents: 0)
        _ = poll(&probe, 0, 1000)  // a measurement window, not a synchronisation
        let window = windowStart.duration(to: .now)
        let used = Double(server.child.cpuTicks() - cpuBefore) / Double(ticksPerSecond)
        #expect(used < 0.2 * Double(window.milliseconds) / 1000, "the server used \(used) s of CPU in \(window)")
        // Free descriptors: every waiting connection is served in turn.
        for socket in served { try socket.close() }
        var answered = 0
        for socket in waiting {
            try socket.setOption(.receiveTimeout, .seconds(10))
            let bytes = try socket.receive(maxBytes: 1)
            if bytes.count == 1 { answered += 1 }
            try socket.close()
        }
        #expect(answered == waiting.count)
    }

    @Test("sockit echo rejects a malformed --keepalive with exit 2 and changes nothing")
    func badKeepAlive() throws {
        let child = try ChildProcess(sockitBinary(), ["echo", "127.0.0.1:0", "--keepalive", "ten"])
        #expect(child.waitForExit() == 2)
        #expect(child.stderr.contains("--keepalive takes IDLE or IDLE,INTVL,CNT"))
        #expect(child.readStdout(timeout: .seconds(1)).isEmpty)
    }
}

/// The number of descriptors `pid` has open (entries of /proc/PID/fd).
func descriptorCount(_ pid: pid_t) -> Int? {
    guard let directory = opendir("/proc/\(pid)/fd") else { return nil }
    defer { closedir(directory) }
    var count = 0
    for _ in 0..<1_000_000 {
        guard let entry = readdir(directory) else { break }
        if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
    }
    return count
}
