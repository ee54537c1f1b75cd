import Foundation
@_spi(Fuzzing) import SockitCommands
import SockitTestSupport
import Testing

/// The argument parser in-process (`SockitCommand.parseOnly`), as Fuzz/ (target arguments) drives it.
@Suite("sockit argument parsing in-process")
struct ArgumentParsingTests {
    /// Found by fuzzing: `parseOnly` reported ArgumentParser's own exit code (64 for usage, 1 for
    /// a validation error of ours), not the 2 that `sockit` exits with for every usage error.
    @Test(arguments: [
        ["bogus"], ["who", "9000-8000"], ["who", "70000"], ["who", "1.2.3:80"], ["free", "8080", "--signal", "NOPE"],
        ["echo", "--threads", "0"], ["listen", "127.0.0.1:9"], ["send", "127.0.0.1:9", "--broadcast"],
        ["options", "--pid", "1"], ["wait", "8080", "--timeout", "-1"], ["who", "8080", "--no-such-flag"],
    ])
    func usageErrorsExitTwoWithAMessage(arguments: [String]) throws {
        let failure = try #require(SockitCommand.parseOnly(arguments), "\(arguments) parsed")
        #expect(failure.status == 2, "\(arguments): \(failure.message)")
        #expect(!failure.message.isEmpty)
    }

    /// The version is written once, in SockitCommand.swift; the changelog's top entry must be it.
    @Test func versionIsACleanExitAndTheChangelogsTopEntry() throws {
        let exit = try #require(SockitCommand.parseOnly(["--version"]))
        #expect(exit.status == 0)
        let changelog = try String(
            contentsOf: TestSupport.packageRoot.appendingPathComponent("CHANGELOG.md"), encoding: .utf8)
        let top = changelog.split(separator: "\n").first { $0.hasPrefix("## [") }
        #expect(top?.hasPrefix("## [\(exit.message)]") == true, "\(String(describing: top))")
    }

    /// Help parses (into ArgumentParser's help command, which prints when run).
    @Test(arguments: [
        ["who", "8080", "--json"], ["free", "8080", "--dry-run"], ["pick"], ["echo", "127.0.0.1:0", "--udp"],
        ["--help"], ["who", "--help"], ["help", "free"],
    ])
    func validCommandLinesParse(arguments: [String]) {
        #expect(SockitCommand.parseOnly(arguments) == nil)
    }
}
