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

    /// Reads `name` (`PID/cgroup`) under the open `/proc` directory `procFD`.
    static func read(procFD: CInt, _ name: String) -> ProcessCgroup? {
        var reader = Reader()
        return reader.read(procFD: procFD, name)
    }

    /// Reads the cgroups of the holders found (`sockit who` reads them for those only, never for
    /// every process): one buffer for them all, one `read` per file when it fits (it does,
    /// unless hundreds of v1 hierarchies are mounted), and each distinct text parsed once (a
    /// pre-fork server's workers share their master's cgroup).
    struct Reader {
        private var buffer = [UInt8](repeating: 0, count: 4096)
        /// Texts already parsed, searched in order: a few distinct ones. Not a dictionary: the
        /// first use of `[UInt8]`'s Hashable conformance looks through every conformance of the
        /// binary (about a millisecond of a command that answers in a few).
        private var parsed: [(text: [UInt8], cgroup: ProcessCgroup?)] = []

        mutating func read(procFD: CInt, _ name: String) -> ProcessCgroup? {
            guard case .success(let fd) = PortSys.openAt(procFD, name) else { return nil }
            defer { Sys.close(fd) }
            var text: [UInt8] = []
            while text.count < 64 * 1024 {
                let result = buffer.withUnsafeMutableBytes { PortSys.read(fd, $0.baseAddress, $0.count) }
                guard case .success(let count) = result, count > 0 else { break }
                text += buffer[0..<count]
                // A /proc file shorter than the buffer comes whole in one read.
                if count < buffer.count { break }
            }
            if let known = parsed.first(where: { $0.text == text }) { return known.cgroup }
            let cgroup = parse(String(decoding: text, as: UTF8.self))
            parsed.append((text, cgroup))
            return cgroup
        }
    }
}
