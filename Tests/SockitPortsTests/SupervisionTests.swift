import Sockit
import SockitPorts
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What stops a supervised holder for good, decided from its cgroup (and, for a manager holding
/// the socket itself, the `.socket` units listed): the advice `free`, `who` and bind errors give.
@Suite("Supervision: what stops a holder for good")
struct SupervisionTests {
    /// Socket units from a fixed list, or a fixed failure; counts the lookups.
    final class FixedSocketUnits: SocketUnitSource {
        let answer: Result<[SocketUnitListing], SocketUnitLookupError>
        let askedFor = Mutex<[UnitManager]>([])
        var asked: [UnitManager] { askedFor.withLock { $0 } }
        init(_ answer: Result<[SocketUnitListing], SocketUnitLookupError>) { self.answer = answer }
        func socketUnits(of manager: UnitManager) -> Result<[SocketUnitListing], SocketUnitLookupError> {
            askedFor.withLock { $0.append(manager) }
            return answer
        }
    }

    /// A holder of this process's user (so that only its cgroup decides), in the cgroup `path`.
    static func holder(_ pid: Int32, _ path: String) -> SocketHolder {
        SocketHolder(pid: pid, fd: 3, uid: geteuid(), user: "u", command: "x", cgroup: ProcessCgroup.parse(path: path))
    }

    static let appSocket = SocketUnitListing(listen: "0.0.0.0:8080", unit: "app.socket", activates: ["app.service"])
    static let other = SocketUnitListing(listen: "[::]:22", unit: "sshd.socket", activates: ["sshd.service"])

    @Test func aServicesProcessIsStoppedThroughSystemctlAndMaySignalWhenForced() throws {
        let units = FixedSocketUnits(.success([]))
        let supervision = Supervision(
            caller: ProcessCgroup.parse(path: "/user.slice/user-0.slice/session-1.scope"),
            socketUnits: units)
        let nginx = Self.holder(4242, "/system.slice/nginx.service")
        let advice = try #require(supervision.advice(for: [nginx], port: 80)[4242])
        #expect(advice.supervisor == .unit(SystemdUnit(name: "nginx.service")))
        #expect(advice.remedies == [.stopUnits(["nginx.service"], manager: .system)])
        #expect(units.asked.isEmpty, "no manager holds the port: systemctl is not asked")
        let freer = PortFreer(inspector: PortInspector(supervision: supervision))
        let refusal = try #require(freer.refusal(for: nginx, supervised: advice))
        #expect(refusal.remedies == [.stopUnits(["nginx.service"], manager: .system), .signalSupervised])
        #expect(!refusal.description.contains("--"), "\(refusal)")
        #expect(PortFreer(signalSupervised: true).refusal(for: nginx, supervised: advice) == nil)
    }

    @Test func aListenerPidOneHoldsNamesItsSocketUnitAndServiceAndIsNeverSignalled() throws {
        let units = FixedSocketUnits(.success([Self.other, Self.appSocket]))
        let supervision = Supervision(caller: nil, socketUnits: units)
        let systemd = Self.holder(1, "/init.scope")
        let app = Self.holder(700, "/system.slice/app.service")
        let advice = supervision.advice(for: [systemd, app], port: 8080)
        #expect(units.asked == [.system])
        #expect(advice[1]?.supervisor == .serviceManager(.system))
        #expect(advice[1]?.remedies == [.stopUnits(["app.socket", "app.service"], manager: .system)])
        // The service alone would be started again by its socket: the advice stops both.
        #expect(advice[700]?.remedies == [.stopUnits(["app.socket", "app.service"], manager: .system)])
        let forced = PortFreer(signalSupervised: true)
        #expect(forced.refusal(for: systemd, supervised: advice[1]) == .supervised(advice[1]!))
        #expect(forced.refusal(for: systemd, supervised: advice[1])?.remedies.contains(.signalSupervised) == false)
    }

    @Test func withoutTheSocketUnitsTheAdviceNamesTheServiceAndSaysSo() {
        let supervision = Supervision(
            caller: nil, socketUnits: FixedSocketUnits(.failure(SocketUnitLookupError(reason: "no systemctl"))))
        let advice = supervision.advice(
            for: [Self.holder(1, "/init.scope"), Self.holder(700, "/system.slice/app.service")], port: 8080)
        #expect(
            advice[1]?.remedies == [
                .findSocketUnit(port: 8080, manager: .system), .stopUnits(["app.service"], manager: .system),
            ])
        #expect(advice[700]?.remedies == [.stopUnits(["app.service"], manager: .system)])
    }

    @Test func aUsersUnitIsStoppedThroughThatUsersManager() {
        let supervision = Supervision(caller: nil, callerUID: 0, socketUnits: FixedSocketUnits(.success([])))
        var alice = Self.holder(900, "/user.slice/user-1000.slice/user@1000.service/app.slice/web.service")
        alice.cgroup?.unit?.userName = "alice"
        #expect(
            supervision.advice(for: [alice], port: 8080)[900]?.remedies == [
                .stopUnits(["web.service"], manager: .user("alice"))
            ])
        let own = Supervision(caller: nil, callerUID: 1000, socketUnits: FixedSocketUnits(.success([])))
        #expect(
            own.advice(for: [alice], port: 8080)[900]?.remedies == [.stopUnits(["web.service"], manager: .callingUser)])
        #expect(UnitManager.user("alice").systemctl == "systemctl --user -M alice@")
        #expect(UnitManager.callingUser.systemctl == "systemctl --user")
    }

    @Test func containersAreStoppedThroughTheirRuntimeOrPod() {
        let id = String(repeating: "0123456789abcdef", count: 4)
        let supervision = Supervision(caller: nil, socketUnits: FixedSocketUnits(.success([])))
        let advice = supervision.advice(
            for: [
                Self.holder(10, "/system.slice/docker-\(id).scope"),
                Self.holder(11, "/machine.slice/libpod-\(id).scope/container"),
                Self.holder(12, "/kubepods.slice/kubepods-pod0c2f_9d36.slice/cri-containerd-\(id).scope"),
            ], port: 8080)
        #expect(advice[10]?.remedies == [.stopContainer(tool: "docker", id: "0123456789ab")])
        #expect(advice[11]?.remedies == [.stopContainer(tool: "podman", id: "0123456789ab")])
        #expect(advice[12]?.remedies == [.stopPod(uid: "0c2f-9d36")])
    }

    @Test func scopesAndTheCallersOwnUnitOrContainerAreNotSupervised() {
        let id = String(repeating: "0123456789abcdef", count: 4)
        let supervision = Supervision(
            caller: ProcessCgroup.parse(path: "/system.slice/ci-runner.service"),
            socketUnits: FixedSocketUnits(.success([])))
        #expect(supervision.supervisor(of: Self.holder(5, "/user.slice/user-1000.slice/session-3.scope")) == nil)
        #expect(supervision.supervisor(of: Self.holder(6, "/system.slice/ci-runner.service")) == nil)
        #expect(supervision.supervisor(of: Self.holder(7, "/system.slice/other.service")) != nil)
        #expect(supervision.supervisor(of: SocketHolder(pid: 8, fd: 3, uid: 0, user: "u", command: "x")) == nil)
        let inContainer = Supervision(
            caller: ProcessCgroup.parse(path: "/system.slice/docker-\(id).scope"),
            socketUnits: FixedSocketUnits(.success([])))
        #expect(inContainer.supervisor(of: Self.holder(9, "/system.slice/docker-\(id).scope")) == nil)
    }
}
