// Fuzz target: the /proc text parsers: `ProcNet.parse` (`/proc/net/{tcp,tcp6,udp,udp6}`) and
// `ProcProcessTable.parseParent` (`/proc/PID/stat`), fed arbitrary bytes.
// Invariants: no crash, no sanitizer report; at most one socket per line after the header; a
// parent pid is non-negative and has at most 9 digits; a slice parses like the same bytes copied.
import CFuzz
import Sockit
@_spi(Fuzzing) import SockitPorts

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProc(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let lines = bytes.count { $0 == UInt8(ascii: "\n") }
    for transport in TransportProtocol.allCases {
        let sockets = ProcNet.parse(bytes, transport: transport, ticksPerSecond: 100)
        if sockets.count > lines { fatalError("\(sockets.count) sockets from \(lines + 1) lines") }
        for socket in sockets {
            _ = "\(socket.stateName) \(socket.local) \(socket.remoteDescription) \(socket.timerMilliseconds ?? -1)"
        }
    }
    let parent = ProcProcessTable.parseParent(bytes[...])
    if let parent, !(0...999_999_999).contains(parent) { fatalError("parent pid \(parent)") }
    // The same text at a slice that does not start at index 0 (readParent passes `buffer[0..<count]`;
    // slices elsewhere start later).
    if !bytes.isEmpty {
        let shifted = [0x20] + bytes
        if ProcProcessTable.parseParent(shifted[1...]) != parent { fatalError("a slice parses differently") }
    }
    return 0
}

@main enum Main {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzProc))
    }
}
