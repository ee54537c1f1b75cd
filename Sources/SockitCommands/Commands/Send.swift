import ArgumentParser
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// `sockit send`: a client for the echo server (or any server): send, print what comes back.
struct Send: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send a message (or stdin) and print the reply.",
        discussion: """
            TCP: connects, sends the message (the words joined by spaces, plus a newline) or, with \
            no message, all of stdin byte for byte; then half-closes (FIN) and prints everything \
            the server sends back until it closes. Sending and receiving overlap, so a large \
            payload cannot deadlock against an echo server.

            UDP (--udp): sends one datagram and prints the reply. With --broadcast (SO_BROADCAST), \
            every reply that arrives before --timeout is printed, and none is not an error.

            Exit status: 0 done, 1 no reply in time, 2 error (refused, unreachable, ...).

            Examples:
              sockit send 127.0.0.1:65432 hello
              head -c 1048576 /dev/urandom | sockit send 127.0.0.1:65432 > copy
              sockit send 127.0.0.1:65432 --udp ping
              sockit send 127.255.255.255:9999 --udp --broadcast hello
            """
    )

    @Argument(help: "Where to send (HOST:PORT, [IPv6]:PORT).")
    var address: String

    @Argument(help: "The message; stdin when none is given.")
    var message: [String] = []

    @Flag(help: "Send a UDP datagram instead of a TCP stream.")
    var udp = false

    @Flag(help: "Set SO_BROADCAST (needed to send to a broadcast address).")
    var broadcast = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Give up after this many seconds without progress (default: 10, UDP: 2, broadcast: 1).", valueName: "SECONDS"))
    var timeout: Double?

    func validate() throws {
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        if broadcast && !udp { throw ValidationError("--broadcast needs --udp (TCP cannot broadcast)") }
    }

    private func payload() -> [UInt8] {
        if !message.isEmpty { return Array((message.joined(separator: " ") + "\n").utf8) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(0, &chunk, chunk.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    func run() throws {
        let target = try SocketAddress(address)
        let bytes = payload()
        if udp {
            try sendDatagram(bytes, to: target)
        } else {
            try sendStream(bytes, to: target)
        }
    }

    private func sendStream(_ bytes: [UInt8], to target: SocketAddress) throws {
        let limit = Duration.milliseconds(Int64((timeout ?? 10) * 1000))
        let socket = try Socket(for: target, .stream)
        try socket.connect(to: target, timeout: limit)
        try socket.setNonBlocking(true)
        var offset = 0
        var halfClosed = false
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if offset == bytes.count && !halfClosed {
                try socket.shutdown(.write)
                halfClosed = true
            }
            var events = Int16(POLLIN)
            if !halfClosed { events |= Int16(POLLOUT) }
            guard try socket.poll(for: events, timeout: limit) else {
                throw CommandFailure.notMet("no answer from \(target) within \(Self.seconds(limit)) (the server neither sent nor closed)")
            }
            let received = try buffer.withUnsafeMutableBytes { raw throws(SocketError) in
                try socket.receiveNonBlocking(into: raw)
            }
            switch received {
            case .processed(0):
                flushStandardStreams()
                return
            case .processed(let count):
                writeOut(buffer, count)
            case .wouldBlock:
                break
            }
            if !halfClosed {
                let sent = try bytes.withUnsafeBytes { raw throws(SocketError) in
                    try socket.sendNonBlocking(UnsafeRawBufferPointer(rebasing: raw[offset...]))
                }
                if case .processed(let count) = sent { offset += count }
            }
        }
    }

    private func sendDatagram(_ bytes: [UInt8], to target: SocketAddress) throws {
        let limit = Duration.milliseconds(Int64((timeout ?? (broadcast ? 1 : 2)) * 1000))
        let socket = try Socket(for: target, .datagram)
        if broadcast { try socket.setOption(.broadcast, true) }
        try socket.send(bytes, to: target)
        var replies = 0
        while try socket.poll(for: Int16(POLLIN), timeout: limit) {
            let (reply, sender) = try socket.receiveFrom()
            if broadcast {
                print("from \(sender.map { "\($0)" } ?? "?") (\(reply.count) bytes): " + String(decoding: reply, as: UTF8.self))
            } else {
                writeOut(reply, reply.count)
            }
            replies += 1
            if !broadcast { break }
        }
        flushStandardStreams()
        if replies == 0 {
            if broadcast {
                printError("sockit: sent \(bytes.count) bytes to \(target); no reply within \(Self.seconds(limit))")
                return
            }
            throw CommandFailure.notMet(
                "no reply from \(target) within \(Self.seconds(limit)) (UDP: nothing listens there, or the datagram was lost)")
        }
    }

    private func writeOut(_ bytes: [UInt8], _ count: Int) {
        flushStandardStreams()
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < count {
                let written = write(1, raw.baseAddress! + offset, count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { break }
                offset += written
            }
        }
    }

    static func seconds(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(Double(milliseconds) / 1000) s"
    }
}

/// `sockit listen ADDRESS --udp`: print each datagram with its sender.
struct Listen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Print received UDP datagrams with their sender.",
        discussion: """
            Binds ADDRESS (SO_REUSEADDR), prints "listening on HOST:PORT", then one line per \
            datagram: "from SENDER (N bytes): TEXT". Bind 0.0.0.0 to receive broadcasts.

            Exit status: 0 after --count datagrams, 1 when --timeout passes without a datagram, \
            2 on error.

            Example:
              sockit listen 0.0.0.0:9999 --udp --timeout 5
            """
    )

    @Argument(help: "The address to bind (HOST:PORT).")
    var address: String

    @Flag(help: "Listen for UDP datagrams (the only kind this command receives).")
    var udp = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Give up when no datagram arrives for this many seconds.", valueName: "SECONDS"))
    var timeout: Double?

    @Option(parsing: .unconditional, help: ArgumentHelp("Exit 0 after this many datagrams.", valueName: "N"))
    var count: Int?

    func validate() throws {
        guard udp else {
            throw ValidationError("sockit listen receives UDP datagrams: add --udp (for a TCP server use sockit echo)")
        }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        let local = try SocketAddress(address)
        let socket = try Socket(for: local, .datagram)
        try socket.setOption(.reuseAddress, true)
        try socket.bind(to: local)
        print("listening on \(try socket.localAddress())")
        flushStandardStreams()
        let limit = timeout.map { Duration.milliseconds(Int64($0 * 1000)) }
        var received = 0
        while count.map({ received < $0 }) ?? true {
            guard try socket.poll(for: Int16(POLLIN), timeout: limit) else {
                throw CommandFailure.notMet(
                    "no datagram on \(try socket.localAddress()) within \(Send.seconds(limit!))")
            }
            let (bytes, sender) = try socket.receiveFrom()
            print("from \(sender.map { "\($0)" } ?? "?") (\(bytes.count) bytes): " + String(decoding: bytes, as: UTF8.self))
            flushStandardStreams()
            received += 1
        }
    }
}
