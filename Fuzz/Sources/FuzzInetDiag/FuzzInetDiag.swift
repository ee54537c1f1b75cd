// Fuzz target: the netlink sock_diag reply parser (`InetDiag.ReplyParser`, `InetDiag.socket(from:)`).
//
// Input: one byte whose low bit picks the transport (0 TCP, 1 UDP), then datagrams, each a 2-byte
// little-endian length and that many bytes (the last one takes what is left). Each datagram is
// copied into an allocation of exactly its size, so that AddressSanitizer reports a read past it.
// Invariants: no crash, no sanitizer report; the parser keeps at most one socket per
// `nlmsghdr` + `inet_diag_msg` (88 bytes) and stops at the first NLMSG_DONE or error.
import CFuzz
import Sockit
@_spi(Fuzzing) import SockitPorts

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInetDiag(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let transport: TransportProtocol = data[0] & 1 == 0 ? .tcp : .udp
    var parser = InetDiag.ReplyParser(transport: transport)
    var offset = 1
    var consumed = 0
    while offset < size {
        var length = size - offset
        if length >= 2 {
            length = min(Int(data[offset]) | Int(data[offset + 1]) << 8, size - offset - 2)
            offset += 2
        }
        let datagram = UnsafeMutableRawBufferPointer.allocate(byteCount: length, alignment: 1)
        defer { datagram.deallocate() }
        datagram.copyMemory(from: UnsafeRawBufferPointer(start: data + offset, count: length))
        offset += length
        let view = UnsafeRawBufferPointer(datagram)
        // The message decoder on its own, at the start and past a netlink header.
        _ = InetDiag.socket(from: view, transport: transport).map(describe)
        if length > 16 {
            _ = InetDiag.socket(from: UnsafeRawBufferPointer(rebasing: view[16...]), transport: transport).map(describe)
        }
        let wasFinished = parser.finished
        let before = parser.sockets.count
        parser.consume(view)
        if wasFinished && parser.sockets.count != before {
            fatalError("the parser took sockets after the dump finished")
        }
        consumed += length
        if parser.sockets.count > consumed / 88 { fatalError("\(parser.sockets.count) sockets from \(consumed) bytes") }
    }
    _ = parser.error?.description
    for socket in parser.sockets { _ = describe(socket) }
    return 0
}

func describe(_ socket: PortSocket) -> String {
    "\(socket.transport) \(socket.stateName) \(socket.local) \(socket.remoteDescription) \(socket.uid) \(socket.inode) \(socket.timerMilliseconds ?? -1) \(socket.timerKind ?? "-")"
}

@main enum Main {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzInetDiag))
    }
}
