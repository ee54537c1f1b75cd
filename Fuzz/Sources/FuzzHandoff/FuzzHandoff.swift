// Fuzz target: the hand-off protocol messages (`HandoffMessage`).
//
// Both directions, as the doc comments promise:
// - parsing "rejects anything not produced by `encoded`": whatever parses is exactly what
//   `encoded` produces for it (with or without the trailing newline), and parses back to itself;
// - encoding: a message built from the input (the first byte picks the kind) encodes to a line
//   that parses, to the same message when its text can be carried as it is (a reason without
//   control characters, names one per listener without spaces, commas or control characters,
//   a line within `maximumLength`), else to the message with what could not be carried left out.
import CFuzz
import SockitServer

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHandoff(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? HandoffMessage(parsing: bytes) {
        let encoded = message.encoded
        if encoded != bytes && encoded != bytes + [UInt8(ascii: "\n")] {
            fatalError(
                "accepted \(String(decoding: bytes, as: UTF8.self).debugDescription), which encodes as \(String(decoding: encoded, as: UTF8.self).debugDescription)"
            )
        }
        guard (try? HandoffMessage(parsing: encoded)) == message else { fatalError("\(message) does not parse back") }
    }
    guard let kind = bytes.first else { return 0 }
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    let message: HandoffMessage
    switch kind % 3 {
    case 0: message = .denied(reason: text)
    case 1:
        let names = text.split(separator: "\u{1}", omittingEmptySubsequences: false).map(String.init)
        message = .listeners(count: names.count, names: names)
    default:
        message = .listeners(count: Int(kind / 3) % 20, names: [])
    }
    let encoded = message.encoded
    if encoded.count > HandoffMessage.maximumLength { fatalError("\(message) encodes to \(encoded.count) bytes") }
    let parsed: HandoffMessage
    do {
        parsed = try HandoffMessage(parsing: encoded)
    } catch {
        // Only a listener count out of 1...maximumListeners may fail: the sender never sends one.
        if case .listeners(let count, _) = message, !(1...HandoffMessage.maximumListeners).contains(count) { return 0 }
        fatalError(
            "\(message) encodes as \(String(decoding: encoded, as: UTF8.self).debugDescription), which does not parse: \(error)"
        )
    }
    if parsed.encoded != encoded { fatalError("\(message): encoded, parsed and encoded again, the line changes") }
    switch message {
    case .denied(let reason):
        let clean = !reason.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
        let fits = (HandoffMessage.prefix + "DENIED " + reason + "\n").utf8.count <= HandoffMessage.maximumLength
        if clean && fits && parsed != message {
            fatalError("\(message) parses back as \(parsed)")
        }
    case .listeners(let count, let names):
        let carried =
            names.count == count
            && (HandoffMessage.prefix + "LISTENERS \(count) " + names.joined(separator: ",") + "\n").utf8.count
                <= HandoffMessage.maximumLength
            && names.allSatisfy {
                !$0.isEmpty && !$0.utf8.contains { $0 <= 0x20 || $0 == 0x7f || $0 == UInt8(ascii: ",") }
            }
        if parsed != (carried ? message : .listeners(count: count, names: [])) {
            fatalError("\(message) parses back as \(parsed)")
        }
    default:
        if parsed != message { fatalError("\(message) parses back as \(parsed)") }
    }
    return 0
}

@main enum Main {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzHandoff))
    }
}
