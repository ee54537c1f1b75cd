import Foundation
import SockitTestSupport
import Testing

@testable import Sockit

#if canImport(Glibc)
import Glibc
#endif

@Suite("Socket: ownership, I/O and the classic Errno 98")
struct SocketTests {
    @Test func closesItsDescriptorExactlyOnce() throws {
        let socket = try Socket(.ipv4, .stream)
        let fd = socket.fileDescriptor
        #expect(fd >= 0)
        #expect(fcntl(fd, F_GETFD) & FD_CLOEXEC != 0, "created with SOCK_CLOEXEC")
        let identity = try #require(openFileIdentity(fd))
        try socket.close()
        #expect(socket.isClosed)
        #expect(openFileIdentity(fd) != identity, "the socket's descriptor is closed")
        try socket.close()  // a second close does nothing (and cannot close a reused number)
        let error = try #require(throws: SocketError.self) { try socket.localAddress() }
        #expect(error.errno == .badFileDescriptor)
    }

    @Test func deinitClosesAndTakeDescriptorReleasesOwnership() throws {
        var fd: CInt = -1
        var identity: FileIdentity?
        do {
            let socket = try Socket(.ipv4, .datagram)
            fd = socket.fileDescriptor
            identity = openFileIdentity(fd)
        }
        #expect(identity != nil)
        // Other tests run in parallel and may reuse the number: compare what it refers to.
        #expect(openFileIdentity(fd) != identity, "the descriptor was closed with its owner")

        let socket = try Socket(.ipv4, .datagram)
        let taken = socket.takeDescriptor()
        #expect(socket.isClosed)
        let adopted = try Socket(adopting: taken)
        #expect(adopted.type == .datagram)
        #expect(adopted.domain == .ipv4)
    }

    @Test func adoptingANonSocketFailsAndLeavesItOpen() throws {
        var fds: [CInt] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let error = try #require(throws: SocketError.self) { try Socket(adopting: fds[0]) }
        #expect(error.errno == .notSocket)
        #expect(fcntl(fds[0], F_GETFD) != -1)
    }

    @Test func streamRoundTripWithHalfClose() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let client = try Socket(for: address, .stream)
        try client.connect(to: address)
        let (server, peer) = try listener.accept()
        #expect(peer == (try client.localAddress()))
        #expect(try server.remoteAddress() == (try client.localAddress()))

        let payload = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sender = Thread {
            try? client.sendAll(payload)
            try? client.shutdown(.write)
        }
        sender.start()
        let received = try server.receiveAll(limit: 1 << 20)
        #expect(received == payload, "binary-safe, every byte, then end-of-file")
        try server.sendAll(Array("bye".utf8))
        try server.close()
        #expect(try client.receiveAll() == Array("bye".utf8))
    }

    @Test func ipv6StreamRoundTrip() throws {
        let (listener, address) = try TestSupport.loopbackListener(ipv6: true)
        #expect(address.description.hasPrefix("[::1]:"))
        let client = try Socket(.ipv6, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let (server, _) = try listener.accept()
        try client.sendAll([1, 2, 3])
        #expect(try server.receive(maxBytes: 3) == [1, 2, 3])
    }

    @Test func datagramsCarryTheirSender() throws {
        let receiver = try Socket(.ipv4, .datagram)
        try receiver.bind(to: .ipv4(.loopback(port: 0)))
        let sender = try Socket(.ipv4, .datagram)
        try sender.bind(to: .ipv4(.loopback(port: 0)))
        try sender.send([0, 1, 2, 255], to: try receiver.localAddress())
        let (bytes, from) = try receiver.receiveFrom()
        #expect(bytes == [0, 1, 2, 255])
        #expect(from == (try sender.localAddress()))
    }

    /// A signal whose handler does not ask for `SA_RESTART` makes a blocked call fail with EINTR;
    /// sockit retries it, so the caller sees the connection or datagram, never EINTR. The thread
    /// is signalled only once the kernel shows it blocked in the call (`/proc/self/task/TID/syscall`).
    @Test func blockedCallsInterruptedBySignalsAreRetried() throws {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var previous = sigaction()
        #expect(sigaction(SIGURG, &action, &previous) == 0)
        defer { sigaction(SIGURG, &previous, nil) }

        let (listener, address) = try TestSupport.loopbackListener()
        let accepted = try Self.interruptWhileBlocked(in: Self.acceptCalls) { () throws(SocketError) in
            try listener.accept().1
        } unblock: {
            let client = try Socket(.ipv4, .stream)
            try client.connect(to: address, timeout: .seconds(5))
            return client
        }
        #expect(accepted != nil)

        let receiver = try Socket(.ipv4, .datagram)
        try receiver.bind(to: .ipv4(.loopback(port: 0)))
        let receiverAddress = try receiver.localAddress()
        let datagram = try Self.interruptWhileBlocked(in: Self.receiveCalls) { () throws(SocketError) in
            try receiver.receiveFrom(maxBytes: 16).0
        } unblock: {
            let sender = try Socket(.ipv4, .datagram)
            try sender.send([1, 2, 3], to: receiverAddress)
            return sender
        }
        #expect(datagram == [1, 2, 3])

        // A Unix connect waits for room in a full backlog (blocking, up to SO_SNDTIMEO).
        let path = SocketAddress.unix(.init(path: "sockit-test-eintr-\(getpid())", isAbstract: true))
        let unixListener = try Socket(.unix, .stream)
        try unixListener.bind(to: path)
        try unixListener.listen(backlog: 0)
        let queued = try Socket(.unix, .stream, nonBlocking: true)
        _ = try queued.connectNonBlocking(to: path)
        let connected = try Self.interruptWhileBlocked(in: Self.connectCalls) { () throws(SocketError) in
            let client = try Socket(.unix, .stream)
            try client.connect(to: path, timeout: .seconds(30))
            return try client.remoteAddress()
        } unblock: {
            try unixListener.accept()
        }
        #expect(connected == path)
        withExtendedLifetime(queued) {}
    }

    #if arch(x86_64)
    static let acceptCalls = [288, 43]  // accept4, accept
    static let receiveCalls = [45]  // recvfrom
    static let connectCalls = [42]  // connect
    #elseif arch(arm64)
    static let acceptCalls = [242, 202]
    static let receiveCalls = [207]
    static let connectCalls = [203]
    #endif

    // Written by the thread before it ends, read after the join.
    final class Blocked<Value: Sendable>: @unchecked Sendable {
        var tid: Int32 = 0
        var result: Result<Value, SocketError>?
    }

    /// Runs `call` on a thread; each time the thread is blocked in one of `syscalls`, sends it
    /// SIGURG (3 times), then runs `unblock` and returns what `call` returned.
    static func interruptWhileBlocked<Value: Sendable, Keep>(
        in syscalls: [Int], _ call: @escaping @Sendable () throws(SocketError) -> Value,
        unblock: () throws -> Keep
    ) throws -> Value {
        let blocked = Blocked<Value>()
        let started = DispatchSemaphore(value: 0)
        let thread = try #require(
            startThread {
                // /proc/thread-self links to PID/task/TID.
                let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
                blocked.tid = link.split(separator: "/").last.flatMap { Int32($0) } ?? 0
                // The thread inherits its creator's mask, which may block SIGURG: unblock it here.
                var urgent = sigset_t()
                sigemptyset(&urgent)
                sigaddset(&urgent, SIGURG)
                pthread_sigmask(SIG_UNBLOCK, &urgent, nil)
                started.signal()
                blocked.result = Result { () throws(SocketError) in try call() }
            })
        started.wait()
        let tid = blocked.tid
        func isBlocked() -> Bool {
            guard let text = try? String(contentsOfFile: "/proc/self/task/\(tid)/syscall", encoding: .utf8),
                let number = text.split(separator: " ").first.flatMap({ Int($0) })
            else { return false }
            return syscalls.contains(number)
        }
        for _ in 0..<3 {
            try #require(TestSupport.eventually(timeout: .seconds(10), isBlocked), "never blocked in \(syscalls)")
            #expect(pthread_kill(thread, SIGURG) == 0)
            // Out of the call, then (retried) back in it: the next round waits for that.
            _ = TestSupport.eventually(timeout: .milliseconds(200)) { !isBlocked() }
        }
        let keep = try unblock()
        pthread_join(thread, nil)
        withExtendedLifetime(keep) {}
        return try #require(blocked.result).get()
    }

    /// SIGPIPE is blocked while sending (`TestSupport.raisesSIGPIPE`), so one raised is seen
    /// pending instead of killing the test process (or vanishing if the process ignores it).
    @Test func sendToAClosedPeerIsAnErrorNotSIGPIPE() throws {
        let (first, second) = try Socket.pair()
        try second.close()
        let (error, raised) = TestSupport.raisesSIGPIPE {
            #expect(throws: SocketError.self) { try first.sendAll(Array(repeating: 7, count: 1024)) }
        }
        #expect(error?.errno == .brokenPipe)
        #expect(!raised, "sending to a closed peer raised SIGPIPE")
    }

    @Test func connectTimesOutOrIsRefusedWithClearErrors() throws {
        let placeholder = try Socket(.ipv4, .stream)
        try placeholder.bind(to: .ipv4(.loopback(port: 0)))
        let address = try placeholder.localAddress()
        try placeholder.close()
        let client = try Socket(.ipv4, .stream)
        let error = try #require(throws: SocketError.self) { try client.connect(to: address, timeout: .seconds(5)) }
        #expect(error.errno == .connectionRefused)
        #expect(
            error.description.hasPrefix("cannot connect to \(address): connection refused (ECONNREFUSED, errno 111)"))
        #expect(error.description.contains("nothing listens on \(address)"))
        #expect(try client.isNonBlocking() == false, "blocking mode restored after a timed connect")
    }

    /// A Unix listener that never accepts, its backlog full: a connect with a timeout fails with
    /// ETIMEDOUT after about that long, and does not report a connection that was never made.
    @Test func unixConnectToAFullBacklogTimesOut() throws {
        let address = SocketAddress.unix(
            .init(path: "sockit-test-backlog-\(getpid())-\(UInt32.random(in: 0...UInt32.max))", isAbstract: true))
        let listener = try Socket(.unix, .stream)
        try listener.bind(to: address)
        try listener.listen(backlog: 0)
        var queued: [Socket] = []
        var full = false
        for _ in 0..<16 where !full {
            let client = try Socket(.unix, .stream, nonBlocking: true)
            do {
                _ = try client.connectNonBlocking(to: address)
                queued.append(client)
            } catch {
                #expect(error.errno == .wouldBlock, "\(error)")
                full = true
            }
        }
        try #require(full, "the backlog never filled (\(queued.count) queued)")

        let late = try Socket(.unix, .stream)
        let clock = ContinuousClock()
        let start = clock.now
        let error = try #require(throws: SocketError.self) {
            try late.connect(to: address, timeout: .milliseconds(300))
        }
        let waited = start.duration(to: clock.now)
        #expect(error.errno == .timedOut, "\(error)")
        #expect(waited >= .milliseconds(250) && waited < .seconds(3), "gave up after \(waited)")
        #expect(throws: SocketError.self) { try late.remoteAddress() }
        #expect(try late.getOption(.sendTimeout) == nil, "SO_SNDTIMEO restored")

        // Once the listener takes one, a connect with a timeout succeeds.
        _ = try listener.accept()
        try late.connect(to: address, timeout: .seconds(5))
        #expect(try late.remoteAddress() == address)
    }

    @Test func receiveTimeoutExpiresAsWouldBlock() throws {
        let (first, second) = try Socket.pair()
        try first.setOption(.receiveTimeout, .milliseconds(50))
        let error = try #require(throws: SocketError.self) { try first.receive(maxBytes: 10) }
        #expect(error.errno == .wouldBlock)
        #expect(!second.isClosed)
    }

    @Test func broadcastWithoutSOBroadcastIsExplained() throws {
        let socket = try Socket(.ipv4, .datagram)
        let target = try SocketAddress("127.255.255.255:9")
        let error = try #require(throws: SocketError.self) { try socket.send([1], to: target) }
        #expect(error.errno == .permissionDenied)
        #expect(error.description.hasPrefix("cannot send to 127.255.255.255:9: permission denied (EACCES, errno 13)"))
        #expect(error.description.contains("SO_BROADCAST"))
        try socket.setOption(.broadcast, true)
        #expect(try socket.send([1], to: target) == 1)
    }

    // MARK: The classic: [Errno 98] Address already in use

    /// Makes a server-side TIME_WAIT on a fresh port: the server accepts a connection and closes
    /// it first, the client closes after reading end-of-file, then the listener closes.
    /// Returns the port's address.
    private func leaveTimeWait(reuseAddress: Bool) throws -> SocketAddress {
        let (listener, address) = try TestSupport.loopbackListener(reuseAddress: reuseAddress)
        let client = try Socket(.ipv4, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let (server, _) = try listener.accept()
        try server.close()  // the server closes first: its side will sit in TIME_WAIT
        #expect(try client.receive(maxBytes: 1).isEmpty, "client reads end-of-file")
        try client.close()
        try listener.close()
        return address
    }

    @Test func rebindOverTimeWaitFailsWithoutReuseAddressAndExplainsWhy() throws {
        let address = try leaveTimeWait(reuseAddress: false)
        let again = try Socket(.ipv4, .stream)
        let error = try #require(throws: SocketError.self) { try again.bind(to: address) }
        #expect(error.errno == .addressInUse)
        #expect(error.syscall == "bind")
        #expect(error.address == address)
        let text = error.description
        #expect(text.hasPrefix("cannot bind \(address): address already in use (EADDRINUSE, errno 98)"))
        #expect(text.contains("TIME_WAIT"))
        #expect(text.contains("SO_REUSEADDR"))
        #expect(text.contains("SocketOption.reuseAddress"))
    }

    @Test func rebindOverTimeWaitSucceedsAtOnceWithReuseAddress() throws {
        let address = try leaveTimeWait(reuseAddress: true)
        let again = try Socket(.ipv4, .stream)
        try again.setOption(.reuseAddress, true)
        try again.bind(to: address)
        try again.listen()
        #expect(try again.localAddress() == address)
    }

    @Test func aLiveListenerHoldsThePortEvenWithReuseAddress() throws {
        let (listener, address) = try TestSupport.loopbackListener(reuseAddress: true)
        defer { withExtendedLifetime(listener) {} }
        let again = try Socket(.ipv4, .stream)
        try again.setOption(.reuseAddress, true)
        let error = try #require(throws: SocketError.self) { try again.bind(to: address) }
        #expect(error.errno == .addressInUse)
        #expect(error.description.contains("SO_REUSEADDR is set"))
        #expect(
            error.remedies == [.findHolder(port: address.port!, datagram: false), .stopHolder(port: address.port!)])
    }
}

@Suite("SocketError explanations")
struct SocketErrorTests {
    @Test func privilegedPortNamesTheWaysOut() {
        let error = SocketError(syscall: "bind", errno: .permissionDenied, address: .ipv4(.any(port: 80)))
        #expect(error.description.hasPrefix("cannot bind 0.0.0.0:80: permission denied (EACCES, errno 13)"))
        #expect(error.description.contains("below 1024"))
        #expect(error.description.contains("CAP_NET_BIND_SERVICE"))
        #expect(error.description.contains("net.ipv4.ip_unprivileged_port_start"))
    }

    @Test(arguments: [
        (Errno.addressNotAvailable, "bind", "not an address of this machine"),
        (Errno.timedOut, "connect", "in time"),
        (Errno.notPermitted, "setsockopt", "CAP_NET_ADMIN"),
        (Errno.invalidArgument, "setsockopt", "rejected the value"),
        (Errno.tooManyOpenFiles, "accept4", "limit of open files"),
        (Errno.tooManyOpenFilesInSystem, "socket", "fs.file-max"),
    ])
    func everyCommonErrnoHasAnExplanation(errno: Errno, syscall: String, phrase: String) {
        let error = SocketError(
            syscall: syscall, errno: errno, address: .ipv4(.init(octets: 10, 9, 9, 9, port: 8080)), option: "SO_MARK")
        #expect(error.explanation.contains { $0.contains(phrase) }, "\(error.description)")
        #expect(error.summary.contains("(\(errno.name), errno \(errno.rawValue))"))
    }

    /// A bind error says what to do as data: a program can act on it (set the option and bind
    /// again), and `description` says it in the library's words, naming no command.
    @Test func remediesAreTypedAndNameNoCommand() {
        let error = SocketError(
            syscall: "bind", errno: .addressInUse, address: .ipv4(.loopback(port: 8080)), socketType: .stream,
            reuseAddressWasSet: false)
        #expect(error.remedies == [.setReuseAddress, .findHolder(port: 8080, datagram: false)])
        #expect(!error.description.contains("sockit "), "\(error.description)")
        #expect(error.description.contains("SocketOption.reuseAddress"))
        let udp = SocketError(
            syscall: "bind", errno: .addressInUse, address: .ipv4(.loopback(port: 53)), socketType: .datagram)
        #expect(udp.remedies == [.findHolder(port: 53, datagram: true)])
        let privileged = SocketError(syscall: "bind", errno: .permissionDenied, address: .ipv4(.any(port: 80)))
        #expect(privileged.remedies.contains(.grantCapability("CAP_NET_BIND_SERVICE")))
    }

    /// A diagnoser passed to `bind` explains an EADDRINUSE; without one the error is the plain one.
    @Test func aDiagnoserPassedToBindExplainsAddressInUse() throws {
        struct Fixed: BindDiagnoser {
            func diagnoseAddressInUse(
                _ address: SocketAddress, type: SocketType, reuseAddressWasSet: Bool?
            )
                -> BindDiagnosis?
            {
                BindDiagnosis(
                    explanation: ["held by the test (\(type), reuse \(reuseAddressWasSet ?? true))"], remedies: [.retry]
                )
            }
        }
        let (listener, address) = try TestSupport.loopbackListener()
        let second = try Socket(.ipv4, .stream)
        let diagnosed = try #require(throws: SocketError.self) { try second.bind(to: address, diagnoser: Fixed()) }
        #expect(diagnosed.errno == .addressInUse)
        #expect(diagnosed.explanation == ["held by the test (SOCK_STREAM, reuse false)"])
        #expect(diagnosed.remedies == [.retry])
        let plain = try #require(throws: SocketError.self) { try second.bind(to: address) }
        #expect(plain.remedies.contains(.setReuseAddress))
        _ = listener
    }

    @Test func errnoMatchesInCatch() {
        do {
            throw SocketError(syscall: "bind", errno: .addressInUse)
        } catch Errno.addressInUse {
            // matched
        } catch {
            Issue.record("did not match: \(error)")
        }
    }
}

/// What a descriptor refers to (device and inode), or nil when it is not open. Tests compare
/// these rather than descriptor numbers, which parallel tests may reuse at any moment.
struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64
}

func openFileIdentity(_ fd: CInt) -> FileIdentity? {
    var info = stat()
    guard fstat(fd, &info) == 0 else { return nil }
    return FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
}
