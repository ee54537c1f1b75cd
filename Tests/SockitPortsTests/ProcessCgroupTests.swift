import Sockit
import SockitPorts
import Testing

/// `/proc/PID/cgroup` text to the unit, container or manager it names: every form the paths of
/// systemd, docker, podman, containerd and CRI-O take, on cgroup v2 and v1 (`name=systemd`).
@Suite("cgroup paths: unit, container, manager")
struct ProcessCgroupTests {
    static let id = String(repeating: "0123456789abcdef", count: 4)
    static let pod = "0c2f2d4e-9d36-4c1a-8a56-1d5b1a8e4b41"

    /// One row: the text of `/proc/PID/cgroup`, and what it names.
    struct Row: Sendable, CustomTestStringConvertible {
        var text: String
        var unit: String?
        var unitUser: UInt32? = nil
        var container: Container? = nil
        var manager: ProcessCgroup.Manager? = nil
        var testDescription: String { text.split(separator: "\n").last.map(String.init) ?? text }
    }

    static let rows: [Row] = [
        // v2: a system service, a delegated service's own sub-cgroup, a scope.
        Row(text: "0::/system.slice/nginx.service", unit: "nginx.service"),
        Row(text: "0::/system.slice/foo.service/payload", unit: "foo.service"),
        Row(text: "0::/user.slice/user-1000.slice/session-3.scope", unit: "session-3.scope"),
        // A user's units: below user@UID.service, run by that user's manager.
        Row(
            text: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", unit: "foo.service",
            unitUser: 1000),
        Row(
            text: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/vte-spawn-9f1c.scope",
            unit: "vte-spawn-9f1c.scope", unitUser: 1000),
        // The managers themselves: pid 1 and systemd --user (v2, and v1's older layout).
        Row(text: "0::/init.scope", unit: "init.scope", manager: .system),
        Row(
            text: "0::/user.slice/user-1000.slice/user@1000.service/init.scope", unit: "init.scope", unitUser: 1000,
            manager: .user(1000)),
        Row(
            text: "1:name=systemd:/user.slice/user-1000.slice/user@1000.service", unit: "user@1000.service",
            manager: .user(1000)),
        // Containers: docker (systemd and cgroupfs drivers), podman (root and rootless), conmon is not one.
        Row(
            text: "0::/system.slice/docker-\(id).scope", unit: "docker-\(id).scope",
            container: Container(runtime: .docker, id: id)),
        Row(text: "0::/docker/\(id)", unit: nil, container: Container(runtime: .docker, id: id)),
        Row(
            text: "0::/machine.slice/libpod-\(id).scope/container", unit: "libpod-\(id).scope",
            container: Container(runtime: .podman, id: id)),
        Row(
            text: "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-\(id).scope",
            unit: "libpod-\(id).scope", unitUser: 1000, container: Container(runtime: .podman, id: id)),
        Row(text: "0::/libpod_parent/libpod-\(id)", unit: nil, container: Container(runtime: .podman, id: id)),
        Row(text: "0::/machine.slice/libpod-conmon-\(id).scope", unit: "libpod-conmon-\(id).scope"),
        // Kubernetes: containerd and CRI-O scopes in a pod's slice; the cgroupfs driver's path.
        Row(
            text: "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
                + "0c2f2d4e_9d36_4c1a_8a56_1d5b1a8e4b41.slice/cri-containerd-\(id).scope",
            unit: "cri-containerd-\(id).scope", container: Container(runtime: .containerd, id: id, podUID: pod)),
        Row(
            text: "0::/kubepods.slice/kubepods-pod0c2f2d4e_9d36_4c1a_8a56_1d5b1a8e4b41.slice/crio-\(id).scope",
            unit: "crio-\(id).scope", container: Container(runtime: .crio, id: id, podUID: pod)),
        Row(
            text: "0::/kubepods/besteffort/pod\(pod)/\(id)", unit: nil,
            container: Container(runtime: .kubernetes, id: id, podUID: pod)),
        // v1: the name=systemd line, on a hybrid machine whose unified line says nothing.
        Row(
            text: "12:pids:/system.slice/nginx.service\n1:name=systemd:/system.slice/nginx.service\n0::/",
            unit: "nginx.service"),
        Row(
            text: "11:memory:/docker/\(id)\n1:name=systemd:/docker/\(id)", unit: nil,
            container: Container(runtime: .docker, id: id)),
        // A container that only a v1 controller's line names (cgroupfs, name=systemd at the root).
        Row(
            text: "4:memory:/docker/\(id)\n1:name=systemd:/\n0::/", unit: nil,
            container: Container(runtime: .docker, id: id)),
        // Nothing: the root, a 32-digit id that is no container's, an id of the wrong length or case.
        Row(text: "0::/", unit: nil),
        Row(text: "4:memory:/process_api/df28f6a331f4cce9e88e2b99da680a81\n0::/", unit: nil),
        Row(text: "0::/system.slice/docker-\(id.dropLast()).scope", unit: "docker-\(id.dropLast()).scope"),
        Row(text: "0::/docker/\(id.uppercased())", unit: nil),
        // A slice is no unit a process runs in.
        Row(text: "0::/system.slice", unit: nil),
    ]

    @Test(arguments: rows) func namesWhatThePathSays(_ row: Row) throws {
        let cgroup = try #require(ProcessCgroup.parse(row.text))
        #expect(cgroup.unit?.name == row.unit)
        #expect(cgroup.unit?.userID == row.unitUser)
        #expect(cgroup.container == row.container)
        #expect(cgroup.manager == row.manager)
    }

    @Test func unitTypesComeFromTheSuffix() {
        #expect(SystemdUnit(name: "nginx.service").isService)
        #expect(SystemdUnit(name: "session-3.scope").kind == .scope)
        #expect(!SystemdUnit(name: "session-3.scope").isService)
        #expect(SystemdUnit(name: "app.socket").kind == .socket)
        #expect(
            SystemdUnit(name: "app.service", userID: 1000, userName: "alice").description == "app.service (user alice)")
        #expect(Container(runtime: .docker, id: Self.id).description == "docker 0123456789ab")
    }

    @Test func textWithoutACgroupLineIsNil() {
        #expect(ProcessCgroup.parse("") == nil)
        #expect(ProcessCgroup.parse("not a cgroup line\n") == nil)
        #expect(ProcessCgroup.parse("0::relative/path") == nil)
    }

    @Test func thisProcessHasACgroup() throws {
        let own = try #require(ProcessCgroup.ofCurrentProcess())
        #expect(own.path.hasPrefix("/"))
    }
}
