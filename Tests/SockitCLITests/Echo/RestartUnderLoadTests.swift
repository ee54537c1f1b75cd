import Foundation
import SockitTestSupport
import Testing

/// `Scripts/restart-under-load.py` against the built `sockit`: a Python client opens short
/// connections on loopback at a steady rate (each sends a line and checks the echo) while the
/// server restarts. Bounded: the harness stops after its restarts, and each run is killed after
/// two minutes.
@Suite("restart under load", .serialized)
struct RestartUnderLoadTests {
    private struct Report {
        var status: Int32
        var values: [String: Any]
        var raw: String
        func int(_ key: String) -> Int { values[key] as? Int ?? -1 }
        func double(_ key: String) -> Double { (values[key] as? NSNumber)?.doubleValue ?? -1 }
    }

    private func harness(_ arguments: [String]) throws -> Report {
        let script = TestSupport.packageRoot.appendingPathComponent("Scripts/restart-under-load.py").path
        let result = try TestSupport.run(
            "/usr/bin/python3", [script, "--sockit", sockitBinary()] + arguments, timeout: .seconds(120))
        let values = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [String: Any] ?? [:]
        return Report(status: result.status, values: values, raw: result.stdout + result.stderr)
    }

    @Test("20 restarts through --handoff at 1,000 connections a second: none refused, reset or wrong")
    func handoffDropsNothing() throws {
        let report = try harness(["--mode", "handoff", "--restarts", "20", "--rate", "1000"])
        #expect(report.status == 0, "\(report.raw)")
        #expect(report.int("restarts") == 20, "\(report.raw)")
        #expect(report.int("attempted") > 0 && report.int("succeeded") == report.int("attempted"), "\(report.raw)")
        for key in ["failed", "refused", "reset", "timed_out", "wrong_echo", "other"] {
            #expect(report.int(key) == 0, "\(key): \(report.raw)")
        }
        // The client really opened about 1,000 connections a second throughout.
        #expect(report.double("rate") >= 900, "\(report.raw)")
    }

    @Test("the same harness on plain kill-then-start restarts reports refused connections")
    func plainRestartRefuses() throws {
        let report = try harness(["--mode", "plain", "--restarts", "3", "--rate", "1000"])
        #expect(report.status == 1, "\(report.raw)")
        #expect(report.int("restarts") == 3, "\(report.raw)")
        #expect(report.int("refused") > 0, "\(report.raw)")
        // Every failed connection was counted under one cause: the client saw each of them end.
        let causes = ["refused", "reset", "timed_out", "wrong_echo", "other"].map { report.int($0) }.reduce(0, +)
        #expect(report.int("failed") > 0 && causes == report.int("failed"), "\(report.raw)")
    }
}
