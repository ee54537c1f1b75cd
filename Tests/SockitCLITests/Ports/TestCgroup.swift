import Foundation
import SockitTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A cgroup a test makes under a writable hierarchy and removes after, to put a process where a
/// systemd unit's or a container's processes live (`…/sockit-test-PID-XXXX.slice/fake-web.service`).
/// The top directory is named for the test process and a random suffix, so that parallel tests
/// and runs never share one. `remove()` moves any process still inside back to where this test
/// process is, then removes the directories, innermost first.
final class TestCgroup {
    enum Hierarchy: Sendable {
        /// cgroup v2 (`0::` in /proc/PID/cgroup).
        case unified
        /// cgroup v1's `name=systemd` hierarchy.
        case namedSystemd
    }

    let hierarchy: Hierarchy
    /// Where the hierarchy is mounted.
    let mount: String
    /// The path inside the hierarchy, as /proc/PID/cgroup shows it (`/sockit-test-….slice/fake-web.service`).
    let path: String
    private var created: [String] = []

    /// Makes `…/sockit-test-PID-XXXX/<inner>` (`inner`: components below the top one, e.g.
    /// `["fake-web.service"]`); the top directory gets `topSuffix` (`.slice` by default).
    init(_ hierarchy: Hierarchy, _ inner: [String], topSuffix: String = ".slice") throws {
        guard let mount = Self.mountPoint(hierarchy) else {
            throw HolderFailure(message: "no \(hierarchy) cgroup hierarchy is mounted")
        }
        self.hierarchy = hierarchy
        self.mount = mount
        let top = "sockit-test-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())\(topSuffix)"
        var path = ""
        for component in [top] + inner {
            path += "/" + component
            guard mkdir(mount + path, 0o755) == 0 else {
                let code = errno
                for directory in created.reversed() { rmdir(directory) }
                throw HolderFailure(message: "mkdir \(mount + path): \(String(cString: strerror(code)))")
            }
            created.append(mount + path)
        }
        self.path = path
    }

    /// Moves `pid` into the cgroup.
    func add(_ pid: Int32) throws {
        try Self.write("\(pid)\n", to: mount + path + "/cgroup.procs")
    }

    /// The processes in it now.
    var processes: [Int32] {
        (Self.read(mount + path + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { Int32($0) }
    }

    /// Moves what is left back to this test process's own cgroup and removes the directories.
    /// A process that exited may leave its cgroup busy for a moment: each rmdir is retried for
    /// up to 5 s.
    func remove() {
        if let own = Self.ownPath(hierarchy) {
            for pid in processes { try? Self.write("\(pid)\n", to: mount + own + "/cgroup.procs") }
        }
        for directory in created.reversed() {
            _ = TestSupport.eventually(timeout: .seconds(5)) { rmdir(directory) == 0 || errno == ENOENT }
        }
        created = []
    }

    /// Whether a test may make cgroups in `hierarchy`: root, and the hierarchy mounted at its root.
    static func isWritable(_ hierarchy: Hierarchy) -> Bool {
        guard geteuid() == 0, let mount = mountPoint(hierarchy), ownPath(hierarchy) != nil else { return false }
        return access(mount, W_OK) == 0
    }

    /// The mount point of the hierarchy (mounted at its own root), from /proc/self/mountinfo.
    static func mountPoint(_ hierarchy: Hierarchy) -> String? {
        guard let text = try? TestSupport.readProcFile("/proc/self/mountinfo") else { return nil }
        for line in text.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let fields = halves[0].split(separator: " ")
            let tail = halves[1].split(separator: " ")
            guard fields.count >= 5, tail.count >= 3, fields[3] == "/" else { continue }
            switch hierarchy {
            case .unified where tail[0] == "cgroup2":
                return String(fields[4])
            case .namedSystemd where tail[0] == "cgroup" && tail[2].split(separator: ",").contains("name=systemd"):
                return String(fields[4])
            default:
                continue
            }
        }
        return nil
    }

    /// This process's path in the hierarchy, from /proc/self/cgroup.
    static func ownPath(_ hierarchy: Hierarchy) -> String? {
        guard let text = read("/proc/self/cgroup") else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            switch hierarchy {
            case .unified where parts[0] == "0" && parts[1].isEmpty: return String(parts[2])
            case .namedSystemd where parts[1].split(separator: ",").contains("name=systemd"): return String(parts[2])
            default: continue
            }
        }
        return nil
    }

    /// A cgroupfs or /proc file read to its end with read(2): such files report a size of 0, and
    /// Foundation's String(contentsOfFile:) leaked its 4 KiB buffer reading cgroup.procs
    /// (LeakSanitizer, under Scripts/sanitize.sh address).
    private static func read(_ file: String) -> String? {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        for _ in 0..<4096 {  // at most 16 MiB
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func write(_ text: String, to file: String) throws {
        let fd = open(file, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw HolderFailure(message: "open \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = text.withCString { Glibc.write(fd, $0, strlen($0)) }
        guard written == text.utf8.count else {
            throw HolderFailure(message: "write \(file): \(String(cString: strerror(errno)))")
        }
    }
}
