import Sockit

/// How `listen` and `send --broadcast` print a datagram: `from SENDER (N bytes): TEXT`.
func datagramLine(_ bytes: [UInt8], from sender: SocketAddress?) -> String {
    "from \(sender.map { "\($0)" } ?? "?") (\(bytes.count) bytes): " + String(decoding: bytes, as: UTF8.self)
}
