import CSockit
import Sockit

/// Small readers for `/proc` files, without Foundation (the CLI starts faster without it).
enum ProcFiles {
    /// The whole file, or nil when it cannot be opened (gone, or not permitted).
    static func read(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
        guard case .success(let fd) = PortSys.open(path) else { return nil }
        defer { Sys.close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while result.count < limit {
            let read = chunk.withUnsafeMutableBytes { PortSys.read(fd, $0.baseAddress, $0.count) }
            guard case .success(let count) = read else { return result.isEmpty ? nil : result }
            if count == 0 { break }
            result += chunk[0..<count]
        }
        return result
    }

    /// The file as text.
    static func text(_ path: String) -> String? {
        read(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `net.ipv4.tcp_fin_timeout` of this network namespace in seconds: how long an orphaned
    /// connection stays in FIN-WAIT-2 (a socket's own `TCP_LINGER2` may differ; the socket table
    /// does not show it). 60, the kernel's default, when it cannot be read.
    static func tcpFinTimeoutSeconds() -> Int {
        guard let text = text("/proc/sys/net/ipv4/tcp_fin_timeout"),
            let value = Int(text.filter { !$0.isWhitespace }), value > 0
        else { return 60 }
        return value
    }

    /// The target of a symbolic link, read relative to the directory `dirfd`: its length, -1
    /// when it cannot be read.
    static func readLink(at dirfd: CInt, _ name: UnsafePointer<CChar>, into buffer: inout [CChar]) -> Int {
        let result = buffer.withUnsafeMutableBufferPointer {
            PortSys.readLink(at: dirfd, name, into: $0.baseAddress!, count: $0.count)
        }
        guard case .success(let count) = result else { return -1 }
        return count
    }
}
