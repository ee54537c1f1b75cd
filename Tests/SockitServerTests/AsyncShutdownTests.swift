import Sockit
import SockitServer
import SockitTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Async sockets outlive their event loops: a program shuts its `EventLoopGroup` down, then
/// drops or closes what it still holds, or was waiting on a read at that moment. Nothing may
/// leak a descriptor or hang.
@Suite("SockitServer: async sockets after their loop group shut down")
struct AsyncShutdownTests {
    @Test(
        "a connection dropped after its loop group shut down closes its descriptor: the peer reads end-of-file",
        arguments: EventLoopBackend.allCases)
    func droppedConnectionCloses(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        let client = try connectClient(listener.localAddress, timeout: .seconds(5))
        var accepted: AsyncTCPConnection? = try await listener.accept()
        try await readOnce(accepted!, from: client)  // registered on the loop, and working
        let inode = try #require(socketInode(accepted!.socket.fileDescriptor))
        await group.shutdownGracefully()
        accepted = nil
        #expect(!openSocketInodes().contains(inode), "the dropped connection's socket is still open")
        let eof = Result { () throws(SocketError) in try client.receive(maxBytes: 1) }
        switch eof {
        case .success(let bytes): #expect(bytes.isEmpty)
        case .failure(let error): Issue.record("the peer never saw the close: \(error)")
        }
        listener.close()
    }

    @Test(
        "a listener closed after its loop group shut down stops listening: connecting is refused",
        arguments: EventLoopBackend.allCases)
    func closedListenerStopsListening(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        let address = listener.localAddress
        // An accept that waits registers the listener on the loop; a connection ends the wait.
        async let first = listener.accept()
        let client = try connectClient(address, timeout: .seconds(5))
        let connection = try await first
        // The listening socket itself, from the kernel's table: a connection refused is not
        // enough, nor a connection accepted too much proof, since another test in this process may
        // bind the freed port number at once.
        let inode = try #require(listeningInode(port: address.port ?? 0))
        await group.shutdownGracefully()
        listener.close()
        #expect(!openSocketInodes().contains(inode), "the closed listener's socket is still open")
        #expect(listeningInode(port: address.port ?? 0) != inode, "the closed listener still listens")
        let again = Result { () throws(SocketError) in try connectClient(address, timeout: .seconds(5)) }
        switch again {
        case .success(let other): try? other.close()  // another listener took the number: checked above
        case .failure(let error): #expect(error.errno == .connectionRefused)
        }
        connection.close()
        try client.close()
    }

    @Test(
        "a UDP socket closed after its loop group shut down releases its descriptor",
        arguments: EventLoopBackend.allCases)
    func closedUDPSocketReleases(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        let socket = try AsyncUDPSocket(bindingTo: SocketAddress("127.0.0.1:0"), group: group)
        let peer = try AsyncUDPSocket(bindingTo: SocketAddress("127.0.0.1:0"), group: group)
        try await peer.send([7], to: socket.localAddress)
        #expect(try await socket.receive().bytes == [7])
        let inode = try #require(socketInode(socket.socket.fileDescriptor))
        await group.shutdownGracefully()
        socket.close()
        peer.close()
        #expect(!openSocketInodes().contains(inode), "the closed UDP socket is still open")
    }

    @Test(
        "a read waiting when its loop group shuts down fails instead of hanging; closing then frees the socket",
        arguments: EventLoopBackend.allCases)
    func pendingReadFailsAtShutdown(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        let client = try connectClient(listener.localAddress, timeout: .seconds(5))
        let accepted = try await listener.accept()
        let (started, startedContinuation) = AsyncStream.makeStream(of: Void.self)
        let outcome = await finishing(within: .seconds(10)) {
            // Nothing is ever sent: only the shutdown can end this read.
            async let reading = accepted.read()
            startedContinuation.yield()
            return try await reading
        } meanwhile: {
            for await _ in started { break }
            await group.shutdownGracefully()
        }
        switch outcome {
        case nil: Issue.record("the read was still waiting 10 s after the loop group shut down")
        case .success(let bytes): Issue.record("the read returned \(bytes) without data or end-of-file")
        case .failure(let error): #expect((error as? SocketError)?.errno == Errno(rawValue: ECANCELED), "\(error)")
        }
        let inode = try #require(socketInode(accepted.socket.fileDescriptor))
        accepted.close()
        #expect(!openSocketInodes().contains(inode))
        #expect(try client.receive(maxBytes: 1).isEmpty)
        listener.close()
    }

    @Test(
        "a read started after its loop group shut down fails at once; an accept loop ends",
        arguments: EventLoopBackend.allCases)
    func readAfterShutdownFails(backend: EventLoopBackend) async throws {
        let group = try loopGroup(count: 1, on: backend)
        let listener = try AsyncTCPListener(ListenerConfiguration(address: SocketAddress("127.0.0.1:0")), group: group)
        let client = try connectClient(listener.localAddress, timeout: .seconds(5))
        let accepted = try await listener.accept()
        await group.shutdownGracefully()
        let read = await finishing(within: .seconds(10)) { try await accepted.read() }
        switch read {
        case nil: Issue.record("a read after the shutdown was still waiting after 10 s")
        case .success(let bytes): Issue.record("the read returned \(bytes)")
        case .failure(let error): #expect((error as? SocketError)?.errno == Errno(rawValue: ECANCELED), "\(error)")
        }
        // No connection is waiting: the accept would have to wait, and ends the sequence instead.
        let next = await finishing(within: .seconds(10)) { () async throws -> Bool in
            var iterator = listener.makeAsyncIterator()
            return try await iterator.next() == nil
        }
        switch next {
        case nil: Issue.record("the accept loop was still waiting after 10 s")
        case .success(let ended): #expect(ended)
        case .failure(let error): Issue.record("the accept loop threw \(error)")
        }
        accepted.close()
        listener.close()
        try client.close()
    }
}

/// A read that waits (so the connection is registered on its loop) until `client` sends a byte.
func readOnce(_ connection: AsyncTCPConnection, from client: Socket) async throws {
    async let reading = connection.read()
    try client.sendAll([1])
    #expect(try await reading == [1])
}

/// The inode of the socket open at `fd` (`fstat`): unlike the descriptor number, which the next
/// `socket()` anywhere in the test process may reuse, it names this socket only.
func socketInode(_ fd: CInt) -> UInt64? {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    return UInt64(info.st_ino)
}

/// The inode of the TCP socket listening on 127.0.0.1:`port`, from /proc/net/tcp.
func listeningInode(port: UInt16) -> UInt64? {
    guard let table = try? TestSupport.readProcFile("/proc/net/tcp") else { return nil }
    let local = "0100007F:" + String(format: "%04X", port)
    for line in table.split(separator: "\n").dropFirst() {
        let fields = line.split(separator: " ")
        if fields.count > 9 && fields[1] == local && fields[3] == "0A" { return UInt64(fields[9]) }
    }
    return nil
}

/// The inodes of every socket this process has open (`/proc/self/fd/N` -> `socket:[INODE]`).
func openSocketInodes() -> Set<UInt64> {
    var inodes = Set<UInt64>()
    guard let directory = opendir("/proc/self/fd") else { return inodes }
    defer { closedir(directory) }
    var buffer = [CChar](repeating: 0, count: 64)
    for _ in 0..<1_000_000 {
        guard let entry = readdir(directory) else { break }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let count = readlink("/proc/self/fd/\(name)", &buffer, buffer.count - 1)
        guard count > 0 else { continue }
        let target = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast()) { inodes.insert(inode) }
    }
    return inodes
}

/// Runs `body` (and `meanwhile` beside it) and returns how `body` ended, or nil when it has not
/// ended within `timeout`: a hung task is then left behind instead of hanging the test.
func finishing<T: Sendable>(
    within timeout: Duration, _ body: @escaping @Sendable () async throws -> T,
    meanwhile: @escaping @Sendable () async -> Void = {}
) async -> Result<T, any Error>? {
    let (outcomes, continuation) = AsyncStream.makeStream(of: Result<T, any Error>?.self)
    let work = Task {
        do { continuation.yield(.success(try await body())) } catch { continuation.yield(.failure(error)) }
    }
    let side = Task { await meanwhile() }
    let timer = Task {
        try? await Task.sleep(for: timeout)
        continuation.yield(nil)
    }
    var iterator = outcomes.makeAsyncIterator()
    let first = await iterator.next() ?? nil
    timer.cancel()
    work.cancel()
    await side.value
    return first
}
