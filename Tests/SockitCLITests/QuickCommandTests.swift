import Sockit
import SockitPorts
import Testing

@_spi(Fuzzing) @testable import SockitCommands

/// The hand parser of `who`, `wait`, `pick` and `--version` (QuickCommand): what it takes,
/// what it leaves to ArgumentParser, and that both read every line it takes the same way.
@Suite("quick parser: who, wait, pick and --version without ArgumentParser")
struct QuickCommandTests {
    static func port(_ text: String) throws -> PortArgument { try PortArgument.parse(text) }

    @Test("the plain spellings are taken, and mean what ArgumentParser makes of them")
    func taken() throws {
        let cases: [([String], QuickCommand)] = [
            (["--version"], .version),
            (["who", "8080"], .who(WhoRequest(target: try Self.port("8080")))),
            (
                ["who", "--udp", "5353", "--json"],
                .who(WhoRequest(target: try Self.port("5353"), only: .udp, json: true))
            ),
            (
                ["who", "127.0.0.1:8080", "--tcp", "--listening", "--scan-all"],
                .who(WhoRequest(target: try Self.port("127.0.0.1:8080"), only: .tcp, listening: true, scanAll: true))
            ),
            (["who", "[::1]:80"], .who(WhoRequest(target: try Self.port("[::1]:80")))),
            (["who"], .who(WhoRequest(target: nil))),
            (["who", "--tcp", "--json"], .who(WhoRequest(target: nil, only: .tcp, json: true))),
            (["who", "8000-8100"], .who(WhoRequest(target: nil, range: 8000...8100))),
            (["who", "443", "--all"], .who(WhoRequest(target: try Self.port("443"), all: true))),
            (
                ["wait", "7000", "--listening"],
                .wait(WaitRequest(target: try Self.port("7000"), condition: .listening))
            ),
            (
                ["wait", "--free", "7000", "--timeout", "2.5", "--udp", "--json"],
                .wait(WaitRequest(target: try Self.port("7000"), condition: .free, udp: true, timeout: 2.5, json: true))
            ),
            (
                ["wait", "7000", "--listening", "--timeout=0"],
                .wait(WaitRequest(target: try Self.port("7000"), condition: .listening, timeout: 0))
            ),
            (["pick"], .pick(PickRequest())),
            (["pick", "--json", "--udp"], .pick(PickRequest(udp: true, json: true))),
        ]
        for (arguments, expected) in cases {
            #expect(QuickCommand.parse(arguments) == expected, "\(arguments)")
            #expect(SockitCommand.quickParseDisagreement(arguments) == nil, "\(arguments)")
        }
    }

    @Test("help, errors and unusual spellings are left to ArgumentParser")
    func left() {
        let cases: [[String]] = [
            [], ["--help"], ["-h"], ["help"], ["help", "who"], ["who", "--help"], ["who", "8080", "-h"],
            ["--version", "who"], ["who", "9000-8000"], ["who", "8080", "8081"], ["who", "0"], ["who", "65536"],
            ["who", "abc"],
            ["who", "-1"], ["who", "8080", "--tcp", "--udp"], ["who", "8080", "--json", "--json"],
            ["who", "8080", "--"], ["who", "--", "8080"], ["who", "8080", "-x"], ["who", "8080", "--timeout", "1"],
            ["who", "8080", "--json=true"], ["who", "80\u{301}"], ["who", "８０８０"], ["who", "8080 "],
            ["wait", "7000"], ["wait", "7000", "--listening", "--free"], ["wait", "7000", "--listening", "--timeout"],
            ["wait", "7000", "--listening", "--timeout", "-1"], ["wait", "7000", "--listening", "--timeout", "nan"],
            ["wait", "7000", "--listening", "--timeout", "inf"], ["wait", "7000", "--listening", "--timeout="],
            ["wait", "7000", "--listening", "--timeout", "1", "--timeout", "2"], ["wait", "7000", "--free", "--tcp"],
            ["pick", "8080"], ["pick", "--tcp"], ["free", "8080"], ["options"], ["echo"], ["WHO", "8080"],
        ]
        for arguments in cases {
            #expect(QuickCommand.parse(arguments) == nil, "\(arguments)")
        }
    }

    /// Every line of up to three words after the command, from words that mean something to one
    /// of the parsers: wherever the hand parser takes a line, ArgumentParser parses it to the
    /// same command. (The `arguments` fuzz target checks the same on random lines.)
    @Test("every short line the quick parser takes parses the same with ArgumentParser")
    func agreement() {
        let words = [
            "8080", "127.0.0.1:80", "[::1]:80", "0", "--tcp", "--udp", "--json", "--listening", "--free",
            "--scan-all", "--timeout", "1", "--timeout=0", "-1", "--",
        ]
        var lines: [[String]] = []
        for command in ["who", "wait", "pick"] {
            lines.append([command])
            for a in words {
                lines.append([command, a])
                for b in words {
                    lines.append([command, a, b])
                    for c in words where command != "pick" { lines.append([command, a, b, c]) }
                }
            }
        }
        var taken = 0
        for line in lines where QuickCommand.parse(line) != nil {
            taken += 1
            let disagreement = SockitCommand.quickParseDisagreement(line)
            #expect(disagreement == nil, "\(disagreement ?? "")")
        }
        // The sweep must reach the quick path, or it checks nothing.
        #expect(taken > 100, "only \(taken) of \(lines.count) lines taken")
    }
}
