import ArgumentParser
import Sockit

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
            it says what it sent and exits: a broadcast rarely gets a reply. With --reply (or a \
            --timeout) it then waits and prints every reply that arrives before the timeout; none \
            is not an error.

            Exit status: 0 done, 1 no reply in time, 2 error (refused, unreachable, ...).

            Examples:
              sockit send 127.0.0.1:65432 hello
              head -c 1048576 /dev/urandom | sockit send 127.0.0.1:65432 > copy
              sockit send 127.0.0.1:65432 --udp ping
              sockit send 127.255.255.255:9999 --udp --broadcast hello
              sockit send 192.168.1.255:5353 --udp --broadcast --reply query
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

    @Flag(help: "With --broadcast: wait for replies (--timeout, default 1 s) and print them.")
    var reply = false

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Give up after this many seconds without progress (default: 10, UDP: 2, broadcast with --reply: 1).",
            valueName: "SECONDS"))
    var timeout: Double?

    func validate() throws {
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be more than 0 seconds") }
        if broadcast && !udp { throw ValidationError("--broadcast needs --udp (TCP cannot broadcast)") }
        if reply && !broadcast {
            throw ValidationError("--reply goes with --broadcast (a UDP send always waits for its reply)")
        }
    }

    private func payload() -> [UInt8] {
        if !message.isEmpty { return Array((message.joined(separator: " ") + "\n").utf8) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while case .success(.processed(let count)) = Sys.read(0, &chunk, chunk.count), count > 0 {
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
        let client = try StreamClient(connectingTo: target, timeout: limit)
        try client.exchange(bytes) { chunk in writeOut(chunk) }
        flushStandardStreams()
    }

    private func sendDatagram(_ bytes: [UInt8], to target: SocketAddress) throws {
        let limit = Duration.milliseconds(Int64((timeout ?? (broadcast ? 1 : 2)) * 1000))
        let client = try DatagramClient(sendingTo: target, broadcast: broadcast)
        try client.send(bytes)
        if broadcast {
            printError("sockit: sent \(bytes.count) bytes to \(target) (broadcast)")
            if !reply && timeout == nil { return }
        }
        var replies = 0
        while let (reply, sender) = try client.receive(timeout: limit) {
            if broadcast {
                print(datagramLine(reply, from: sender))
            } else {
                reply.withUnsafeBytes { writeOut($0) }
            }
            replies += 1
            if !broadcast { break }
        }
        flushStandardStreams()
        if replies == 0 {
            if broadcast {
                printError(
                    "sockit: sent \(bytes.count) bytes to \(target); no reply within \(limit.secondsDescription)")
                return
            }
            throw CommandFailure.notMet(
                "no reply from \(target) within \(limit.secondsDescription) "
                    + "(UDP: nothing listens there, or the datagram was lost)")
        }
    }

    private func writeOut(_ bytes: UnsafeRawBufferPointer) {
        flushStandardStreams()
        Sys.writeAll(1, bytes)
    }
}
