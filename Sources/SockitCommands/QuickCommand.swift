import ArgumentParser
import SockitPorts

/// The commands scripts run in loops and people run to see a port at once (`who`, `wait`,
/// `pick`, `--version`), read from the words by hand so that they answer without
/// ArgumentParser's parse: that reflects over every command's properties and looks up protocol
/// conformances through the whole binary, which costs more than the query itself (README, "How
/// fast").
///
/// Only the plain spellings are taken: long flags, each at most once, `--timeout N` or
/// `--timeout=N`, printable ASCII, and values that validate. Anything else (help, a short flag,
/// `--`, an unknown word, a bad port) returns nil and goes to ArgumentParser, which parses it or
/// explains the error exactly as before; so the quick path never has messages of its own.
///
/// The two parsers must agree: `init(parsed:)` maps ArgumentParser's result to this type, and
/// `SockitCommand.quickParseDisagreement(_:)` (tests, the `arguments` fuzz target) checks that
/// every line taken here parses to the same command there.
enum QuickCommand: Equatable, Sendable {
    case who(WhoRequest)
    case wait(WaitRequest)
    case pick(PickRequest)
    case version

    /// The command `arguments` (without the program name) asks for, or nil when ArgumentParser
    /// must read them.
    static func parse(_ arguments: [String]) -> QuickCommand? {
        guard let name = arguments.first,
            arguments.allSatisfy({ word in word.utf8.allSatisfy { (0x21...0x7E).contains($0) } })
        else { return nil }
        let rest = arguments.dropFirst()
        switch name {
        case "--version":
            return rest.isEmpty ? .version : nil
        case "who":
            guard let words = Words(rest, flags: ["--tcp", "--udp", "--listening", "--scan-all", "--json", "--all"]),
                words.positionals.count <= 1
            else { return nil }
            // No port: every listener; FIRST-LAST: those of a range; else a port or an address.
            var target: PortArgument?
            var range: ClosedRange<UInt16>?
            if let word = words.positionals.first {
                do {
                    range = try WhoRequest.range(word)
                } catch {
                    return nil  // a bad range: ArgumentParser's run says why
                }
                if range == nil {
                    guard let port = words.port else { return nil }
                    target = port
                }
            }
            let only: TransportProtocol?
            switch (words.has("--tcp"), words.has("--udp")) {
            case (true, true): return nil
            case (true, false): only = .tcp
            case (false, true): only = .udp
            case (false, false): only = nil
            }
            var request = WhoRequest(
                target: target, only: only, listening: words.has("--listening"),
                scanAll: words.has("--scan-all"), json: words.has("--json"), all: words.has("--all"))
            request.range = range
            return .who(request)
        case "wait":
            guard let words = Words(rest, flags: ["--listening", "--free", "--udp", "--json"], options: ["--timeout"]),
                let target = words.port
            else { return nil }
            let condition: PortWaiter.Condition
            switch (words.has("--listening"), words.has("--free")) {
            case (true, false): condition = .listening
            case (false, true): condition = .free
            default: return nil
            }
            var request = WaitRequest(
                target: target, condition: condition, udp: words.has("--udp"), json: words.has("--json"))
            if let text = words.value(of: "--timeout") {
                guard let seconds = Double(text), WaitRequest.isValid(timeout: seconds) else { return nil }
                request.timeout = seconds
            }
            return .wait(request)
        case "pick":
            guard let words = Words(rest, flags: ["--udp", "--json"]), words.positionals.isEmpty else { return nil }
            return .pick(PickRequest(udp: words.has("--udp"), json: words.has("--json")))
        default:
            return nil
        }
    }

    /// The same command from what ArgumentParser parsed (nil for the commands not taken here).
    init?(parsed command: any ParsableCommand) throws {
        switch command {
        case let who as Who: self = .who(try who.request)
        case let wait as Wait: self = .wait(try wait.request)
        case let pick as Pick: self = .pick(pick.request)
        default: return nil
        }
    }

    func run() throws {
        switch self {
        case .who(let request): try request.run()
        case .wait(let request): try request.run()
        case .pick(let request): try request.run()
        case .version: printLine(sockitVersion)
        }
    }

    /// Words sorted into flags, option values and positionals; nil for anything not plain.
    /// Arrays, not sets: a few words each, and a `Set<String>` would cost its first use a lookup
    /// of String's Hashable conformance through the whole binary.
    private struct Words {
        var flags: [String] = []
        var values: [(name: String, value: String)] = []
        var positionals: [String] = []

        init?(_ words: ArraySlice<String>, flags allowedFlags: [String], options: [String] = []) {
            var index = words.startIndex
            while index < words.endIndex {
                let word = words[index]
                index += 1
                guard word.hasPrefix("-") else {
                    positionals.append(word)
                    continue
                }
                if allowedFlags.contains(word) {
                    guard !flags.contains(word) else { return nil }
                    flags.append(word)
                    continue
                }
                // An option: `--name VALUE` (the next word, whatever it is, as `.unconditional`
                // parsing takes it) or `--name=VALUE`.
                let name: String
                let text: String
                if let equals = word.firstIndex(of: "=") {
                    name = String(word[..<equals])
                    text = String(word[word.index(after: equals)...])
                } else {
                    guard index < words.endIndex else { return nil }
                    name = word
                    text = words[index]
                    index += 1
                }
                guard options.contains(name), value(of: name) == nil else { return nil }
                values.append((name, text))
            }
        }

        func has(_ flag: String) -> Bool { flags.contains(flag) }

        func value(of option: String) -> String? { values.first { $0.name == option }?.value }

        /// The one positional, a valid PORT or HOST:PORT.
        var port: PortArgument? {
            guard positionals.count == 1 else { return nil }
            return try? PortArgument.parse(positionals[0])
        }
    }
}

extension SockitCommand {
    /// Runs the command line when it is one `QuickCommand` takes, and exits; returns otherwise
    /// (`execute()` then parses it with ArgumentParser). Synchronous, on the main thread: no
    /// hop to the concurrency runtime's threads either.
    public static func executeQuickly(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) {
        guard let command = QuickCommand.parse(arguments) else { return }
        do {
            try command.run()
        } catch {
            finish(error)
        }
        finish(nil)
    }

    /// Where the hand parser and ArgumentParser disagree on `arguments`, in a sentence; nil when
    /// they agree or the hand parser leaves the line to ArgumentParser. For tests and fuzzing.
    @_spi(Fuzzing) public static func quickParseDisagreement(_ arguments: [String]) -> String? {
        guard let quick = QuickCommand.parse(arguments) else { return nil }
        if quick == .version {
            guard let failure = parseOnly(arguments), failure.status == 0, failure.message == sockitVersion else {
                return "\(arguments): the quick parser prints the version, ArgumentParser does not"
            }
            return nil
        }
        do {
            var command = try parseAsRoot(arguments)
            try command.validate()
            guard let parsed = try QuickCommand(parsed: command) else {
                return "\(arguments): ArgumentParser parsed another command"
            }
            return parsed == quick ? nil : "\(arguments): quick \(quick), ArgumentParser \(parsed)"
        } catch {
            return "\(arguments): the quick parser took it, ArgumentParser: \(fullMessage(for: error))"
        }
    }
}
