import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Clients of an echo server that send and never read, and what the server holds for them,
/// worked out from the kernel's queues rather than from anything the server says.
final class NonReadingClients {
    let sockets: [Socket]
    /// Bytes each socket's `send` took.
    private(set) var sent: [Int]
    let server: SocketAddress

    /// `count` connections with small kernel buffers (so that filling them takes little), each
    /// made before the next.
    init(count: Int, to server: SocketAddress) throws {
        var sockets: [Socket] = []
        for _ in 0..<count {
            let socket = try Socket(for: server, .stream)
            try socket.setOption(.sendBufferSize, 8192)
            try socket.setOption(.receiveBufferSize, 4096)
            try socket.connect(to: server, timeout: .seconds(10))
            try socket.setNonBlocking(true)
            sockets.append(socket)
        }
        self.sockets = sockets
        self.sent = Array(repeating: 0, count: count)
        self.server = server
    }

    /// Sends on every open socket whatever it takes, until none has taken anything for
    /// `quiet`: the server reads from none of them any more. False if that took over `limit`.
    func pushUntilStuck(quiet: Duration = .seconds(1), limit: Duration = .seconds(40)) throws -> Bool {
        let chunk = payload(65536, seed: 9)
        let deadline = ContinuousClock.now + limit
        var open = sockets.indices.filter { !sockets[$0].isClosed }
        while ContinuousClock.now < deadline {
            var fds = open.map { pollfd(fd: sockets[$0].fileDescriptor, events: Int16(POLLOUT), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), CInt(quiet.milliseconds))
            if ready == 0 { return true }
            if ready < 0 { continue }  // EINTR
            for (position, entry) in fds.enumerated() where entry.revents != 0 && ContinuousClock.now < deadline {
                let index = open[position]
                if entry.revents & Int16(POLLOUT) == 0 {
                    Issue.record("client \(index): poll reported \(entry.revents) (the server closed it?)")
                    open.removeAll { $0 == index }
                    break
                }
                for _ in 0..<8 {
                    let result = try chunk.withUnsafeBytes { raw throws(SocketError) in
                        try sockets[index].sendNonBlocking(raw)
                    }
                    guard case .processed(let count) = result else { break }
                    sent[index] += count
                }
            }
        }
        return false
    }

    /// Resets connection `index` (SO_LINGER 0: the server sees ECONNRESET).
    func reset(_ index: Int) throws {
        try sockets[index].setOption(.linger, Duration.zero)
        try sockets[index].close()
    }

    /// What the server process holds for each client (nil for closed ones): the bytes it has
    /// read from the client but not yet written back. From one `ss` dump, both ends of each
    /// connection: read by the server = sent by the client, less the client's send queue (not
    /// yet acknowledged) and the server's receive queue (not yet read); written by the server
    /// = its send queue plus the client's receive queue (the client reads nothing). Exact when
    /// nothing moves, as once `pushUntilStuck` returned true.
    func heldByServer() throws -> [Int?] {
        let port = server.port ?? 0
        let result = try TestSupport.run(
            "/usr/bin/ss", ["-tnH", "state", "established", "( sport = :\(port) or dport = :\(port) )"])
        try #require(result.status == 0, "ss failed: \(result.stderr)")
        // Local and peer address -> (Recv-Q, Send-Q).
        var queues: [String: (Int, Int)] = [:]
        for line in result.stdout.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, let receive = Int(fields[0]), let send = Int(fields[1]) else { continue }
            queues["\(fields[2]) \(fields[3])"] = (receive, send)
        }
        let serverEnd = "127.0.0.1:\(port)"
        return try sockets.indices.map { index -> Int? in
            guard !sockets[index].isClosed else { return nil }
            let clientEnd = "127.0.0.1:\(try sockets[index].localAddress().port ?? 0)"
            let client = try #require(
                queues["\(clientEnd) \(serverEnd)"], "ss does not list the client end \(clientEnd)")
            let server = try #require(
                queues["\(serverEnd) \(clientEnd)"], "ss does not list the server end for \(clientEnd)")
            let read = sent[index] - client.1 - server.0
            let written = server.1 + client.0
            return read - written
        }
    }

    /// `heldByServer()` once two dumps in a row agree, pushing in between: the state is at rest.
    func heldByServerAtRest() throws -> [Int?] {
        var last = try heldByServer()
        for _ in 0..<10 {
            try #require(try pushUntilStuck(), "the clients never stopped sending")
            let now = try heldByServer()
            if now == last { return now }
            last = now
        }
        Issue.record("the server's queues did not settle")
        return last
    }
}

/// A field of /proc/PID/status in KiB (VmRSS: resident now, VmHWM: the peak so far).
func statusKiB(_ pid: pid_t, _ field: String) -> Int? {
    guard let file = fopen("/proc/\(pid)/status", "r") else { return nil }
    defer { fclose(file) }
    var buffer = [CChar](repeating: 0, count: 512)
    while fgets(&buffer, CInt(buffer.count), file) != nil {
        let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if line.hasPrefix(field + ":") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
    }
    return nil
}

/// Raises this process's soft RLIMIT_NOFILE to at least `count` (and the hard limit if needed,
/// which takes root); the processes it starts afterwards inherit it.
func raiseDescriptorLimit(to count: Int) throws {
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    var limit = rlimit()
    try #require(getrlimit(resource, &limit) == 0)
    guard limit.rlim_cur < rlim_t(count) else { return }
    limit.rlim_cur = rlim_t(count)
    if limit.rlim_max < rlim_t(count) { limit.rlim_max = rlim_t(count) }
    try #require(setrlimit(resource, &limit) == 0, "cannot raise RLIMIT_NOFILE to \(count): errno \(errno)")
}

/// The sanitizer runtime this test process carries, if any (`__tsan_init`, `__asan_init`): the
/// `sockit` it starts is built with the same one (`Scripts/sanitize.sh`).
let sanitizerRuntime: String? = ["__tsan_init", "__asan_init"].first {
    dlsym(UnsafeMutableRawPointer(bitPattern: 0), $0) != nil
}
