import ArgumentParser
import Sockit
import SockitPorts

/// `sockit pick`: a port free right now for IPv4 and IPv6.
struct Pick: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pick",
        abstract: "Print a port that is free right now for both IPv4 and IPv6.",
        discussion: """
            The kernel picks it (a bind to port 0 on [::], dual-stack), and sockit checks it \
            again on 0.0.0.0. Another process may take it afterwards: bind it soon. Better still, \
            let your server bind port 0 and report the port it got.

            Example:
              PORT=$(sockit pick) && sockit echo 127.0.0.1:$PORT
            """
    )

    @Flag(help: "A UDP port instead of TCP.")
    var udp = false

    @OptionGroup var output: OutputOptions

    var request: PickRequest { PickRequest(udp: udp, json: output.json) }

    func run() async throws { try request.run() }
}

/// `sockit pick`, parsed.
struct PickRequest: Equatable, Sendable {
    var udp = false
    var json = false

    func run() throws {
        let port = try PortPicker.pick(udp ? .udp : .tcp)
        if json {
            JSON.object([("port", .int(Int(port))), ("protocol", .string(udp ? "udp" : "tcp"))]).print()
        } else {
            printLine(String(port))
        }
    }
}
