import Sockit

#if canImport(Glibc)
import Glibc
#endif

extension ProcessCgroup {
    /// The cgroup of `pid`, from `/proc/PID/cgroup`; nil when the process is gone (or the kernel
    /// has no cgroups).
    public static func of(pid: Int32) -> ProcessCgroup? {
        guard case .success(let procFD) = PortSys.open("/proc", flags: O_DIRECTORY) else { return nil }
        defer { Sys.close(procFD) }
        return read(procFD: procFD, "\(pid)/cgroup")
    }

    /// The calling process's own cgroup (`/proc/self/cgroup`).
    public static func ofCurrentProcess() -> ProcessCgroup? {
        guard case .success(let procFD) = PortSys.open("/proc", flags: O_DIRECTORY) else { return nil }
        defer { Sys.close(procFD) }
        return read(procFD: procFD, "self/cgroup")
    }

    /// Reads `name` (`PID/cgroup`) under the open `/proc` directory `procFD`: one small file per
    /// holder, read once per process (`sockit who` reads it only for the holders it found).
    static func read(procFD: CInt, _ name: String) -> ProcessCgroup? {
        guard case .success(let fd) = PortSys.openAt(procFD, name) else { return nil }
        defer { Sys.close(fd) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while text.count < 64 * 1024 {
            let result = chunk.withUnsafeMutableBytes { PortSys.read(fd, $0.baseAddress, $0.count) }
            guard case .success(let count) = result, count > 0 else { break }
            text += chunk[0..<count]
        }
        return parse(String(decoding: text, as: UTF8.self))
    }
}
