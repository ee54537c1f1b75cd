import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sockit echo --handoff PATH` as real processes: the running instance hands its listening
/// socket to the next one. Each test uses its own control path and an ephemeral port.
@Suite("sockit echo --handoff: hitless restart between processes", .serialized)
struct HandoffCLITests {
    /// A fresh path for a control socket, in a private temporary directory others may enter.
    private func controlPath() throws -> String {
        let directory = try TestSupport.temporaryDirectory("handoff-cli")
        #expect(chmod(directory.path, 0o755) == 0)
        return directory.appendingPathComponent("ctl").path
    }

    /// One line sent and echoed on `socket`.
    private func roundTrip(_ socket: Socket, _ text: String) throws -> Bool {
        try socket.sendAll(Array("\(text)\n".utf8))
        return try receiveExactly(socket, text.utf8.count + 1) == Array("\(text)\n".utf8)
    }

    /// A new connection to `address` echoes a line.
    private func echoes(_ address: SocketAddress, _ text: String = "ping") throws -> Bool {
        let client = try connectClient(address)
        defer { try? client.close() }
        return try roundTrip(client, text)
    }

    @Test(
        "the new instance takes the listener; a connection open across the hand-off works until the old one drained it")
    func takeOverAndDrain() throws {
        let path = try controlPath()
        // Under umask 000, so that the mode 0600 is sockit's doing, not the umask's.
        let old = try EchoProcess(
            ["--threads", "1", "--handoff", path], wrapper: ["/bin/sh", "-c", "umask 000 && exec \"$@\"", "sh"])
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600, "mode \(String(mode ?? 0, radix: 8))")
        let held = try connectClient(old.address)
        #expect(try roundTrip(held, "before the hand-off"))

        let new = try EchoProcess(["--threads", "1", "--handoff", path], address: "\(old.address)")
        #expect(new.address == old.address)
        #expect(
            new.child.stderr.contains("received 1 listening socket(s) from pid \(old.child.pid)"), "\(new.child.stderr)"
        )
        // The old process stopped accepting but drains: the held connection still echoes, and
        // the old process stays until it is closed.
        #expect(
            old.child.waitForStderr("handed off to pid \(new.child.pid): draining connections"), "\(old.child.stderr)")
        #expect(try roundTrip(held, "during the drain"))
        #expect(try echoes(new.address, "a new connection"))
        // Answered by the old process, so it is still there: it waits for its connection.
        #expect(try roundTrip(held, "still during the drain"))
        try held.close()
        #expect(old.child.waitForExit(timeout: .seconds(15)) == 0, "\(old.child.stderr)")
        #expect(!old.child.stderr.contains("error"), "\(old.child.stderr)")

        // The new instance serves alone, and PATH leads to it for the next restart.
        #expect(try echoes(new.address, "after the old one left"))
        let third = try EchoProcess(["--threads", "1", "--handoff", path], address: "\(old.address)")
        #expect(third.child.stderr.contains("from pid \(new.child.pid)"), "\(third.child.stderr)")
        #expect(new.child.waitForExit(timeout: .seconds(15)) == 0, "\(new.child.stderr)")
        third.child.signal(SIGTERM)
        #expect(third.child.waitForExit(timeout: .seconds(15)) == 0)
        #expect(!FileManager.default.fileExists(atPath: path), "the last instance removes its own socket file")
    }

    @Test("a stale PATH with no process behind it is replaced; nobody there means bind")
    func stalePathIsReplaced() throws {
        let path = try controlPath()
        let stale = try Socket(.unix, .stream)
        try stale.bind(to: .unix(.init(path: path)))
        try stale.close()  // the file stays, nobody listens: what a killed instance leaves
        let first = try EchoProcess(["--threads", "1", "--handoff", path])
        #expect(first.child.stderr.contains("no instance answers at \(path); binding"), "\(first.child.stderr)")
        #expect(ListenerHandoffProbe.answers(path))
        #expect(try echoes(first.address))
    }

    @Test("a PATH that is not a socket is never replaced: exit 2, the file untouched")
    func regularFileIsKept() throws {
        let path = try controlPath()
        #expect(FileManager.default.createFile(atPath: path, contents: Data("precious".utf8)))
        let child = try ChildProcess(sockitBinary(), ["echo", "127.0.0.1:0", "--threads", "1", "--handoff", path])
        #expect(child.waitForExit(timeout: .seconds(20)) == 2)
        #expect(
            child.stderr.contains("sockit: cannot listen for a hand-off at \(path): it exists and is not a socket"),
            "\(child.stderr)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
    }

    @Test("a TCP instance cannot take over a UDP one: it says to start with --udp and exits 2")
    func transportMismatch() throws {
        let path = try controlPath()
        let old = try EchoProcess(["--udp", "--handoff", path])
        let new = try ChildProcess(sockitBinary(), ["echo", "127.0.0.1:0", "--threads", "1", "--handoff", path])
        #expect(new.waitForExit(timeout: .seconds(20)) == 2)
        #expect(
            new.stderr.contains("(pid \(old.child.pid)): it sent a SOCK_DGRAM socket, expected SOCK_STREAM"),
            "\(new.stderr)")
        #expect(
            new.stderr.contains("\n  the running instance serves UDP: start this one with --udp\n"), "\(new.stderr)")
    }

    @Test(
        "an old instance that is stuck: the new one says so within --handoff-timeout, exits 1, the old one keeps serving"
    )
    func stuckOldInstance() throws {
        let path = try controlPath()
        let old = try EchoProcess(["--threads", "1", "--handoff", path])
        old.child.signal(SIGSTOP)
        defer { old.child.signal(SIGCONT) }
        let new = try ChildProcess(
            sockitBinary(), ["echo", "\(old.address)", "--threads", "1", "--handoff", path, "--handoff-timeout", "1"])
        #expect(new.waitForExit(timeout: .seconds(20)) == 1)
        #expect(
            new.stderr.hasPrefix(
                "sockit: cannot take over from the instance at \(path) (pid \(old.child.pid)): it did not answer within 1 s\n  it keeps serving"
            ),
            "\(new.stderr)")
        #expect(new.stderr.contains("\n  stop it: kill \(old.child.pid)\n"), "\(new.stderr)")
        #expect(new.readStdout(timeout: .milliseconds(100)).isEmpty, "never said listening")
        old.child.signal(SIGCONT)
        #expect(try echoes(old.address, "still the old one"))
        // Once it runs again, a hand-off works.
        let next = try EchoProcess(["--threads", "1", "--handoff", path], address: "\(old.address)")
        #expect(old.child.waitForExit(timeout: .seconds(15)) == 0, "\(old.child.stderr)")
        #expect(try echoes(next.address))
    }

    @Test("a new instance that dies before it is ready leaves the old one serving")
    func newInstanceDiesBeforeReady() throws {
        let path = try controlPath()
        let old = try EchoProcess(["--threads", "1", "--handoff", path])
        let held = try connectClient(old.address)
        #expect(try roundTrip(held, "before"))
        let doomed = try ChildProcess("/usr/bin/python3", ["-c", doomedNewInstance, path], keepStdin: true)
        #expect(doomed.readLine(timeout: .seconds(10)) == "SOCKIT-HANDOFF 1 LISTENERS 1 echo fds=1", "\(doomed.stderr)")
        doomed.signal(SIGKILL)
        #expect(doomed.waitForExit() == 128 + SIGKILL)
        #expect(old.child.waitForStderr("exited before it was ready; still serving"), "\(old.child.stderr)")
        #expect(try roundTrip(held, "after"))
        #expect(try echoes(old.address))
        // The old one still answers at PATH: the next instance takes over as usual.
        let next = try EchoProcess(["--threads", "1", "--handoff", path], address: "\(old.address)")
        #expect(next.child.stderr.contains("from pid \(old.child.pid)"), "\(next.child.stderr)")
        try held.close()
        #expect(old.child.waitForExit(timeout: .seconds(15)) == 0, "\(old.child.stderr)")
    }

    @Test(
        "a new instance that dies after READY, before its ACK: the old one accepts again; connections made meanwhile are served"
    )
    func newInstanceDiesAfterReady() throws {
        let path = try controlPath()
        let old = try EchoProcess(["--threads", "1", "--handoff", path])
        let held = try connectClient(old.address)
        #expect(try roundTrip(held, "before"))
        // It takes the listener, says READY, reads DONE, and is killed before it answers ACK.
        let doomed = try ChildProcess("/usr/bin/python3", ["-c", vanishingNewInstance, path], keepStdin: true)
        #expect(doomed.readLine(timeout: .seconds(10)) == "SOCKIT-HANDOFF 1 LISTENERS 1 echo fds=1", "\(doomed.stderr)")
        #expect(doomed.readLine(timeout: .seconds(10)) == "SOCKIT-HANDOFF 1 DONE", "\(doomed.stderr)")
        #expect(
            old.child.waitForStderr("pid \(doomed.pid) accepts on the listener: stopped accepting"),
            "\(old.child.stderr)")
        // Nobody accepts now: the doomed instance never does, the old one stopped. These connect
        // (the kernel completes them into the accept queue) and wait.
        let waiting = try (0..<3).map { index in
            let client = try connectClient(old.address)
            try client.sendAll(Array("waited \(index)\n".utf8))
            return client
        }
        doomed.signal(SIGKILL)
        #expect(doomed.waitForExit() == 128 + SIGKILL)
        #expect(
            old.child.waitForStderr("pid \(doomed.pid) went away before it confirmed the hand-off: resumed accepting"),
            "\(old.child.stderr)")
        // The old instance accepts the connections that waited (none refused or reset)...
        for (index, client) in waiting.enumerated() {
            let line = Array("waited \(index)\n".utf8)
            #expect(try receiveExactly(client, line.count) == line, "connection \(index): \(old.child.stderr)")
            try client.close()
        }
        // ...and new ones, and serves the connection it had.
        #expect(try echoes(old.address, "after"))
        #expect(try roundTrip(held, "held across it"))
        #expect(!old.child.stderr.contains("draining"), "\(old.child.stderr)")
        // PATH still leads to it: the next instance takes over as usual.
        let next = try EchoProcess(["--threads", "1", "--handoff", path], address: "\(old.address)")
        #expect(next.child.stderr.contains("from pid \(old.child.pid)"), "\(next.child.stderr)")
        try held.close()
        #expect(old.child.waitForExit(timeout: .seconds(15)) == 0, "\(old.child.stderr)")
        #expect(try echoes(next.address, "served by the next one"))
    }

    @Test("an instance run by another user is not taken over: its sockets could be anything")
    func anotherUsersInstanceIsRefused() throws {
        let path = try controlPath()
        let directory = (path as NSString).deletingLastPathComponent
        #expect(chown(directory, 65534, 65534) == 0)
        let asNobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        let old = try EchoProcess(["--threads", "1", "--handoff", path], wrapper: asNobody)
        // Root may connect to nobody's 0600 socket; the check that stops it is SO_PEERCRED's uid.
        let new = try ChildProcess(sockitBinary(), ["echo", "\(old.address)", "--threads", "1", "--handoff", path])
        #expect(new.waitForExit(timeout: .seconds(20)) == 2)
        let refusal =
            "cannot take over from the instance at \(path) (pid \(old.child.pid)): it runs as uid 65534, we as uid 0"
        #expect(new.stderr.hasPrefix("sockit: \(refusal)\n"), "\(new.stderr)")
        #expect(new.readStdout(timeout: .seconds(5)).isEmpty, "never said listening")
        #expect(try echoes(old.address, "still nobody's instance"))
        #expect(!old.child.stderr.contains("handed 1 listening socket"), "\(old.child.stderr)")
    }

    @Test("another user's process cannot receive the listener, through sockit or by speaking the protocol")
    func anotherUserIsRefused() throws {
        let path = try controlPath()
        let old = try EchoProcess(["--threads", "1", "--handoff", path])
        let asNobody = ["--reuid=65534", "--regid=65534", "--clear-groups"]
        // Mode 0600: user nobody cannot even connect.
        let blocked = try TestSupport.run(
            "/usr/bin/setpriv",
            asNobody + [sockitBinary(), "echo", "\(old.address)", "--threads", "1", "--handoff", path])
        #expect(blocked.status == 2)
        #expect(
            blocked.stderr.hasPrefix(
                "sockit: cannot reach the running instance at \(path): permission denied (EACCES, errno 13)\n"),
            "\(blocked.stderr)")
        #expect(blocked.stdout.isEmpty)
        // With the file opened up, SO_PEERCRED still refuses: no descriptor is sent.
        #expect(chmod(path, 0o666) == 0)
        let denied = try TestSupport.run(
            "/usr/bin/setpriv",
            asNobody + [sockitBinary(), "echo", "\(old.address)", "--threads", "1", "--handoff", path])
        #expect(denied.status == 2)
        #expect(denied.stderr.contains("it refused: uid 65534 may not take these sockets"), "\(denied.stderr)")
        #expect(denied.stdout.isEmpty)
        let probe = try TestSupport.run("/usr/bin/setpriv", asNobody + ["/usr/bin/python3", "-c", nobodyProbe, path])
        #expect(probe.stdout.hasPrefix("SOCKIT-HANDOFF 1 DENIED"), "\(probe.stdout) \(probe.stderr)")
        #expect(probe.stdout.contains("fds=0"))
        #expect(old.child.waitForStderr("refused a hand-off to pid"), "\(old.child.stderr)")
        #expect(!old.child.stderr.contains("handed 1 listening socket"))
        #expect(try echoes(old.address, "still served by root's instance"))
    }

    /// SO_REUSEADDR lets a second UDP socket bind the same port, so an echo that answers proves
    /// nothing: the new instance must hold the very socket the old one had (same inode), and it
    /// must be the only one bound to the port.
    @Test("sockit echo --udp --handoff: the datagram socket itself moves to the new instance")
    func udpHandoff() throws {
        let path = try controlPath()
        let old = try EchoProcess(["--udp", "--handoff", path])
        let port = old.port
        let bound = try udpSocketInodes(port: port)
        #expect(bound.count == 1, "one socket on port \(port): \(bound)")
        let inode = try #require(bound.first)
        #expect(try socketInodes(of: old.child.pid).contains(inode), "the old instance holds it")

        let new = try EchoProcess(["--udp", "--handoff", path], address: "\(old.address)")
        #expect(new.address == old.address)
        #expect(try socketInodes(of: new.child.pid).contains(inode), "the new instance holds the old one's socket")
        #expect(try udpSocketInodes(port: port) == [inode], "and no other socket is bound to the port")
        #expect(old.child.waitForExit(timeout: .seconds(15)) == 0, "\(old.child.stderr)")
        let (status, out, stderr) = try shell("\(sockitBinary()) send \(new.address) --udp --timeout 5 datagram")
        #expect(status == 0, "\(stderr)")
        #expect(String(decoding: out, as: UTF8.self) == "datagram\n")
        #expect(try udpSocketInodes(port: port) == [inode])
    }
}

/// The inodes of the UDP sockets bound to `port` on any address, from /proc/net/udp and udp6
/// (this network namespace).
func udpSocketInodes(port: UInt16) throws -> [String] {
    var inodes: [String] = []
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        // "sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ..."
        for line in try TestSupport.readProcFile(file).split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, let local = fields[1].split(separator: ":").last, UInt16(local, radix: 16) == port
            else { continue }
            inodes.append(String(fields[9]))
        }
    }
    return inodes
}

/// The inodes of the sockets process `pid` holds (`socket:[INODE]` in /proc/PID/fd).
func socketInodes(of pid: pid_t) throws -> Set<String> {
    let directory = "/proc/\(pid)/fd"
    let targets = try FileManager.default.contentsOfDirectory(atPath: directory).compactMap {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)")
    }
    return Set(targets.filter { $0.hasPrefix("socket:[") }.map { String($0.dropFirst("socket:[".count).dropLast()) })
}

/// Whether something listens on a control socket.
enum ListenerHandoffProbe {
    static func answers(_ path: String) -> Bool {
        guard let socket = try? Socket(.unix, .stream) else { return false }
        return (try? socket.connect(to: .unix(.init(path: path)), timeout: .seconds(1))) != nil
    }
}

/// Speaks the protocol as another user would: prints the answer and how many descriptors came.
let nobodyProbe = """
    import socket, sys
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    try:
        s.sendall(b"SOCKIT-HANDOFF 1 REQUEST\\n")
    except BrokenPipeError:
        pass
    msg, anc, flags, addr = s.recvmsg(256, socket.CMSG_SPACE(16 * 4))
    print(msg.decode().strip(), "fds=%d" % sum(len(d) // 4 for _, _, d in anc))
    """

/// `systemd-socket-activate` (Debian's systemd package) binds the socket and starts sockit
/// with it as descriptor 3 on the first connection. It does not take port 0, so the port is an
/// ephemeral one picked by binding port 0 and closing; should another process take it in
/// between, its "Listening on" line never comes and another port is tried (at most 3).
@Suite("sockit echo under systemd socket activation", .serialized)
struct SystemdActivationCLITests {
    private func ephemeralPort(datagram: Bool) throws -> UInt16 {
        let socket = try Socket(.ipv4, datagram ? .datagram : .stream)
        try socket.bind(to: SocketAddress("127.0.0.1:0"))
        defer { try? socket.close() }
        return try socket.localAddress().port ?? 0
    }

    private func activate(_ echoArguments: [String], datagram: Bool = false) throws -> (ChildProcess, SocketAddress) {
        for _ in 0..<3 {
            let address = try SocketAddress("127.0.0.1:\(try ephemeralPort(datagram: datagram))")
            let child = try ChildProcess(
                "/usr/bin/systemd-socket-activate",
                (datagram ? ["--datagram"] : []) + ["-l", "\(address)", "--fdname=echo", sockitBinary(), "echo"]
                    + echoArguments)
            if child.waitForStderr("Listening on \(address) as 3.", timeout: .seconds(10)) { return (child, address) }
        }
        throw SocketError(syscall: "systemd-socket-activate", errno: .addressInUse)
    }

    @Test("systemd-socket-activate -l 127.0.0.1:PORT sockit echo serves on the inherited socket")
    func servesTheInheritedSocket() throws {
        let (child, address) = try activate(["--threads", "1"])
        // The connection waits in the queue of systemd's socket until sockit starts and accepts it.
        let client = try connectClient(address)
        try client.sendAll(Array("activated\n".utf8))
        #expect(try receiveExactly(client, 10) == Array("activated\n".utf8))
        #expect(child.readLine() == "listening on \(address)", "the inherited address, not the default 127.0.0.1:65432")
        #expect(child.waitForStderr("using 1 listening socket(s) from systemd (echo)"), "\(child.stderr)")
        try client.close()  // else the graceful shutdown waits --drain-timeout for it
        child.signal(SIGTERM)
        #expect(child.waitForExit() == 0, "\(child.stderr)")
    }

    @Test("a socket from systemd is handed on with --handoff like any other")
    func systemdThenHandoff() throws {
        let directory = try TestSupport.temporaryDirectory("systemd")
        let path = directory.appendingPathComponent("ctl").path
        let (activated, address) = try activate(["--threads", "1", "--handoff", path])
        let client = try connectClient(address)
        try client.sendAll(Array("one\n".utf8))
        #expect(try receiveExactly(client, 4) == Array("one\n".utf8))
        #expect(activated.readLine() == "listening on \(address)")
        try client.close()
        let next = try EchoProcess(["--threads", "1", "--handoff", path], address: "\(address)")
        #expect(next.address == address)
        #expect(activated.waitForExit(timeout: .seconds(15)) == 0, "\(activated.stderr)")
        let after = try connectClient(address)
        try after.sendAll(Array("two\n".utf8))
        #expect(try receiveExactly(after, 4) == Array("two\n".utf8))
    }

    @Test("systemd-socket-activate --datagram: sockit echo --udp serves the inherited UDP socket")
    func udp() throws {
        let (child, address) = try activate(["--udp"], datagram: true)
        let (status, out, stderr) = try shell("\(sockitBinary()) send \(address) --udp --timeout 10 datagram")
        #expect(status == 0, "\(stderr) \(child.stderr)")
        #expect(String(decoding: out, as: UTF8.self) == "datagram\n")
        #expect(child.readLine() == "listening on \(address)")
        child.signal(SIGTERM)
        #expect(child.waitForExit() == 0)
    }
}
