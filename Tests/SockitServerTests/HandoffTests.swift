import Foundation
import Sockit
import SockitTestSupport
import Synchronization
import Testing

@testable import SockitServer

@Suite("Hand-off protocol messages")
struct HandoffMessageTests {
    @Test(arguments: [
        HandoffMessage.request, .ready, .done, .ack, .denied(reason: "uid 65534 may not take these sockets"),
        .listeners(count: 1, names: []), .listeners(count: 2, names: ["http", "admin"]),
    ])
    func encodesAndParsesBack(message: HandoffMessage) throws {
        #expect(try HandoffMessage(parsing: message.encoded) == message)
    }

    @Test(arguments: [
        "", "\n", "SOCKIT-HANDOFF 2 REQUEST\n", "sockit-handoff 1 REQUEST", "SOCKIT-HANDOFF 1 REQUEST extra",
        "SOCKIT-HANDOFF 1 LISTENERS", "SOCKIT-HANDOFF 1 LISTENERS 0", "SOCKIT-HANDOFF 1 LISTENERS 17",
        "SOCKIT-HANDOFF 1 LISTENERS -1", "SOCKIT-HANDOFF 1 LISTENERS 2 a", "SOCKIT-HANDOFF 1 LISTENERS 1 a,b",
        "SOCKIT-HANDOFF 1 LISTENERS 2 a,", "SOCKIT-HANDOFF 1 LISTENERS 99999999999999999999",
        "SOCKIT-HANDOFF 1 READY\u{0}", "SOCKIT-HANDOFF 1 DENIED", "SOCKIT-HANDOFF 1 EXPLODE",
        "SOCKIT-HANDOFF 1 ACK now",
        "SOCKIT-HANDOFF 1 ack",
        "SOCKIT-HANDOFF 1 " + String(repeating: "A", count: 300),
    ])
    func rejectsMalformedLines(line: String) {
        #expect(throws: HandoffMessage.ParseError.self) { try HandoffMessage(parsing: Array(line.utf8)) }
    }

    // Found by fuzzing (Fuzz/, target handoff): messages `encoded` produced that the parser
    // rejected, which fails the hand-off, and lines it accepted that `encoded` never produces.

    /// Text that starts with a combining mark: parsed as Characters, the mark merged with the
    /// space before it, and the line did not split into its words.
    @Test(arguments: [HandoffMessage.listeners(count: 1, names: ["\u{301}a"]), .denied(reason: "\u{301} no")])
    func combiningMarksAfterASpaceParseBack(message: HandoffMessage) throws {
        #expect(try HandoffMessage(parsing: message.encoded) == message)
    }

    /// Names the line cannot carry (systemd's LISTEN_FDNAMES allows spaces and commas, a listener
    /// may have no name, the counts may differ) are left out; the count still goes through.
    @Test(arguments: [
        (2, ["a b", "c"]), (1, [""]), (2, ["", ""]), (1, ["a,b"]), (1, ["tab\there"]), (2, ["echo"]),
        (16, (0..<16).map { _ in String(repeating: "n", count: 20) }),
    ])
    func listenersWithNamesTheLineCannotCarryStillParse(count: Int, names: [String]) throws {
        let message = HandoffMessage.listeners(count: count, names: names)
        #expect(message.encoded.count <= HandoffMessage.maximumLength)
        #expect(try HandoffMessage(parsing: message.encoded) == .listeners(count: count, names: []))
    }

    /// A reason loses its control characters (not only newlines) and is cut to fit the line.
    @Test func deniedReasonsAlwaysParse() throws {
        #expect(
            try HandoffMessage(parsing: HandoffMessage.denied(reason: "a\tb\u{7f}c\r\n").encoded)
                == .denied(reason: "abc"))
        let long = HandoffMessage.denied(reason: String(repeating: "é", count: 300))
        #expect(long.encoded.count <= HandoffMessage.maximumLength)
        guard case .denied(let reason) = try HandoffMessage(parsing: long.encoded) else {
            Issue.record("not DENIED")
            return
        }
        #expect(!reason.isEmpty && reason.allSatisfy { $0 == "é" })
    }

    /// Lines that `encoded` never produces: a count with a leading zero; 256 bytes without the
    /// newline (found at 303,391 inputs: the limit counts the newline).
    @Test(arguments: [
        "SOCKIT-HANDOFF 1 LISTENERS 01", "SOCKIT-HANDOFF 1 LISTENERS 02 a,b",
        "SOCKIT-HANDOFF 1 DENIED " + String(repeating: "x", count: 232),
    ])
    func rejectsLinesEncodedNeverProduces(line: String) {
        #expect(throws: HandoffMessage.ParseError.self) { try HandoffMessage(parsing: Array(line.utf8)) }
    }

    @Test func theLongestLineIs256BytesWithItsNewline() throws {
        let reason = String(repeating: "x", count: 231)
        let line = Array(("SOCKIT-HANDOFF 1 DENIED " + reason + "\n").utf8)
        #expect(line.count == HandoffMessage.maximumLength)
        #expect(try HandoffMessage(parsing: line) == .denied(reason: reason))
        #expect(try HandoffMessage(parsing: line.dropLast()) == .denied(reason: reason))
        #expect(HandoffMessage.denied(reason: reason + "x").encoded == line, "one more is cut")
    }

    @Test func rejectsInvalidUTF8() {
        #expect(throws: HandoffMessage.ParseError.self) {
            try HandoffMessage(parsing: Array("SOCKIT-HANDOFF 1 DENIED ".utf8) + [0xff, 0xfe])
        }
    }
}

@Suite("Listener hand-off between two instances", .serialized)
struct ListenerHandoffTests {
    /// A fresh path for a control socket in a private temporary directory.
    private func controlPath() throws -> String {
        let directory = try TestSupport.temporaryDirectory("handoff")
        return directory.appendingPathComponent("ctl").path
    }

    /// A hand-off server for `listeners` whose callbacks and log lines all go to `events`
    /// (`stop PID`, `resume PID`, `handed off PID`, then the log lines).
    private func server(
        _ path: String, _ listeners: [Socket] = [], names: [String] = [], readyTimeout: Duration = .seconds(20),
        events: HandoffLog = HandoffLog()
    ) -> HandoffServer {
        HandoffServer(
            path: path, listeners: listeners.map(\.fileDescriptor), names: names, readyTimeout: readyTimeout,
            stopAccepting: { events.append("stop \($0)") }, resumeAccepting: { events.append("resume \($0)") },
            onHandedOff: { events.append("handed off \($0)") }, log: events.append)
    }

    /// Accepts one connection on `listener`, waiting at most `timeout` (SO_RCVTIMEO bounds accept).
    private func accept(_ listener: Socket, timeout: Duration = .seconds(5)) throws -> Socket {
        try listener.setOption(.receiveTimeout, timeout)
        let (connection, _) = try listener.accept()
        try connection.setOption(.receiveTimeout, timeout)
        return connection
    }

    @Test func nobodyAtThePathMeansBindAsUsual() throws {
        let path = try controlPath()
        #expect(try ListenerHandoff.acquire(path: path) == nil, "no file")
        // A stale socket file with no process behind it.
        let stale = try Socket(.unix, .stream)
        try stale.bind(to: .unix(.init(path: path)))
        try stale.close()
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(try ListenerHandoff.acquire(path: path) == nil, "stale file")
        // ...which a new control socket replaces.
        let server = server(path)
        try server.start()
        #expect(server.ownsPath)
        server.stop()
        #expect(!FileManager.default.fileExists(atPath: path), "removed on stop, since it was ours")
    }

    @Test func refusesToReplaceAFileThatIsNotASocket() throws {
        let path = try controlPath()
        #expect(FileManager.default.createFile(atPath: path, contents: Data("precious".utf8)))
        let server = server(path)
        let failure = try #require(throws: ListenerHandoff.Failure.self) { try server.start() }
        #expect(failure.description.contains("is not a socket"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
    }

    /// The library names no CLI flag: which transport the old instance serves is a typed remedy
    /// (`sockit` renders it as `--udp` advice, a library user in its own words).
    @Test func aTransportMismatchIsATypedRemedy() throws {
        let path = try controlPath()
        let datagram = try Socket(.ipv4, .datagram)
        try datagram.bind(to: try SocketAddress("127.0.0.1:0"))
        let old = server(path, [datagram])
        try old.start()
        defer { old.stop() }
        let failure = try #require(throws: ListenerHandoff.Failure.self) {
            try ListenerHandoff.acquire(path: path, type: .stream, timeout: .seconds(5))
        }
        #expect(failure.summary.contains("expected \(SocketType.stream)"), "\(failure)")
        #expect(failure.remedies == [.matchTransport(datagram: true)])
        #expect(!failure.description.contains("--"), "\(failure)")
        #expect(!old.handedOff)
    }

    @Test func listenerMovesToTheNewInstanceWithoutDroppingQueuedConnections() throws {
        let path = try controlPath()
        let (listener, address) = try TestSupport.loopbackListener(reuseAddress: true)
        let events = HandoffLog()
        let old = server(path, [listener], names: ["echo"], events: events)
        try old.start()
        defer { old.stop() }
        #expect(FileManager.default.fileExists(atPath: path))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        // A client connects before the hand-off and waits in the accept queue.
        let queued = try Socket(.ipv4, .stream)
        try queued.connect(to: address, timeout: .seconds(5))

        let takeover = try #require(try ListenerHandoff.acquire(path: path, timeout: .seconds(5)))
        #expect(takeover.listeners.count == 1)
        #expect(takeover.names == ["echo"])
        #expect(takeover.peerPID == getpid())
        let inherited = takeover.listeners[0]
        #expect(try inherited.localAddress() == address)

        // The new instance says READY; the old one stops accepting, confirms, and on our ACK drains.
        #expect(try takeover.confirmReady(timeout: .seconds(5)))
        #expect(events.wait(for: "handed off \(getpid())", timeout: .seconds(5)), "\(events.lines)")
        #expect(old.handedOff)
        #expect(
            events.lines.filter { $0.hasPrefix("stop ") || $0.hasPrefix("resume ") } == ["stop \(getpid())"],
            "stopped once, never resumed: \(events.lines)")
        // Until the new instance's control socket replaces it, PATH leads to the old one, which
        // now turns everybody away with a reason.
        let early = try #require(throws: ListenerHandoff.Failure.self) {
            try ListenerHandoff.acquire(path: path, timeout: .seconds(5))
        }
        #expect(early.summary.contains("handed its sockets to pid \(getpid())"), "\(early)")
        let next = server(path, [inherited])
        try next.start()
        defer { next.stop() }
        #expect(next.ownsPath && !old.ownsPath)

        // The old instance's descriptor closes; the queued connection is still there to accept.
        try listener.close()
        let server = try accept(inherited)
        try queued.sendAll([7])
        #expect(try server.receive(maxBytes: 1) == [7])

        // And the next restart finds the new instance at the same path.
        let again = try #require(try ListenerHandoff.acquire(path: path, timeout: .seconds(5)))
        #expect(try again.listeners[0].localAddress() == address)
    }

    /// Was disabled as flaky ("timed out once beside the server suite"). The cause was twofold:
    /// the test's "crashed" instance stayed alive at PATH (a `HandoffServer` in this process,
    /// whose descriptors its dropped `Takeover` had already closed), and the old protocol let a
    /// failed exchange rename a control socket back over PATH, so depending on thread timing
    /// PATH ended up at the instance that could not hand anything over. Now PATH changes hands
    /// only after ACK, and the doomed instance is a real process that is killed (SIGKILL, by
    /// pid) while it holds the sockets; the test waits on the old instance's log line, not on
    /// a retry loop.
    @Test func aNewInstanceThatDiesBeforeReadyLeavesTheOldOneServing() throws {
        let path = try controlPath()
        let (listener, address) = try TestSupport.loopbackListener()
        let events = HandoffLog()
        let old = server(path, [listener], events: events)
        try old.start()
        defer { old.stop() }

        // A new instance takes the listener, then dies before it says READY.
        let doomed = try ChildProcess("/usr/bin/python3", ["-c", doomedNewInstance, path], keepStdin: true)
        let received = try #require(doomed.readLine(timeout: .seconds(10)), "\(doomed.stderr)")
        #expect(received == "SOCKIT-HANDOFF 1 LISTENERS 1 fds=1")
        doomed.signal(SIGKILL)
        #expect(doomed.waitForExit() == 128 + SIGKILL)
        #expect(events.wait(for: "exited before it was ready; still serving", timeout: .seconds(10)), "\(events.lines)")

        #expect(!old.handedOff)
        #expect(!events.lines.contains { $0.hasPrefix("stop ") }, "never stopped accepting: \(events.lines)")
        #expect(old.ownsPath, "PATH still leads to the old instance")
        // The old listener still accepts...
        let client = try Socket(.ipv4, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let accepted = try accept(listener)
        try client.sendAll([9])
        #expect(try accepted.receive(maxBytes: 1) == [9])
        // ...and the next instance can take over at once.
        let takeover = try #require(try ListenerHandoff.acquire(path: path, timeout: .seconds(5)))
        #expect(try takeover.listeners[0].localAddress() == address)
    }

    /// The new instance says READY, reads DONE (the old one stopped accepting), and is killed
    /// before its ACK: the old one must take over again, its listener never closed, and a
    /// connection that arrived in between is still in the accept queue.
    @Test func aNewInstanceThatDiesAfterReadyHandsTheListenerBack() throws {
        let path = try controlPath()
        let (listener, address) = try TestSupport.loopbackListener()
        let events = HandoffLog()
        let old = server(path, [listener], events: events)
        try old.start()
        defer { old.stop() }

        let doomed = try ChildProcess("/usr/bin/python3", ["-c", vanishingNewInstance, path], keepStdin: true)
        #expect(doomed.readLine(timeout: .seconds(10)) == "SOCKIT-HANDOFF 1 LISTENERS 1 fds=1", "\(doomed.stderr)")
        #expect(doomed.readLine(timeout: .seconds(10)) == "SOCKIT-HANDOFF 1 DONE", "\(doomed.stderr)")
        #expect(events.lines.contains("stop \(doomed.pid)"), "DONE comes after the old one stopped: \(events.lines)")
        #expect(!old.handedOff, "not before the ACK")
        let waiting = try Socket(.ipv4, .stream)
        try waiting.connect(to: address, timeout: .seconds(5))

        doomed.signal(SIGKILL)
        #expect(doomed.waitForExit() == 128 + SIGKILL)
        #expect(events.wait(for: "resume \(doomed.pid)", timeout: .seconds(10)), "\(events.lines)")
        #expect(events.wait(for: "went away before it confirmed the hand-off", timeout: .seconds(5)), "\(events.lines)")
        #expect(!events.lines.contains { $0.hasPrefix("handed off ") }, "\(events.lines)")
        #expect(!old.handedOff)
        #expect(old.ownsPath, "PATH still leads to the old instance")

        // The connection made while nobody accepted waited in the queue of the listener we kept.
        let accepted = try accept(listener)
        try waiting.sendAll([5])
        #expect(try accepted.receive(maxBytes: 1) == [5])
        // And the old instance hands over again, to the next instance, as if nothing happened.
        let takeover = try #require(try ListenerHandoff.acquire(path: path, timeout: .seconds(5)))
        #expect(try takeover.confirmReady(timeout: .seconds(5)))
        #expect(events.wait(for: "handed off \(getpid())", timeout: .seconds(5)), "\(events.lines)")
        #expect(old.handedOff)
    }

    @Test func anotherUserCannotTakeTheListener() throws {
        let path = try controlPath()
        let (listener, _) = try TestSupport.loopbackListener()
        let events = HandoffLog()
        let old = server(path, [listener], events: events)
        try old.start()
        defer { old.stop() }
        let python = """
            import array, socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(sys.argv[1])
            except PermissionError:
                print("EACCES"); sys.exit(0)
            try:
                s.sendall(b"SOCKIT-HANDOFF 1 REQUEST\\n")
            except BrokenPipeError:
                pass  # refused at once; the answer is still there to read
            s.settimeout(10)
            fds = array.array("i")
            msg, anc, flags, addr = s.recvmsg(256, socket.CMSG_SPACE(16 * fds.itemsize))
            print(msg.decode().strip(), "fds=%d" % sum(len(d) // 4 for _, _, d in anc))
            """
        // The directory lets user nobody reach the file, so that only the file's mode keeps it out.
        #expect(chmod((path as NSString).deletingLastPathComponent, 0o755) == 0)
        // Mode 0600 keeps user nobody out of the socket file altogether...
        let blocked = try TestSupport.run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", python, path])
        #expect(
            blocked.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "EACCES",
            "\(blocked.stdout) \(blocked.stderr)")
        // ...and with the file opened up, SO_PEERCRED still refuses it, sending no descriptor.
        #expect(chmod(path, 0o666) == 0)
        let denied = try TestSupport.run(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", python, path])
        #expect(
            denied.stdout.hasPrefix("SOCKIT-HANDOFF 1 DENIED uid 65534 may not take these sockets"),
            "\(denied.stdout) \(denied.stderr)")
        #expect(denied.stdout.contains("fds=0"))
        #expect(events.wait(for: "refused a hand-off to pid", timeout: .seconds(5)), "\(events.lines)")
        #expect(!old.handedOff)
        #expect(!events.lines.contains { $0.hasPrefix("stop ") }, "\(events.lines)")
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The lines a `HandoffServer` logs, and a wait for one of them.
final class HandoffLog: @unchecked Sendable {  // every access under `condition`
    private let condition = NSCondition()
    private var stored: [String] = []

    var lines: [String] { condition.withLock { stored } }

    func append(_ line: String) {
        condition.withLock {
            stored.append(line)
            condition.broadcast()
        }
    }

    /// Waits until a logged line contains `text`, up to `timeout`.
    func wait(for text: String, timeout: Duration) -> Bool {
        let deadline = Date().addingTimeInterval(Double(timeout.components.seconds))
        return condition.withLock {
            while !stored.contains(where: { $0.contains(text) }) {
                if !condition.wait(until: deadline) { return stored.contains { $0.contains(text) } }
            }
            return true
        }
    }
}

/// `SystemdActivation` reads what it is given: these tests never touch the process's
/// environment (other suites run beside them, in threads that read it), and place the sockets
/// only on descriptors that were free (never `dup2` over a number another test may own).
@Suite("systemd socket activation")
struct SystemdActivationTests {
    /// Duplicates `sockets` onto consecutive descriptors, as systemd places them from 3, and
    /// returns the first. `F_DUPFD_CLOEXEC` takes the lowest free descriptor at or above its
    /// argument, so it never replaces one; when the one it takes is not the next in the row,
    /// the row is given back and another base tried.
    private func consecutiveDescriptors(_ sockets: [Socket]) throws -> CInt {
        for attempt in 0..<64 {
            let base = CInt(300 + attempt * 37)
            var taken: [CInt] = []
            for (index, socket) in sockets.enumerated() {
                let fd = fcntl(socket.fileDescriptor, F_DUPFD_CLOEXEC, base + CInt(index))
                if fd >= 0 { taken.append(fd) }
                if fd != base + CInt(index) { break }
            }
            if taken.count == sockets.count && taken.last == base + CInt(sockets.count - 1) { return base }
            for fd in taken { close(fd) }
        }
        throw SocketError(syscall: "fcntl(F_DUPFD_CLOEXEC)", errno: .tooManyOpenFiles)
    }

    private func variables(pid: Int32 = getpid(), count: Int, names: String? = nil) -> [String: String] {
        var environment = ["LISTEN_PID": String(pid), "LISTEN_FDS": String(count)]
        if let names { environment["LISTEN_FDNAMES"] = names }
        return environment
    }

    @Test func inheritedListenersAreAdoptedWithTheirNames() throws {
        let (first, firstAddress) = try TestSupport.loopbackListener()
        let (second, secondAddress) = try TestSupport.loopbackListener(ipv6: true)
        let start = try consecutiveDescriptors([first, second])
        let listeners = try SystemdActivation.listeners(
            environment: variables(count: 2, names: "web:admin"), pid: getpid(), firstDescriptor: start)
        #expect(listeners.map(\.name) == ["web", "admin"])
        #expect(listeners.map(\.socket.fileDescriptor) == [start, start + 1])
        #expect(try listeners[0].socket.localAddress() == firstAddress)
        #expect(try listeners[1].socket.localAddress() == secondAddress)
    }

    @Test func variablesForAnotherProcessOrNoSocketsAreIgnored() throws {
        let (listener, _) = try TestSupport.loopbackListener()
        let start = try consecutiveDescriptors([listener])
        defer { close(start) }
        let pid = getpid()
        for environment in [variables(pid: pid + 1, count: 1), variables(count: 0), ["LISTEN_FDS": "1"], [:]] {
            #expect(
                try SystemdActivation.listeners(environment: environment, pid: pid, firstDescriptor: start).isEmpty,
                "\(environment)")
        }
        #expect(fcntl(start, F_GETFD) != -1, "not adopted, so not closed")
        let tooMany = try #require(throws: SystemdActivation.Failure.self) {
            try SystemdActivation.listeners(environment: variables(count: 65), pid: pid, firstDescriptor: start)
        }
        #expect(tooMany.description.contains("LISTEN_FDS=65"))
    }

    @Test func aSocketThatDoesNotListenIsRefused() throws {
        let notListening = try Socket(.ipv4, .stream)
        let start = try consecutiveDescriptors([notListening])
        defer { close(start) }
        let failure = try #require(throws: SystemdActivation.Failure.self) {
            try SystemdActivation.listeners(environment: variables(count: 1), pid: getpid(), firstDescriptor: start)
        }
        #expect(failure.description.contains("is not listening"))
        #expect(fcntl(start, F_GETFD) != -1, "left open: it is not ours to close")

        let datagram = try Socket(.ipv4, .datagram)
        let udpStart = try consecutiveDescriptors([datagram])
        defer { close(udpStart) }
        let wrongType = try #require(throws: SystemdActivation.Failure.self) {
            try SystemdActivation.listeners(environment: variables(count: 1), pid: getpid(), firstDescriptor: udpStart)
        }
        #expect(wrongType.description.contains("expected SOCK_STREAM"))
        #expect(fcntl(udpStart, F_GETFD) != -1)
    }

    /// A failure on the second socket leaves the first open too: none of them is ours to close.
    @Test func aFailureLeavesEveryInheritedDescriptorOpen() throws {
        let (listener, _) = try TestSupport.loopbackListener()
        let notListening = try Socket(.ipv4, .stream)
        let start = try consecutiveDescriptors([listener, notListening])
        defer {
            close(start)
            close(start + 1)
        }
        let failure = try #require(throws: SystemdActivation.Failure.self) {
            try SystemdActivation.listeners(environment: variables(count: 2), pid: getpid(), firstDescriptor: start)
        }
        #expect(failure.description.contains("inherited socket \(start + 1) (unknown) is not listening"))
        #expect(fcntl(start, F_GETFD) != -1, "the first, adopted before the failure, is left open")
        #expect(fcntl(start + 1, F_GETFD) != -1)
    }

    /// The real path reads the process's environment and removes the variables (so that
    /// children do not inherit them), and marks the descriptors close-on-exec. It runs in a
    /// child process of its own, where changing the environment races with nothing. The exit
    /// status says which check failed: 2 refused, 3 not adopted, 4 no FD_CLOEXEC, 5 variables
    /// still set, 6 adopted again by a second call.
    @Test func theProcessEnvironmentIsReadThenCleared() async {
        await #expect(processExitsWith: .success) {
            guard let (listener, address) = try? TestSupport.loopbackListener() else { exit(1) }
            // Without FD_CLOEXEC, as systemd passes it: the call must set it.
            let fd = fcntl(listener.fileDescriptor, F_DUPFD, 300)
            setenv("LISTEN_PID", String(getpid()), 1)
            setenv("LISTEN_FDS", "1", 1)
            setenv("LISTEN_FDNAMES", "echo", 1)
            guard let listeners = try? SystemdActivation.listeners(firstDescriptor: fd) else { exit(2) }
            guard listeners.count == 1, listeners[0].name == "echo",
                (try? listeners[0].socket.localAddress()) == address
            else { exit(3) }
            guard fcntl(fd, F_GETFD) & FD_CLOEXEC != 0 else { exit(4) }
            guard SystemdActivation.variables.allSatisfy({ getenv($0) == nil }) else { exit(5) }
            guard (try? SystemdActivation.listeners(firstDescriptor: fd))?.isEmpty == true else { exit(6) }
        }
    }
}
