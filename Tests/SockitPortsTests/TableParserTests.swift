import Foundation
import Sockit
import SockitTestSupport
import Testing

@_spi(Fuzzing) @testable import SockitPorts

#if canImport(Glibc)
import Glibc
#endif

/// A loopback listener and its socket's inode (the number in `socket:[INODE]`).
private func listenerAndInode() throws -> (Socket, UInt64) {
    let (listener, _) = try TestSupport.loopbackListener()
    var info = stat()
    try #require(fstat(listener.fileDescriptor, &info) == 0)
    return (listener, UInt64(info.st_ino))
}

@Suite("socket table sources and parsers")
struct TableParserTests {
    @Test func netlinkAndProcNetAgreeOnALiveListenerAndItsConnection() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let client = try Socket(.ipv4, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let (accepted, _) = try listener.accept()
        let port = address.port!
        let query = SocketQuery(port: port, transports: [.tcp])
        func key(_ socket: PortSocket) -> String {
            "\(socket.stateName) \(socket.local) \(socket.remoteDescription) \(socket.inode) \(socket.uid)"
        }
        // This test's three sockets, by inode: the port's number may also be on another test's
        // TIME-WAIT connections (a listener with SO_REUSEADDR may bind next to them).
        let ours = try Set(
            [listener, client, accepted].map { socket in
                var info = stat()
                try #require(fstat(socket.fileDescriptor, &info) == 0)
                return UInt64(info.st_ino)
            })
        let fromNetlink = try SockDiag().sockets(query).filter { ours.contains($0.inode) }
        let fromProc = try ProcNetTable().sockets(query).filter { ours.contains($0.inode) }
        #expect(fromNetlink.count == 3)
        #expect(Set(fromNetlink.map(key)) == Set(fromProc.map(key)))
        let inode = fromNetlink.first { $0.state == .listen }?.inode ?? 0
        #expect(inode != 0)
        // The holder search finds this very process as the listener's holder.
        let scan = ProcProcessTable().holders(of: [inode: geteuid()], search: .fast)
        #expect(scan.holders[inode]?.map(\.pid) == [getpid()])
        #expect(scan.holders[inode]?.first?.fd == listener.fileDescriptor)
        _ = accepted
        _ = client
    }

    /// The descriptor scan on several threads: every process read once, and the sockets of this
    /// process found with their descriptors, whether the scan reads everything or stops once
    /// every socket is found; a scan whose sockets were all found while it read ahead reads
    /// nothing more once told them.
    @Test(arguments: [1, 2, 4])
    func parallelDescriptorScanReadsEachProcessOnce(workers: Int) throws {
        let made = try (0..<3).map { _ in try listenerAndInode() }
        let (listeners, inodes) = (made.map(\.0), made.map(\.1))
        let wanted = Dictionary(uniqueKeysWithValues: inodes.map { ($0, geteuid()) })
        let procFD = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        #expect(procFD >= 0)
        defer { close(procFD) }
        var processes = ProcProcessTable.listProcesses(procFD)
        // At least this process, so that the loop below ends.
        try #require(processes.contains { $0.pid == getpid() })
        // At least 64 entries, so that up to four threads start: repeat the list if it is short
        // (a pid listed twice is two reads of the same directory).
        while processes.count < 64 { processes += processes }
        let mine = try #require(processes.firstIndex { $0.pid == getpid() })

        func scan(untilFound: Bool) -> [ProcScan.Read] {
            let scan = ProcScan(untilFound: untilFound, processes: processes)
            scan.tell(wanted)
            #expect(scan.startHelpers(upTo: workers - 1) == workers - 1)
            return scan.finish().reads
        }
        let everything = scan(untilFound: false)
        #expect(everything.map(\.index).sorted() == Array(processes.indices))
        let read = everything.first { $0.index == mine }?.result
        guard case .found(let matches) = read else {
            Issue.record("this process was not read: \(String(describing: read))")
            return
        }
        #expect(Set(matches.map(\.inode)) == Set(inodes))
        #expect(Set(matches.map(\.fd)) == Set(listeners.map(\.fileDescriptor)))
        #expect(everything.allSatisfy { !$0.readAhead })

        let fast = scan(untilFound: true).map(\.index)
        #expect(Set(fast).count == fast.count)
        #expect(fast.contains(mine))

        // Read ahead (this process first, all its sockets), then told: nothing more is read.
        let ahead = ProcScan(untilFound: true, processes: [processes[mine]] + processes)
        ahead.readOne()
        ahead.tell(wanted)
        ahead.startHelpers(upTo: workers - 1)
        let reads = ahead.finish().reads
        #expect(reads.map(\.index) == [0])
        #expect(reads.first?.readAhead == true)
    }

    /// The search that starts reading /proc before the sockets are known: a socket made after
    /// the search started (so perhaps after this process was read ahead) is still found, and a
    /// search cancelled before it is told anything just stops.
    @Test func searchStartedBeforeTheSocketExistsFindsIt() throws {
        for search in [HolderSearch.fast, .exhaustive] {
            // The read-ahead itself (startSearch picks it only with two cores or more).
            let pending = ProcReadAhead(table: ProcProcessTable(), search: search)
            let (listener, inode) = try listenerAndInode()
            let scan = pending.holders(of: [inode: geteuid()])
            #expect(scan.holders[inode]?.map(\.pid) == [getpid()], "\(search)")
            #expect(scan.holders[inode]?.first?.fd == listener.fileDescriptor, "\(search)")
        }
        ProcReadAhead(table: ProcProcessTable(), search: .fast).cancel()
    }

    /// A process read ahead before its socket was made is read again for it.
    @Test func processReadAheadWithoutTheSocketIsReadAgain() throws {
        // This process read ahead before the listener existed: the scan found none of its sockets.
        let scan = ProcScan(untilFound: true, processes: [ProcProcessTable.ProcessEntry(pid: getpid(), uid: geteuid())])
        scan.readOne()
        let (listener, inode) = try listenerAndInode()
        let holders = withExtendedLifetime(listener) {
            ProcProcessTable().holders(of: [inode: geteuid()], search: .fast, scan: scan)
        }
        #expect(holders.holders[inode]?.map(\.pid) == [getpid()])
    }

    /// The search for every listener lists the processes before it is told the sockets, and
    /// reads none: nothing has to be read again for a socket left without a holder.
    @Test func aListenerSearchReadsNoProcessBeforeItIsTold() throws {
        let scan = ProcScan(untilFound: true, readsAhead: false)
        #expect(scan.startHelpers(upTo: 1) == 1)
        scan.waitUntilListed()
        // Time to read ahead (a scan that reads ahead takes a process in microseconds): none read.
        for _ in 0..<50 where scan.readCount == 0 { usleep(2_000) }
        #expect(scan.readCount == 0)
        let (listener, inode) = try listenerAndInode()
        let holders = ProcProcessTable().holders(of: [inode: geteuid()], search: .fast, scan: scan)
        #expect(holders.holders[inode]?.map(\.pid) == [getpid()])
        #expect(holders.holders[inode]?.first?.fd == listener.fileDescriptor)
    }

    /// The process list leaves out processes with no descriptor open (they hold no socket: kernel
    /// threads, zombies), and keeps the others with their owner.
    @Test func processesWithoutDescriptorsAreNotListed() throws {
        let procFD = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try #require(procFD >= 0)
        defer { close(procFD) }
        var info = stat()
        try #require(fstatat(procFD, "self/fd", &info, 0) == 0)
        guard info.st_size > 0 else { return }  // a kernel before 6.2 does not count them: none is left out
        let python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "/usr/local/bin/python3"
        let bare = try ChildProcess(python, ["-c", "import os, time; os.closerange(0, 65536); time.sleep(60)"])
        // Until its descriptors are closed (bounded: 500 looks, 10 ms apart).
        for _ in 0..<500 where fstatat(procFD, "\(bare.pid)/fd", &info, 0) == 0 && info.st_size > 0 { usleep(10_000) }
        try #require(fstatat(procFD, "\(bare.pid)/fd", &info, 0) == 0 && info.st_size == 0, "it still has descriptors")
        let processes = ProcProcessTable.listProcesses(procFD)
        #expect(!processes.contains { $0.pid == bare.pid })
        #expect(processes.first { $0.pid == getpid() }?.uid == geteuid())
    }

    @Test func localOnlyFilterDropsConnectionsToThePort() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let client = try Socket(.ipv4, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let all = try SockDiag().sockets(SocketQuery(port: address.port!, transports: [.tcp]))
        let local = try SockDiag().sockets(SocketQuery(port: address.port!, localOnly: true, transports: [.tcp]))
        #expect(all.contains { $0.side(for: address.port!) == .remote })
        #expect(local.allSatisfy { $0.side(for: address.port!) == .local })
        #expect(local.count == all.count - 1)
        _ = listener
    }

    /// A row the kernel wrote twice (the table changed between two reads of the file) is one
    /// socket; another connection on the same port is not a repeat.
    @Test func procNetRowsWrittenTwiceAreOneSocket() throws {
        let row = "0100007F:1F90 0100007F:C350 06 00000000:00000000 03:00000BB8 00000000     0        0 0 3 0"
        let text = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: \(row)
               1: \(row)
               2: 0100007F:1F90 0100007F:C351 06 00000000:00000000 03:00000BB7 00000000     0        0 0 3 0
               3: \(row.replacingOccurrences(of: "00000BB8", with: "00000BB0"))
            """
        let directory = try TestSupport.temporaryDirectory("procnet").path
        try text.write(toFile: directory + "/tcp", atomically: true, encoding: .utf8)
        let sockets = try ProcNetTable(directory: directory).sockets(SocketQuery(port: 8080, transports: [.tcp]))
        #expect(sockets.map { "\($0.remote!)" } == ["127.0.0.1:50000", "127.0.0.1:50001"])
        #expect(sockets.first?.timerMilliseconds == 30_000)
    }

    @Test func procNetTextParses() {
        let text = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 424242 1 0000000000000000 100 0 0 10 0
               1: 0100007F:1F90 0100007F:C350 06 00000000:00000000 03:00000BB8 00000000     0        0 0 3 0000000000000000
               2: garbage line
               3: 0100007F:1F90 0100007F:ZZZZ 01 00000000:00000000 00:00000000 00000000     0        0 7 1
            """
        let sockets = ProcNet.parse(Array(text.utf8), transport: .tcp, ticksPerSecond: 100)
        #expect(sockets.count == 2)
        #expect(sockets[0].state == .listen)
        #expect("\(sockets[0].local)" == "127.0.0.1:8080")
        #expect(sockets[0].remote == nil)
        #expect(sockets[0].uid == 1000)
        #expect(sockets[0].inode == 424242)
        #expect(sockets[1].state == .timeWait)
        #expect(sockets[1].remote.map { "\($0)" } == "127.0.0.1:50000")
        #expect(sockets[1].timerMilliseconds == 30_000)  // 0xBB8 = 3000 ticks at 100 Hz
        #expect(sockets[1].timerKind == "timewait")

        let v6 = """
              sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 99 1
            """
        let six = ProcNet.parse(Array(v6.utf8), transport: .tcp)
        #expect(six.map { "\($0.local)" } == ["[::1]:8080"])
    }

    @Test func inetDiagParserSurvivesAnyBytes() {
        // Truncated headers, lengths past the end, zero lengths, random bytes: no trap, and a
        // malformed datagram ends the dump with an error instead of looping.
        var state: UInt64 = 7
        for size in [0, 1, 15, 16, 17, 71, 88, 200, 4096] {
            for _ in 0..<50 {
                let bytes = (0..<size).map { _ -> UInt8 in
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return UInt8(truncatingIfNeeded: state >> 33)
                }
                var parser = InetDiag.ReplyParser(transport: .tcp)
                bytes.withUnsafeBytes { parser.consume($0) }
                #expect(parser.sockets.count <= size / 88 + 1)
            }
        }
        // A well-formed message, then DONE.
        var message = [UInt8](repeating: 0, count: 72)
        message[0] = UInt8(AF_INET)
        message[1] = TCPState.listen.rawValue
        message[4] = 0x1F
        message[5] = 0x90
        message[8...11] = [127, 0, 0, 1]
        message[68] = 5
        let diag = le32(16 + 72) + le16(20) + le16(2) + le32(1) + le32(0) + message
        let done = le32(20) + le16(3) + le16(2) + le32(1) + le32(0) + le32(0)
        var parser = InetDiag.ReplyParser(transport: .tcp)
        (diag + done).withUnsafeBytes { parser.consume($0) }
        #expect(parser.finished)
        #expect(parser.error == nil)
        #expect(parser.sockets.map { "\($0.stateName) \($0.local) \($0.inode)" } == ["LISTEN 127.0.0.1:8080 5"])
        // NLMSG_ERROR with -ENOENT (no udp_diag) is an error, not an empty table.
        let error = le32(20) + le16(2) + le16(0) + le32(1) + le32(0) + le32(UInt32(bitPattern: -ENOENT))
        var failing = InetDiag.ReplyParser(transport: .udp)
        error.withUnsafeBytes { failing.consume($0) }
        #expect(failing.error == Errno(rawValue: ENOENT))
    }

    /// Found by fuzzing (Fuzz/, target inet-diag): an NLMSG_DONE or NLMSG_ERROR status of
    /// Int32.min trapped when negated; it is a protocol error like any other bad status.
    @Test(arguments: [InetDiag.messageDone, InetDiag.messageError])
    func netlinkStatusOfInt32MinIsAProtocolError(type: UInt16) {
        let message = le32(20) + le16(type) + le16(0) + le32(1) + le32(0) + le32(UInt32(bitPattern: Int32.min))
        var parser = InetDiag.ReplyParser(transport: .tcp)
        message.withUnsafeBytes { parser.consume($0) }
        #expect(parser.finished)
        #expect(parser.error == Errno(rawValue: EPROTO))
    }

    @Test func shortCommandIsOneLineOfBoundedLength() {
        let holder = SocketHolder(
            pid: 1, fd: 3, uid: 0, user: "root",
            command: "/usr/lib/very/long/checkout/path/bin/python3 -c\nimport socket\t"
                + String(repeating: "x", count: 200))
        let short = holder.shortCommand()
        #expect(short.hasPrefix("python3 -c import socket x"))
        #expect(short.count == 72)
        #expect(short.hasSuffix("…"))
        #expect(!short.contains("\n") && !short.contains("\t"))
        #expect(
            SocketHolder(pid: 1, fd: 3, uid: 0, user: "u", command: "/usr/bin/python3 server.py").shortCommand()
                == "python3 server.py")
    }

    @Test func statParentSkipsCommandsWithParentheses() {
        #expect(ProcProcessTable.parseParent(Array("42 (a (b) c) S 17 42 42 0".utf8)[...]) == 17)
        #expect(ProcProcessTable.parseParent(Array("42 (x) S".utf8)[...]) == nil)
    }

    @Test func bindVerdictOfAFreePortIsFree() throws {
        let port = try freePort()
        let verdict = try PortInspector().verdict(for: .ipv4(.loopback(port: port)))
        #expect(verdict.kind == .free)
        #expect(verdict.bindable)
        #expect(!verdict.needsReuseAddress)
    }

    @Test func diagnosisOfABoundPortNamesThisProcess() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let diagnosis = try #require(PortInspector().diagnose(address, type: .stream))
        #expect(diagnosis.holders.map(\.pid) == [getpid()])
        #expect(diagnosis.holders.first?.state == "LISTEN")
        let explained = try #require(
            PortInspector().diagnoseAddressInUse(address, type: .stream, reuseAddressWasSet: false))
        #expect(explained.explanation.first?.hasPrefix("held by pid \(getpid()) (") == true, "\(explained)")
        // The test's listener did not set SO_REUSEADDR: its restart would be blocked, and it says so.
        #expect(explained.remedies == [.stopHolder(port: address.port!), .destroyLeftovers(port: address.port!)])
        #expect(explained.explanation.contains { $0.contains("did not set SO_REUSEADDR") })
        // Passed to bind, it explains the error.
        let second = try Socket(.ipv4, .stream)
        let error = try #require(throws: SocketError.self) { try second.bind(to: address, diagnoser: PortInspector()) }
        #expect(error.explanation == explained.explanation)
        _ = listener
    }

    @Test func diagnosisOfTimeWaitFromAListenerWithoutReuseSaysWait() {
        let diagnosis = PortDiagnosis(timeWaitCount: 3, timeWaitLongestMilliseconds: 56_200, timeWaitReusable: false)
        let explained = diagnosis.explained(port: 8080, reuseAddressWasSet: false)
        #expect(
            explained.explanation.first
                == "3 connections on this port are in TIME_WAIT (up to 57 s left); no process listens")
        #expect(explained.explanation.contains { $0.contains("no option helps now") })
        #expect(explained.remedies == [.waitFor(seconds: 57, exact: true), .destroyLeftovers(port: 8080)])
    }

    @Test func diagnosisOfAHolderNamesIt() {
        let diagnosis = PortDiagnosis(holders: [
            .init(
                pid: 4242, command: "python3 server.py", user: "dev", state: "LISTEN", localAddress: "0.0.0.0:8080",
                fd: 3)
        ])
        let explained = diagnosis.explained(port: 8080, reuseAddressWasSet: true)
        #expect(explained.explanation == ["held by pid 4242 (python3 server.py, user dev) in LISTEN on 0.0.0.0:8080"])
        #expect(explained.remedies == [.stopHolder(port: 8080)])
    }
}
