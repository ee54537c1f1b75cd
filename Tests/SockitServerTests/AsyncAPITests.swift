import Foundation
import Logging
import ServiceLifecycle
import Sockit
import SockitTestSupport
import Testing

@testable import SockitServer

/// The async/await API on the event loops, and the echo server used in-process.
@Suite("SockitServer: async API")
struct AsyncAPITests {
    @Test(
        "AsyncTCPListener: connections arrive as an AsyncSequence; async read/write echo; FIN ends the read",
        arguments: EventLoopBackend.allCases)
    func tcpListenerEcho(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 2, on: backend)
        defer { group.shutdown() }
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        let address = listener.localAddress
        let server = Task {
            var served = 0
            for try await connection in listener {
                served += 1
                Task {
                    while true {
                        let bytes = try await connection.read()
                        if bytes.isEmpty { break }
                        try await connection.write(bytes)
                    }
                    try connection.shutdownWrite()
                    connection.close()
                }
                if served == 3 { break }
            }
            return served
        }
        #expect(try await echoClients(3, to: address, group: group) == 3, "clients echoed byte for byte")
        #expect(try await server.value == 3)
        listener.close()
    }

    @Test(
        "tasks that prefer their connection's loop run on its thread, before and after every wait, and echo 3 x 200 KB",
        arguments: EventLoopBackend.allCases)
    func tasksOnTheLoop(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 2, on: backend)
        defer { group.shutdown() }
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        defer { listener.close() }
        let address = listener.localAddress
        // Each connection served by a task on its own loop, counting the times it found itself
        // on another thread; the accepting task runs on the listener's loop.
        let server = Task(executorPreference: listener.eventLoop) {
            var offLoop = listener.eventLoop.inLoop ? 0 : 1
            var served: [Task<Int, any Error>] = []
            for try await connection in listener {
                if !listener.eventLoop.inLoop { offLoop += 1 }
                let loop = connection.eventLoop
                served.append(
                    Task(executorPreference: loop) {
                        var offLoop = loop.inLoop ? 0 : 1
                        while case let bytes = try await connection.read(), !bytes.isEmpty {
                            if !loop.inLoop { offLoop += 1 }
                            try await connection.write(bytes)
                            if !loop.inLoop { offLoop += 1 }
                        }
                        if !loop.inLoop { offLoop += 1 }
                        try connection.shutdownWrite()
                        connection.close()
                        return offLoop
                    })
                if served.count == 3 { break }
            }
            for task in served { offLoop += try await task.value }
            return offLoop
        }
        // The clients on the suite's own thread: the cooperative pool is shared with tests that
        // block it, and under ThreadSanitizer they held it for over 60 s.
        let clients = Task(executorPreference: Self.executor) {
            try await echoClients(3, to: address, group: group)
        }
        // Bounded: a task on a loop that is never run again would otherwise hang the suite (the
        // group's shutdown ends what still waits).
        switch await outcome(of: clients) {
        case nil: Issue.record("the echo did not end within 180 s")
        case .failure(let error): Issue.record("a client failed: \(error)")
        case .success(let correct): #expect(correct == 3, "clients echoed byte for byte")
        }
        switch await outcome(of: server, within: .seconds(10)) {
        case nil: Issue.record("the serving tasks did not end")
        case .failure(let error): Issue.record("the server failed: \(error)")
        case .success(let offLoop): #expect(offLoop == 0, "times a task found itself off its loop's thread")
        }
    }

    @Test(
        "a task started on its loop's own thread runs before the loop waits again, though nothing else wakes the loop",
        arguments: EventLoopBackend.allCases)
    func taskQueuedFromItsLoopRuns(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        defer { group.shutdown() }
        let loop = group.next()
        // A loop with no socket: once it has run the closure below, only the task's own first
        // job, queued from the loop's thread, is left for it to do.
        let ran = Task(executorPreference: Self.executor) { () async throws -> Bool in
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                loop.execute {
                    Task(executorPreference: loop) { continuation.resume(returning: loop.inLoop) }
                }
            }
        }
        switch await outcome(of: ran, within: .seconds(10)) {
        case nil: Issue.record("the task queued from the loop's thread did not run within 10 s")
        case .failure(let error): Issue.record("\(error)")
        case .success(let inLoop): #expect(inLoop, "the task ran off its loop's thread")
        }
    }

    /// Connects `count` clients to the echo server at `address`, each writing 200 KB (then
    /// shutting down its write side) while it reads to end-of-file; returns how many got back
    /// exactly what they sent.
    private func echoClients(_ count: Int, to address: SocketAddress, group: EventLoopGroup) async throws -> Int {
        try await withThrowingTaskGroup(of: Bool.self) { clients in
            for index in 0..<count {
                clients.addTask {
                    let connection = try await AsyncTCPConnection.connect(to: address, group: group)
                    let message = payload(200_000, seed: UInt64(index))
                    async let sending: Void = {
                        try await connection.write(message)
                        try connection.shutdownWrite()
                    }()
                    var echoed: [UInt8] = []
                    while case let bytes = try await connection.read(), !bytes.isEmpty { echoed += bytes }
                    try await sending
                    connection.close()
                    return echoed == message
                }
            }
            return try await clients.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
    }

    @Test("AsyncTCPConnection.connect to a closed port fails with ECONNREFUSED", arguments: EventLoopBackend.allCases)
    func connectRefused(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        defer { group.shutdown() }
        let unused = try Socket(.ipv4, .stream)
        try unused.bind(to: SocketAddress("127.0.0.1:0"))
        let address = try unused.localAddress()
        let error = await #expect(throws: SocketError.self) {
            try await AsyncTCPConnection.connect(to: address, group: group)
        }
        #expect(error?.errno == .connectionRefused, "\(String(describing: error))")
        #expect(error?.address == address)
    }

    /// The cancellation tests' tasks run on a thread of their own, not on the cooperative pool
    /// the suite's blocking tests can hold for minutes (`ThreadExecutor`).
    static let executor = ThreadExecutor()

    /// Waits (bounded) until `readiness` has a task suspended for reading: only then does a
    /// cancellation test exercise the waiting-then-cancelled path, not the check before the wait.
    /// The bound is generous: the whole suite shares two cooperative threads with tests that
    /// block them, and under ThreadSanitizer a wait of over 60 s was seen.
    private func untilSomeoneWaits(_ readiness: Readiness) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(180)
        while await readiness.waiting().readers == 0 {
            try #require(clock.now < deadline, "the task never waited for the socket")
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// How `task` ended, or nil when it has not ended within `limit`: a cancellation that never
    /// reaches the waiting task fails the test instead of hanging it.
    private func outcome<T: Sendable>(
        of task: Task<T, any Error>, within limit: Duration = .seconds(180)
    ) async
        -> Result<T, any Error>?
    {
        let once = ResumeOnce<Result<T, any Error>?>()
        return await withCheckedContinuation { continuation in
            once.start(continuation)
            Task(executorPreference: Self.executor) { once.resume(await task.result) }
            Task(executorPreference: Self.executor) {
                try? await Task.sleep(for: limit)
                once.resume(nil)
            }
        }
    }

    private func expectCancelled<T: Sendable>(_ task: Task<T, any Error>, _ what: String) async {
        switch await outcome(of: task) {
        case nil: Issue.record("\(what): still waiting 180 s after its task was cancelled")
        case .success: Issue.record("\(what): returned a value after its task was cancelled")
        case .failure(let error): #expect(error is CancellationError, "\(what): \(error)")
        }
    }

    @Test(
        "a read waiting for data ends with CancellationError when its task is cancelled (also a task on the loop)",
        arguments: EventLoopBackend.allCases, [false, true])
    func cancelledRead(backend: EventLoopBackend, onLoop: Bool) async throws {
        try await withTaskExecutorPreference(Self.executor) { try await cancelledReadHere(backend, onLoop: onLoop) }
    }

    private func cancelledReadHere(_ backend: EventLoopBackend, onLoop: Bool) async throws {
        let group = try loopGroup(count: 1, on: backend)
        defer { group.shutdown() }
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        let client = try await AsyncTCPConnection.connect(to: listener.localAddress, group: group)
        let accepted = try await listener.accept()
        let executor: any TaskExecutor = onLoop ? accepted.eventLoop : Self.executor
        let reading = Task(executorPreference: executor) { try await accepted.read() }
        // Nothing is ever sent: only cancellation can end this read, once it waits.
        try await untilSomeoneWaits(accepted.readiness)
        reading.cancel()
        await expectCancelled(reading, "the read")
        #expect(await accepted.readiness.waiting().readers == 0, "the cancelled waiter is gone")
        // The connection still works afterwards.
        try await client.write([1, 2, 3])
        var bytes: [UInt8] = []
        while bytes.count < 3 { bytes += try await accepted.read() }
        #expect(bytes == [1, 2, 3])
        client.close()
        accepted.close()
        listener.close()
    }

    @Test(
        "an accept and a UDP receive waiting end with CancellationError when their tasks are cancelled",
        arguments: EventLoopBackend.allCases)
    func cancelledAcceptAndReceive(backend: EventLoopBackend) async throws {
        try await withTaskExecutorPreference(Self.executor) { try await cancelledAcceptAndReceiveHere(backend) }
    }

    private func cancelledAcceptAndReceiveHere(_ backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        defer { group.shutdown() }
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        let accepting = Task(executorPreference: Self.executor) { try await listener.accept() }
        try await untilSomeoneWaits(listener.readiness)
        accepting.cancel()
        await expectCancelled(accepting, "the accept")
        // The listener still accepts.
        let client = try await AsyncTCPConnection.connect(to: listener.localAddress, group: group)
        let accepted = try await listener.accept()
        client.close()
        accepted.close()
        listener.close()

        let udp = try AsyncUDPSocket(bindingTo: SocketAddress("127.0.0.1:0"), group: group)
        let receiving = Task(executorPreference: Self.executor) { try await udp.receive() }
        try await untilSomeoneWaits(udp.readiness)
        receiving.cancel()
        await expectCancelled(receiving, "the receive")
        udp.close()
    }

    /// The CPU time `loop`'s thread has used so far, read on that thread.
    private func cpuTime(of loop: EventLoop) async -> Duration {
        await withCheckedContinuation { (continuation: CheckedContinuation<Duration, Never>) in
            loop.execute {
                var now = timespec()
                clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
                continuation.resume(returning: .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec))
            }
        }
    }

    @Test(
        "a connection reset while no task waits on it costs its loop nothing; the next read reports the reset",
        arguments: EventLoopBackend.allCases, [false, true])
    func resetWhileNobodyWaits(backend: EventLoopBackend, readerOnLoop: Bool) async throws {
        // Off the cooperative pool, as the cancellation tests: under ThreadSanitizer the suite's
        // blocking tests held the pool for over 180 s, and a reader there never began its wait.
        try await withTaskExecutorPreference(Self.executor) {
            try await resetWhileNobodyWaitsHere(backend, readerOnLoop: readerOnLoop)
        }
    }

    private func resetWhileNobodyWaitsHere(_ backend: EventLoopBackend, readerOnLoop: Bool) async throws {
        let group = try loopGroup(count: 1, on: backend)
        defer { group.shutdown() }
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        let client = try Socket(for: listener.localAddress, .stream)
        try client.connect(to: listener.localAddress)
        let accepted = try await listener.accept()
        // A read that waits puts the socket on the loop's selector; then no task waits. (A
        // reader on the loop's thread leaves the read interest in place once it is resumed.)
        let executor: any TaskExecutor = readerOnLoop ? accepted.eventLoop : Self.executor
        let reading = Task(executorPreference: executor) { try await accepted.read() }
        try await untilSomeoneWaits(accepted.readiness)
        try client.sendAll([1])
        #expect(try await reading.value == [1])
        try client.setOption(.linger, .zero)
        try client.close()  // a reset: an error and a hang-up the selector reports with nothing asked

        // The loop has nothing to do for half a second: its thread must not spin on the reset.
        let loop = group.loops[0]
        let before = await cpuTime(of: loop)
        try await Task.sleep(for: .milliseconds(500))
        let used = await cpuTime(of: loop) - before
        #expect(used < .milliseconds(50), "the loop's thread used \(used) of CPU in 500 ms with nothing to do")

        let error = await #expect(throws: SocketError.self) { try await accepted.read() }
        #expect(error?.errno == .connectionReset)
        accepted.close()
        listener.close()
    }

    @Test("AsyncUDPSocket: async send and receive round-trip", arguments: EventLoopBackend.allCases)
    func udpRoundTrip(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        defer { group.shutdown() }
        let server = try AsyncUDPSocket(bindingTo: SocketAddress("127.0.0.1:0"), group: group)
        let client = try AsyncUDPSocket(bindingTo: SocketAddress("127.0.0.1:0"), group: group)
        let echo = Task {
            let (bytes, sender) = try await server.receive()
            try await server.send(bytes, to: sender!)
        }
        try await client.send(Array("datagram".utf8), to: server.localAddress)
        let (reply, sender) = try await client.receive()
        #expect(reply == Array("datagram".utf8))
        #expect(sender == server.localAddress)
        try await echo.value
        server.close()
        client.close()
    }

    @Test("TCPEchoServer and UDPEchoServer compose in a ServiceGroup; a graceful shutdown ends both")
    func serviceGroup() async throws {
        let logger = Logger(label: "test")
        let tcpAddress = AsyncStream.makeStream(of: SocketAddress.self)
        let udpAddress = AsyncStream.makeStream(of: SocketAddress.self)
        var tcp = EchoConfiguration(address: try SocketAddress("127.0.0.1:0"))
        tcp.threads = 1
        tcp.backend = environmentBackend()
        let udp = EchoConfiguration(address: try SocketAddress("127.0.0.1:0"))
        let group = ServiceGroup(
            services: [
                TCPEchoServer(configuration: tcp, logger: logger) { tcpAddress.continuation.yield($0) },
                UDPEchoServer(configuration: udp, logger: logger) { udpAddress.continuation.yield($0) },
            ],
            logger: logger)
        let running = Task { try await group.run() }
        var tcpIterator = tcpAddress.stream.makeAsyncIterator()
        var udpIterator = udpAddress.stream.makeAsyncIterator()
        let tcpBound = try #require(await tcpIterator.next())
        let udpBound = try #require(await udpIterator.next())

        let loops = try EventLoopGroup(count: 1, backend: environmentLoopBackend())
        defer { loops.shutdown() }
        let connection = try await AsyncTCPConnection.connect(to: tcpBound, group: loops)
        try await connection.write(Array("tcp".utf8))
        var echoed: [UInt8] = []
        while echoed.count < 3 { echoed += try await connection.read() }
        #expect(echoed == Array("tcp".utf8))
        let datagrams = try AsyncUDPSocket(bindingTo: SocketAddress("127.0.0.1:0"), group: loops)
        try await datagrams.send(Array("udp".utf8), to: udpBound)
        #expect(try await datagrams.receive().bytes == Array("udp".utf8))

        await group.triggerGracefulShutdown()
        try connection.shutdownWrite()
        #expect(try await connection.read().isEmpty)
        connection.close()
        datagrams.close()
        try await running.value
    }

    @Test("TCPEchoServer in-process on the loops directly: echo, then shutdown drains and returns")
    func inProcessEchoServer() async throws {
        var configuration = EchoConfiguration(address: try SocketAddress("127.0.0.1:0"))
        configuration.threads = 2
        configuration.drainTimeout = .seconds(5)
        configuration.backend = environmentBackend()
        let server = TCPEchoServer(configuration: configuration, logger: Logger(label: "test"))
        let address = try server.start()
        let group = try EventLoopGroup(count: 1, backend: environmentLoopBackend())
        defer { group.shutdown() }
        let connection = try await AsyncTCPConnection.connect(to: address, group: group)
        try await connection.write(Array("in process".utf8))
        var echoed: [UInt8] = []
        while echoed.count < 10 { echoed += try await connection.read() }
        #expect(echoed == Array("in process".utf8))
        #expect(server.connectionCount == 1)
        async let stopped: Void = server.shutdown()
        try connection.shutdownWrite()
        #expect(try await connection.read().isEmpty)
        connection.close()
        await stopped
        #expect(server.connectionCount == 0)
    }
}

/// The listener options reach every accepted connection (set once, on the listener).
@Suite("SockitServer: listener options")
struct ListenerOptionTests {
    @Test("--nodelay, --keepalive and --send-buffer set on the listener are what accepted sockets have")
    func optionsAreInherited() throws {
        var configuration = ListenerConfiguration(address: try SocketAddress("127.0.0.1:0"))
        configuration.noDelay = true
        configuration.keepAlive = KeepAlive(idle: .seconds(42), interval: .seconds(7), count: 3)
        configuration.sendBufferSize = 64 * 1024
        configuration.backlog = 16
        let listener = try configuration.makeListener()
        let client = try connectClient(try listener.localAddress())
        #expect(try listener.poll(for: Int16(POLLIN), timeout: .seconds(10)))
        let (accepted, _) = try listener.accept(nonBlocking: true)
        #expect(try accepted.getOption(.tcpNoDelay) == true)
        #expect(try accepted.getOption(.keepAlive) == true)
        #expect(try accepted.getOption(.tcpKeepAliveIdle) == .seconds(42))
        #expect(try accepted.getOption(.tcpKeepAliveInterval) == .seconds(7))
        #expect(try accepted.getOption(.tcpKeepAliveCount) == 3)
        #expect(try accepted.getOption(.sendBufferSize) == 128 * 1024)  // Linux doubles it
        #expect(try listener.getOption(.reuseAddress) == true)
        try client.close()
    }
}

/// A continuation resumed once, by whichever of several tasks comes first. An `NSLock`
/// (a pthread mutex), which ThreadSanitizer sees, unlike `Synchronization.Mutex`'s futex.
final class ResumeOnce<Value: Sendable>: @unchecked Sendable {  // `continuation` only under `lock`
    private let lock = NSLock()
    private var continuation: CheckedContinuation<Value, Never>?

    func start(_ continuation: CheckedContinuation<Value, Never>) {
        lock.withLock { self.continuation = continuation }
    }

    func resume(_ value: Value) {
        let taken = lock.withLock {
            defer { continuation = nil }
            return continuation
        }
        taken?.resume(returning: value)
    }
}
