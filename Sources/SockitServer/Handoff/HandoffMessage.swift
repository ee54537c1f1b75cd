import Sockit

/// The messages of the hand-off protocol, one text line each (at most 256 bytes), so that a
/// person can read them in `strace` and a parser can reject anything else:
///
/// ```
/// new → old   SOCKIT-HANDOFF 1 REQUEST
/// old → new   SOCKIT-HANDOFF 1 LISTENERS <count> [<name>,<name>…]   (+ SCM_RIGHTS: the listening sockets)
/// old → new   SOCKIT-HANDOFF 1 DENIED <reason>
/// new → old   SOCKIT-HANDOFF 1 READY                                  (the new instance accepts)
/// old → new   SOCKIT-HANDOFF 1 DONE                                   (the old one stopped accepting)
/// new → old   SOCKIT-HANDOFF 1 ACK                                    (the new one got DONE and serves)
/// ```
///
/// Until ACK the old instance keeps its listening descriptors open and watches the connection:
/// a new instance that dies after READY (the connection closes without ACK) leaves it to
/// accept again, so that there is never a moment without an acceptor.
public enum HandoffMessage: Equatable, Sendable {
    /// `REQUEST`: the new instance asks for the listeners.
    case request
    /// `LISTENERS <count> [<names>]`: the old instance sends `count` listening sockets with it
    /// (`SCM_RIGHTS`), with a name each when it has them.
    case listeners(count: Int, names: [String])
    /// `DENIED <reason>`: the old instance refuses (another hand-off in progress, …).
    case denied(reason: String)
    /// `READY`: the new instance accepts on the sockets it received.
    case ready
    /// `DONE`: the old instance stopped accepting (its descriptors stay open).
    case done
    /// `ACK`: the new instance got DONE and serves; the old one may drain and exit.
    case ack

    /// What every line starts with: the protocol's name and version.
    public static let prefix = "SOCKIT-HANDOFF 1 "
    /// The longest line either side accepts.
    public static let maximumLength = 256
    /// The most listeners one hand-off carries.
    public static let maximumListeners = 16

    /// Why bytes are not a hand-off message.
    public struct ParseError: SockitError, Equatable {
        /// What is wrong, in a phrase.
        public var reason: String
        /// `malformed hand-off message: <reason>`.
        public var summary: String { "malformed hand-off message: \(reason)" }
    }

    /// The line, with its newline. What the parser would reject is left out rather than sent:
    /// control characters in a DENIED reason, and the names of LISTENERS unless there is one per
    /// listener and each is non-empty without spaces, commas or control characters (the names
    /// are informational). Text that would take the line past `maximumLength` is cut.
    public var encoded: [UInt8] {
        let body: String
        switch self {
        case .request: body = "REQUEST"
        case .listeners(let count, let names):
            let withNames = "LISTENERS \(count) \(names.joined(separator: ","))"
            let fits = Self.prefix.utf8.count + withNames.utf8.count < Self.maximumLength
            let carried = !names.isEmpty && names.count == count && names.allSatisfy(Self.isWireName) && fits
            body = carried ? withNames : "LISTENERS \(count)"
        case .denied(let reason):
            var text =
                "DENIED " + String(String.UnicodeScalarView(reason.unicodeScalars.filter { !Self.isControl($0.value) }))
            while Self.prefix.utf8.count + text.utf8.count >= Self.maximumLength { text.unicodeScalars.removeLast() }
            body = text
        case .ready: body = "READY"
        case .done: body = "DONE"
        case .ack: body = "ACK"
        }
        return Array((Self.prefix + body + "\n").utf8)
    }

    private static func isControl(_ value: UInt32) -> Bool { value < 0x20 || value == 0x7f }

    /// A listener name the line can carry: non-empty, no space, comma or control character.
    private static func isWireName(_ name: String) -> Bool {
        !name.isEmpty
            && !name.utf8.contains { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: ",") || isControl(UInt32($0)) }
    }

    /// Parses one line (a trailing newline is allowed). Rejects anything not produced by
    /// `encoded`: a wrong prefix or version, an unknown verb, a count out of range or with a
    /// leading zero, names that do not match the count, control characters, a line longer than
    /// `maximumLength` with its newline.
    /// It reads bytes, not Characters: a combining mark after a space must not merge with it.
    public init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        guard bytes.count <= Self.maximumLength else {
            throw ParseError(reason: "longer than \(Self.maximumLength) bytes")
        }
        var line = Array(bytes)
        if line.last == UInt8(ascii: "\n") { line.removeLast() }
        // The limit counts the newline, as `encoded` does: 256 bytes without one is a 257-byte line.
        guard line.count < Self.maximumLength else {
            throw ParseError(reason: "longer than \(Self.maximumLength) bytes")
        }
        guard !line.contains(where: { Self.isControl(UInt32($0)) }) else {
            throw ParseError(reason: "control character")
        }
        guard String(validating: line, as: UTF8.self) != nil else { throw ParseError(reason: "not UTF-8") }
        guard line.starts(with: Self.prefix.utf8) else { throw ParseError(reason: "no \"\(Self.prefix)\" prefix") }
        let body = line[Self.prefix.utf8.count...]
        let words = body.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
        func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }
        func verb(_ name: String, _ wordCounts: ClosedRange<Int>) -> Bool {
            words[0].elementsEqual(name.utf8) && wordCounts.contains(words.count)
        }
        if verb("REQUEST", 1...1) {
            self = .request
        } else if verb("READY", 1...1) {
            self = .ready
        } else if verb("DONE", 1...1) {
            self = .done
        } else if verb("ACK", 1...1) {
            self = .ack
        } else if verb("DENIED", 2...3) {
            self = .denied(reason: text(body.dropFirst("DENIED ".utf8.count)))
        } else if verb("LISTENERS", 2...3) {
            let digits = words[1]
            guard (1...2).contains(digits.count), digits.first != UInt8(ascii: "0"),
                digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                let count = Int(text(digits)),
                (1...Self.maximumListeners).contains(count)
            else { throw ParseError(reason: "listener count \"\(text(digits))\" not in 1...\(Self.maximumListeners)") }
            var names: [String] = []
            if words.count == 3 {
                names = words[2].split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false).map(text)
                guard names.count == count, names.allSatisfy(Self.isWireName) else {
                    throw ParseError(reason: "\(names.count) names for \(count) listeners")
                }
            }
            self = .listeners(count: count, names: names)
        } else {
            throw ParseError(reason: "unknown message \"\(text(body).prefix(32))\"")
        }
    }
}
