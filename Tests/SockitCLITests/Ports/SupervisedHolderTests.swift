import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A holder moved into a cgroup named like a systemd unit's or a container's (made by the test
/// and removed after): `who` names the unit or container, `free` does not fight the supervisor
/// (it prints what stops the holder for good and exits 1) unless `--force`, and a bind error
/// gives the same advice. Needs root and a writable cgroup hierarchy.
@Suite("holders run by systemd or a container")
struct SupervisedHolderTests {
    static let id = String(repeating: "0123456789abcdef", count: 4)

    /// A listener, moved into a test cgroup `inner` (below a top directory of its own).
    static func heldIn(
        _ inner: [String], _ hierarchy: TestCgroup.Hierarchy = .unified, topSuffix: String = ".slice"
    ) throws -> (Holder, TestCgroup) {
        let cgroup = try TestCgroup(hierarchy, inner, topSuffix: topSuffix)
        do {
            let holder = try Holder(["listen"])
            try cgroup.add(holder.pid)
            return (holder, cgroup)
        } catch {
            cgroup.remove()
            throw error
        }
    }

    /// The row of `document` that `holder` holds.
    static func row(_ document: [String: Any], _ holder: Holder) throws -> [String: Any] {
        try #require(sockets(document).first { $0["pid"] as? Int == Int(holder.pid) }, "\(document)")
    }

    @Test(.enabled(if: TestCgroup.isWritable(.unified)))
    func aServicesHolderIsShownAndFreeRefusesUntilForced() throws {
        let (holder, cgroup) = try Self.heldIn(["fake-web.service"])
        defer { cgroup.remove() }

        let (_, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        let unit = try #require(try Self.row(document, holder)["unit"] as? [String: Any])
        #expect(unit["name"] as? String == "fake-web.service")
        #expect(unit["type"] as? String == "service")
        #expect(unit["manager"] as? String == "system")
        #expect(try Self.row(document, holder)["cgroup"] as? String == cgroup.path)
        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(
            (verdict["reason"] as? String)?.hasSuffix("stop it for good with: systemctl stop fake-web.service") == true)

        let text = try TestSupport.sockit(["who", String(holder.port), "--tcp"])
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.contains(" USER  UNIT  ") == true, "\(text.stdout)")
        #expect(lines.contains { $0.contains(" \(holder.pid)  ") && $0.contains("  fake-web.service  ") })

        let refused = try TestSupport.sockit(["free", String(holder.port), "--yes"])
        #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stdout.contains("refused: runs in fake-web.service"), "\(refused.stdout)")
        #expect(
            refused.stderr.contains("\n  stop it for good with: systemctl stop fake-web.service\n"), "\(refused.stderr)"
        )
        #expect(refused.stderr.contains("--force signals it anyway"))
        #expect(!refused.stdout.contains("sent SIGTERM"))
        #expect(holder.isAlive)

        // A bind that fails gives the same advice.
        let echo = try TestSupport.sockit(["echo", "127.0.0.1:\(holder.port)"], timeout: .seconds(20))
        #expect(echo.status == 2)
        let errors = echo.stderr.split(separator: "\n").map(String.init)
        #expect(
            errors.contains { $0.hasPrefix("  held by pid \(holder.pid) (") && $0.hasSuffix(", in fake-web.service") })
        // The holder (portholder.py listen) did not set SO_REUSEADDR: the advice adds --leftovers.
        #expect(
            errors.suffix(2) == [
                "  stop it for good with: systemctl stop fake-web.service",
                "  as root: sockit free \(holder.port) --leftovers",
            ], "\(errors)")

        let forced = try TestSupport.sockit(["free", String(holder.port), "--yes", "--force"])
        #expect(forced.status == 0, "\(forced.stdout)\(forced.stderr)")
        #expect(forced.stdout.contains("sent SIGTERM to pid \(holder.pid)"))
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
    }

    @Test(.enabled(if: TestCgroup.isWritable(.unified)))
    func aDockerScopeGivesTheContainerAndDockerStop() throws {
        let (holder, cgroup) = try Self.heldIn(["docker-\(Self.id).scope"])
        defer { cgroup.remove() }
        let (_, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        let container = try #require(try Self.row(document, holder)["container"] as? [String: Any])
        #expect(container["runtime"] as? String == "docker")
        #expect(container["id"] as? String == Self.id)
        #expect(container["short_id"] as? String == "0123456789ab")

        let (refused, report) = try sockitJSON(["free", String(holder.port), "--yes", "--json"])
        #expect(refused.status == 1)
        let candidate = try #require((report["candidates"] as? [[String: Any]])?.first)
        #expect(candidate["refused"] as? String == "runs in docker container 0123456789ab")
        #expect((candidate["advice"] as? [String])?.first == "stop the container with: docker stop 0123456789ab")
        #expect(report["signalled"] as? [Int] == [])
        #expect(holder.isAlive)
    }

    @Test(.enabled(if: TestCgroup.isWritable(.namedSystemd)))
    func onCgroupV1TheNamedSystemdHierarchyNamesTheService() throws {
        let (holder, cgroup) = try Self.heldIn(["fake-web.service"], .namedSystemd)
        defer { cgroup.remove() }
        let (_, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        #expect((try Self.row(document, holder)["unit"] as? [String: Any])?["name"] as? String == "fake-web.service")
        let refused = try TestSupport.sockit(["free", String(holder.port), "--yes"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("stop it for good with: systemctl stop fake-web.service"), "\(refused.stderr)")
        #expect(holder.isAlive)
    }

    @Test(.enabled(if: TestCgroup.isWritable(.namedSystemd)))
    func onCgroupV1TheCgroupfsDriversDockerPathNamesTheContainer() throws {
        // cgroupfs driver: /docker/ID (here below the test's own top directory).
        let (holder, cgroup) = try Self.heldIn(["docker", Self.id], .namedSystemd, topSuffix: "")
        defer { cgroup.remove() }
        let (_, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        let container = try #require(try Self.row(document, holder)["container"] as? [String: Any])
        #expect(container["runtime"] as? String == "docker")
        #expect(container["short_id"] as? String == "0123456789ab")
        let refused = try TestSupport.sockit(["free", String(holder.port), "--yes"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("stop the container with: docker stop 0123456789ab"), "\(refused.stderr)")
        #expect(holder.isAlive)
    }

    @Test(.enabled(if: TestCgroup.isWritable(.unified)))
    func aSessionScopeIsShownButSignalledAsUsual() throws {
        let (holder, cgroup) = try Self.heldIn(["session-7.scope"])
        defer { cgroup.remove() }
        let (_, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        let unit = try #require(try Self.row(document, holder)["unit"] as? [String: Any])
        #expect(unit["name"] as? String == "session-7.scope")
        #expect(unit["type"] as? String == "scope")
        let freed = try TestSupport.sockit(["free", String(holder.port), "--yes"])
        #expect(freed.status == 0, "\(freed.stdout)\(freed.stderr)")
        #expect(freed.stdout.contains("session-7.scope"))
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
    }

    @Test(.enabled(if: TestCgroup.isWritable(.unified) && getpwuid(65534) != nil))
    func aUsersServiceIsStoppedThroughThatUsersManager() throws {
        let nobody = String(cString: getpwuid(65534)!.pointee.pw_name)
        let (holder, cgroup) = try Self.heldIn(["user@65534.service", "app.slice", "fake-app.service"])
        defer { cgroup.remove() }
        let (_, document) = try sockitJSON(["who", String(holder.port), "--tcp", "--json"])
        let unit = try #require(try Self.row(document, holder)["unit"] as? [String: Any])
        #expect(unit["name"] as? String == "fake-app.service")
        #expect(unit["manager"] as? String == "user")
        #expect(unit["uid"] as? Int == 65534)
        #expect(unit["user"] as? String == nobody)
        let refused = try TestSupport.sockit(["free", String(holder.port), "--yes"])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.contains("stop it for good with: systemctl --user -M \(nobody)@ stop fake-app.service"),
            "\(refused.stderr)")
        #expect(holder.isAlive)
    }

    /// A fake `systemctl` in a directory of its own: `script` is its shell body.
    static func fakeSystemctl(_ script: String) throws -> String {
        let directory = try TestSupport.temporaryDirectory("systemctl")
        let path = directory.appendingPathComponent("systemctl").path
        // Written through a close-on-exec descriptor: Foundation's write(toFile:) leaves its
        // descriptor inheritable, and a holder another test spawns meanwhile keeps it open for
        // its whole life, so running the script fails with ETXTBSY ("text file busy").
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard fd >= 0 else { throw HolderFailure(message: "open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let text = "#!/bin/sh\n" + script + "\n"
        let written = text.withCString { write(fd, $0, strlen($0)) }
        guard written == text.utf8.count else { throw HolderFailure(message: "write \(path) failed") }
        return directory.path
    }

    static func sockit(_ arguments: [String], path directory: String) throws -> TestSupport.ProcessResult {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return try TestSupport.run(
            TestSupport.sockitBinary, arguments, timeout: .seconds(30), environment: ["PATH": "\(directory):\(path)"])
    }

    /// Socket activation: a user's `systemd --user` (its cgroup `user@UID.service/init.scope`)
    /// holds the listener. `free` names the `.socket` unit and its service from `systemctl
    /// list-sockets`, never signals the manager (not even with `--force`), and says so when the
    /// units cannot be listed (systemctl fails, or does not answer in time).
    @Test(.enabled(if: TestCgroup.isWritable(.unified) && getpwuid(65534) != nil))
    func aListenerHeldByAUsersManagerNamesItsSocketUnit() throws {
        let nobody = String(cString: getpwuid(65534)!.pointee.pw_name)
        let (holder, cgroup) = try Self.heldIn(["user@65534.service", "init.scope"])
        defer { cgroup.remove() }
        let port = String(holder.port)
        let arguments = try TestSupport.temporaryDirectory("arguments").appendingPathComponent("args").path
        let listing = try Self.fakeSystemctl(
            "echo \"$@\" > \(arguments)\n"
                + "echo '/run/user/65534/bus        dbus.socket       dbus.service'\n"
                + "echo '127.0.0.1:\(port)         fake-app.socket   fake-app.service'")
        for extra in [[], ["--force"]] {
            let refused = try Self.sockit(["free", port, "--yes"] + extra, path: listing)
            #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
            #expect(
                refused.stdout.contains("refused: user \(nobody)'s service manager (systemd --user), never signalled"))
            #expect(
                refused.stderr.contains(
                    "stop it for good with: systemctl --user -M \(nobody)@ stop fake-app.socket fake-app.service"),
                "\(refused.stderr)")
            #expect(!refused.stderr.contains("--force"))
            #expect(holder.isAlive)
        }
        let asked = try String(contentsOfFile: arguments, encoding: .utf8)
        #expect(asked.hasPrefix("--user -M \(nobody)@ list-sockets"), "\(asked)")

        let failing = try Self.fakeSystemctl("echo 'Failed to connect to bus: No medium found' >&2; exit 1")
        let unknown = try Self.sockit(["free", port, "--yes"], path: failing)
        #expect(unknown.status == 1)
        #expect(
            unknown.stderr.contains(
                "its .socket unit could not be determined: find the one on port \(port) with "
                    + "systemctl --user -M \(nobody)@ list-sockets"), "\(unknown.stderr)")
        #expect(holder.isAlive)

        // A systemctl that never answers is killed after its time (2 s): the same advice, in time.
        let hanging = try Self.fakeSystemctl("exec sleep 60")
        let clock = ContinuousClock()
        let start = clock.now
        let slow = try Self.sockit(["free", port, "--yes"], path: hanging)
        #expect(clock.now - start < .seconds(10))
        #expect(slow.status == 1)
        #expect(slow.stderr.contains("its .socket unit could not be determined"), "\(slow.stderr)")
        #expect(holder.isAlive)
    }

    /// A holder in sockit's own unit is its sibling (a script's server in the same service, a
    /// shell inside the same container): it is signalled as usual.
    @Test(.enabled(if: TestCgroup.isWritable(.unified)))
    func aHolderInSockitsOwnUnitIsSignalledAsUsual() throws {
        let (holder, cgroup) = try Self.heldIn(["fake-ci.service"])
        defer { cgroup.remove() }
        let procs = cgroup.mount + cgroup.path + "/cgroup.procs"
        let freed = try TestSupport.run(
            "/bin/sh",
            [
                "-c", "echo $$ > \(procs) && exec \"$0\" \"$@\"", TestSupport.sockitBinary, "free",
                String(holder.port), "--yes",
            ])
        #expect(freed.status == 0, "\(freed.stdout)\(freed.stderr)")
        #expect(freed.stdout.contains("sent SIGTERM to pid \(holder.pid)"))
        #expect(holder.child.waitForExit(timeout: .seconds(10)) == 128 + SIGTERM)
    }
}
