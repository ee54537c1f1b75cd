/// The messages of the hand-off protocol, one text line each (at most 256 bytes), so that a
/// person can read them in `strace` and a parser can reject anything else:
///
/// ```
/// new → old   SOCKIT-HANDOFF 1 REQUEST
/// old → new   SOCKIT-HANDOFF 1 LISTENERS <count> [<name>,<name>…]   (+ SCM_RIGHTS: the listening sockets)
/// old → new   SOCKIT-HANDOFF 1 DENIED <reason>
/// new → old   SOCKIT-HANDOFF 1 READY                                  (the new instance accepts)
/// old → new   SOCKIT-HANDOFF 1 DONE                                   (the old one stopped accepting)
/// ```
public enum HandoffMessage: Equatable, Sendable {
    case request
    case listeners(count: Int, names: [String])
    case denied(reason: String)
    case ready
    case done

    public static let prefix = "SOCKIT-HANDOFF 1 "
    /// The longest line either side accepts.
    public static let maximumLength = 256
    /// The most listeners one hand-off carries.
    public static let maximumListeners = 16

    /// Why bytes are not a hand-off message.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var reason: String
        public var description: String { "malformed hand-off message: \(reason)" }
    }

    /// The line, with its newline.
    public var encoded: [UInt8] {
        let body: String
        switch self {
        case .request: body = "REQUEST"
        case .listeners(let count, let names):
            body = names.isEmpty ? "LISTENERS \(count)" : "LISTENERS \(count) \(names.joined(separator: ","))"
        case .denied(let reason): body = "DENIED \(reason.filter { $0 != "\n" })"
        case .ready: body = "READY"
        case .done: body = "DONE"
        }
        return Array((Self.prefix + body + "\n").utf8)
    }

    /// Parses one line (a trailing newline is allowed). Rejects anything not produced by
    /// `encoded`: a wrong prefix or version, an unknown verb, a count out of range, names that
    /// do not match the count, control characters, over-long input.
    public init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        guard bytes.count <= Self.maximumLength else { throw ParseError(reason: "longer than \(Self.maximumLength) bytes") }
        var line = Array(bytes)
        if line.last == UInt8(ascii: "\n") { line.removeLast() }
        guard !line.contains(where: { $0 < 0x20 || $0 == 0x7f }) else { throw ParseError(reason: "control character") }
        guard let text = String(validating: line, as: UTF8.self) else { throw ParseError(reason: "not UTF-8") }
        guard text.hasPrefix(Self.prefix) else { throw ParseError(reason: "no \"\(Self.prefix)\" prefix") }
        let body = text.dropFirst(Self.prefix.count)
        let words = body.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        switch words.first {
        case "REQUEST" where words.count == 1: self = .request
        case "READY" where words.count == 1: self = .ready
        case "DONE" where words.count == 1: self = .done
        case "DENIED" where words.count >= 2:
            self = .denied(reason: String(body.dropFirst("DENIED ".count)))
        case "LISTENERS" where words.count == 2 || words.count == 3:
            guard words[1].allSatisfy({ $0.isASCII && $0.isNumber }), words[1].count <= 2, let count = Int(words[1]),
                (1...Self.maximumListeners).contains(count)
            else { throw ParseError(reason: "listener count \"\(words[1])\" not in 1...\(Self.maximumListeners)") }
            var names: [String] = []
            if words.count == 3 {
                names = words[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard names.count == count, names.allSatisfy({ !$0.isEmpty && !$0.contains(" ") }) else {
                    throw ParseError(reason: "\(names.count) names for \(count) listeners")
                }
            }
            self = .listeners(count: count, names: names)
        default:
            throw ParseError(reason: "unknown message \"\(body.prefix(32))\"")
        }
    }
}
