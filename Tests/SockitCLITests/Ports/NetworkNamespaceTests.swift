import Foundation
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A listener in another network namespace (`unshare -n`, loopback up): invisible to the
/// default socket table, found with --all-netns, stopped by free --all-netns only.
@Suite("Network namespaces: who and free --all-netns")
struct NetworkNamespaceTests {
    /// A holder in a new network namespace. Its port 0 comes from a range of that namespace
    /// set outside this one's ephemeral range, so no socket of a test running here meanwhile can
    /// have the same number (the sysctl is the new namespace's own).
    static func holderInItsOwnNamespace() throws -> Holder {
        let range = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
            .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        let (low, high) = (range[0], range[1])
        let own = high < 64_000 ? "\(high + 1) \(min(high + 1000, 65_535))" : "\(low - 1000) \(low - 1)"
        let setup =
            "ip link set lo up && echo '\(own)' > /proc/sys/net/ipv4/ip_local_port_range && exec \"$0\" \"$@\""
        return try Holder(["listen"], wrapper: ["/usr/bin/unshare", "-n", "/bin/sh", "-c", setup])
    }

    static var canUnshare: Bool {
        geteuid() == 0 && access("/usr/bin/unshare", X_OK) == 0 && access("/usr/sbin/ip", X_OK) == 0
            || geteuid() == 0 && access("/usr/bin/unshare", X_OK) == 0 && access("/sbin/ip", X_OK) == 0
    }

    @Test(.enabled(if: canUnshare, "needs root, unshare and ip"))
    func aListenerInAnotherNamespaceIsFoundAndFreedOnlyWithAllNetns() throws {
        let holder = try Self.holderInItsOwnNamespace()
        let port = String(holder.port)
        let namespace = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(holder.pid)/ns/net")

        // Here: nothing, and a hint that other namespaces exist.
        let here = try TestSupport.sockit(["who", port, "--tcp"])
        #expect(here.status == 1)
        #expect(here.stdout.contains("no socket uses port \(port)"))
        #expect(here.stdout.contains("other network namespace"), "\(here.stdout)")
        #expect(here.stdout.contains("sockit who \(port) --all-netns"))

        // Every namespace: the listener, its pid and its namespace.
        let (found, document) = try sockitJSON(["who", port, "--tcp", "--all-netns", "--json"])
        #expect(found.status == 0, "\(found.stderr)")
        let listener = try #require(sockets(document).first { $0["state"] as? String == "LISTEN" })
        #expect(listener["pid"] as? Int == Int(holder.pid))
        let netns = try #require(listener["netns"] as? [String: Any])
        #expect(netns["current"] as? Bool == false)
        #expect("net:[\(netns["inode"] as? Int ?? -1)]" == namespace)
        // The verdict is this namespace's: the listener there does not block a bind here.
        #expect((document["verdict"] as? [String: Any])?["bindable"] as? Bool == true)

        // Another user cannot enter namespaces: a clear error, never "free".
        let unprivileged = try TestSupport.run(
            "/usr/bin/setpriv",
            [
                "--reuid=nobody", "--regid=nogroup", "--clear-groups", TestSupport.sockitBinary, "who", port,
                "--all-netns",
            ])
        #expect(unprivileged.status == 2)
        #expect(unprivileged.stderr.contains("needs CAP_SYS_ADMIN"), "\(unprivileged.stderr)")
        #expect(!unprivileged.stdout.contains("free"))

        // free without --all-netns leaves it alone; with it, stops it.
        let plain = try TestSupport.sockit(["free", port, "--yes"])
        #expect(plain.status == 0)
        #expect(plain.stdout.contains("sockit free \(port) --all-netns"), "\(plain.stdout)")
        #expect(holder.isAlive)
        let freed = try TestSupport.sockit(["free", port, "--all-netns", "--yes"])
        #expect(freed.status == 0, "\(freed.stderr)")
        #expect(freed.stdout.contains("sent SIGTERM to pid \(holder.pid)"), "\(freed.stdout)")
        #expect(holder.child.waitForExit(timeout: .seconds(10)) != nil)
    }
}
