import Foundation
import SockitTestSupport
import Testing

@Suite("sockit options and the command line's conventions")
struct OptionsCommandTests {
    @Test(arguments: ["--tcp", "--udp", "--tcp6", "--udp6", "--unix"])
    func jsonParsesAndCarriesLevelNameValue(kind: String) throws {
        let result = try TestSupport.sockit(["options", kind, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let options = try #require(document["options"] as? [[String: Any]])
        for option in options {
            #expect(option["level"] is String)
            #expect(option["name"] is String)
            #expect(option.keys.contains("value"))
        }
        let names = options.compactMap { $0["name"] as? String }
        #expect(names.contains("SO_RCVBUF"))
        if kind == "--tcp" {
            #expect(options.count >= 30, "only \(options.count) options")
            #expect(names.contains("TCP_NODELAY") && names.contains("TCP_INFO") && names.contains("IP_TTL"))
            let rcvbuf = try #require(options.first { $0["name"] as? String == "SO_RCVBUF" })
            #expect((rcvbuf["value"] as? NSNumber).map { $0.intValue > 0 } == true, "a plain JSON number of bytes")
            let keepIdle = try #require(options.first { $0["name"] as? String == "TCP_KEEPIDLE" })
            #expect(keepIdle["value"] is NSNumber, "seconds as a number")
        }
        if kind == "--udp6" {
            #expect(names.contains("IPV6_V6ONLY"))
            #expect(!names.contains("TCP_NODELAY"))
        }
    }

    /// On an 80-column terminal every line fits, TCP_INFO's fields and long notes continuing on
    /// the next lines; piped, each option is one line. Nothing is lost either way: the same words.
    @Test func onATerminalTheTableFitsItsWidthPipedEveryRowIsOneLine() throws {
        let terminal = try TestSupport.run(
            python3,
            [
                TestSupport.packageRoot.appendingPathComponent("Tests/Fixtures/on-a-terminal.py").path, "80",
                TestSupport.sockitBinary, "options",
            ])
        let piped = try TestSupport.sockit(["options"])
        #expect(terminal.status == 0 && piped.status == 0, "\(terminal.stderr) \(piped.stderr)")
        let fitted = terminal.stdout.split(separator: "\n")
        let whole = piped.stdout.split(separator: "\n")
        #expect(fitted.allSatisfy { $0.count <= 80 }, "\(fitted.filter { $0.count > 80 })")
        #expect(whole.contains { $0.count > 120 }, "piped: TCP_INFO's fields on its own line")
        #expect(fitted.count > whole.count)
        let info = try #require(whole.first { $0.contains("TCP_INFO") })
        #expect(fitted.contains { $0.contains("TCP_INFO") && $0.count < info.count })
        func words(_ text: String) -> [Substring] { text.split(whereSeparator: \.isWhitespace).sorted() }
        #expect(words(terminal.stdout) == words(piped.stdout))
    }

    @Test func tableHasAHeaderAndNotes() throws {
        let result = try TestSupport.sockit(["options"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("LEVEL") == true, "no colour codes when stdout is a pipe")
        let rcvbuf = try #require(lines.first { $0.contains("SO_RCVBUF") })
        #expect(rcvbuf.contains("bytes") && rcvbuf.contains("doubles"))
    }

    @Test func usageErrorsExitTwoWithOneLineOnStderr() throws {
        let result = try TestSupport.sockit(["options", "--no-such-flag"])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("sockit: "))
        #expect(result.stderr.contains("--no-such-flag"))

        let unknown = try TestSupport.sockit(["no-such-command"])
        #expect(unknown.status == 2)
    }

    @Test func versionAndHelpExitZero() throws {
        let version = try TestSupport.sockit(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ".").count == 3)
        let help = try TestSupport.sockit(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Address already in use"))
        #expect(help.stdout.contains("options"))
        let optionsHelp = try TestSupport.sockit(["options", "--help"])
        #expect(optionsHelp.stdout.contains("--udp6"))
    }
}
