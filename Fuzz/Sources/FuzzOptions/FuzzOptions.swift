// Fuzz target: the socket-option codecs. Every option in `SocketOptionCatalog` decodes the same
// arbitrary bytes (as if `getsockopt` had returned them, any length) and renders the value.
// Invariant: no crash, no sanitizer report, and decoding is a function of the bytes.
import CFuzz
@_spi(Fuzzing) import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// The catalogue, built once (its notes read sysctls).
let options = SocketOptionCatalog.all

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOptions(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for option in options {
        // Bytes the kernel never returns (a negative time) are refused with an error: fine.
        guard let value = try? option.value(decoding: bytes) else { continue }
        _ = value.description
        if (try? option.value(decoding: bytes)) != value {
            fatalError("\(option.cName): decoding the same bytes twice gives different values")
        }
    }
    return 0
}

@main enum Main {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOptions))
    }
}
