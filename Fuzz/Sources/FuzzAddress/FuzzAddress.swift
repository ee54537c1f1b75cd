// Fuzz target: SocketAddress parsing (`SocketAddress(_:)`, `init?(parsing:)`).
//
// Invariants, beyond "no crash, no sanitizer report":
// - what parses prints back (`description`) and re-parses to the same value;
// - it survives the trip through `struct sockaddr_storage` (`fill`, `init?(storage:length:)`);
// - a NUL byte is accepted only inside an abstract name (`@name`), where it is part of the name.
//
// Host names go to getaddrinfo: Scripts/fuzz.sh runs this in a network namespace of its own, so
// no query leaves the machine.
import CFuzz
import Sockit

#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAddress(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let address: SocketAddress
    do {
        address = try SocketAddress(text)
    } catch {
        _ = error.description
        if SocketAddress(parsing: text) != nil {
            fatalError("init?(parsing:) accepts what init(_:) rejects: \(text.debugDescription)")
        }
        return 0
    }
    if SocketAddress(parsing: text) != address {
        fatalError("init?(parsing:) disagrees with init(_:) on \(text.debugDescription)")
    }
    if text.utf8.contains(0) {
        guard case .unix(let unix) = address, unix.isAbstract else {
            fatalError("accepted a NUL byte outside an abstract name: \(text.debugDescription) -> \(address)")
        }
    }
    let printed = address.description
    do {
        let again = try SocketAddress(printed)
        if again != address {
            fatalError(
                "round trip changed \(text.debugDescription): printed \(printed.debugDescription), re-parsed \(again)")
        }
    } catch {
        fatalError("\(text.debugDescription) parses, but what it prints does not: \(error)")
    }
    var storage = sockaddr_storage()
    let length = address.fill(&storage)
    guard let decoded = SocketAddress(storage: storage, length: length), decoded == address else {
        fatalError("sockaddr round trip changed \(text.debugDescription) (\(address))")
    }
    _ = address.host
    _ = address.isLoopback
    _ = address.isUnspecified
    return 0
}

@main enum Main {
    static func main() {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzAddress))
    }
}
