// Fuzz target: the `sockit` argument parser, in-process (`SockitCommand.parseOnly(_:)`): parses
// and validates, runs nothing.
//
// Input: the arguments separated by NUL bytes (newlines work too), as a shell would pass them.
// Invariants (DESIGN.md: exit 0 success, 1 not found / not met, 2 usage or system error): every
// parse failure exits 2, except the clean exits `--help`, `help` and `--version` (0), and its
// message is not empty. And the hand parser of who, wait, pick and --version (QuickCommand)
// agrees with ArgumentParser on every line it takes.
//
// Address arguments go through getaddrinfo: Scripts/fuzz.sh runs this in a network namespace of
// its own, so no query leaves the machine.
import CFuzz
@_spi(Fuzzing) import SockitCommands

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArguments(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard size <= 4096 else { return 0 }
    let arguments = bytes.split(separator: 0, omittingEmptySubsequences: false)
        .flatMap { $0.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) }
        .map { String(decoding: $0, as: UTF8.self) }
    let words = size == 0 ? [] : arguments
    if let disagreement = SockitCommand.quickParseDisagreement(words) { fatalError(disagreement) }
    guard let failure = SockitCommand.parseOnly(words) else { return 0 }
    switch failure.status {
    case 2:
        if failure.message.isEmpty { fatalError("exit 2 without a message for \(words)") }
    case 0:
        // A clean exit: help or the version, asked for by one of these words.
        let asks = ["-h", "--help", "help", "--version", "--experimental-dump-help", "--generate-completion-script"]
        if !words.contains(where: { word in asks.contains { word == $0 || word.hasPrefix($0 + "=") } }) {
            fatalError("exit 0 from a parse failure for \(words): \(failure.message)")
        }
    default:
        fatalError("exit \(failure.status) (not 2) for \(words): \(failure.message)")
    }
    return 0
}

@main enum Main {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzArguments))
    }
}
