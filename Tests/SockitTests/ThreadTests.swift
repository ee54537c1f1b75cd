#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockit
import Synchronization
import Testing

import Sockit

/// sockit's own helper threads (`startThread`): the /proc scan's helpers start on a CPU other
/// than their creator's, and are then as free to move as their creator.
@Suite struct ThreadTests {
    final class Seen: Sendable {
        let cpu = Atomic<Int32>(-1)
        let allowed = Atomic<Int32>(0)
    }

    /// The helper records the CPU it first ran on, before it takes the whole mask back
    /// (`sockit_thread_start_cpu`); it must not be the creator's. Trials where the creator
    /// itself moved between its two readings are not counted.
    @Test func helperStartsOnAnotherCPUAndGetsTheWholeMaskBack() throws {
        let cpus = sockit_affinity_cpu_count()
        var counted = 0
        var sameCPU: [Int32] = []
        for _ in 0..<20 {
            let seen = Seen()
            let before = sockit_current_cpu()
            let thread = try #require(
                startThread(onAnotherCPU: true) {
                    seen.allowed.store(sockit_affinity_cpu_count(), ordering: .relaxed)
                    seen.cpu.store(sockit_thread_start_cpu(), ordering: .releasing)
                })
            let after = sockit_current_cpu()
            pthread_join(thread, nil)
            let helper = seen.cpu.load(ordering: .acquiring)
            #expect(helper >= 0 || cpus < 2, "the helper was not started elsewhere")
            // Given back the creator's whole mask once started.
            #expect(seen.allowed.load(ordering: .relaxed) == cpus)
            guard cpus >= 2, before == after else { continue }
            counted += 1
            if helper == before { sameCPU.append(helper) }
        }
        guard cpus >= 2 else { return }
        #expect(counted >= 10, "the creator moved in \(20 - counted) of 20 trials")
        #expect(sameCPU.isEmpty, "started on its creator's CPU in \(sameCPU.count) of \(counted) trials")
    }

    @Test func plainThreadRunsItsBody() throws {
        let seen = Seen()
        let thread = try #require(startThread { seen.cpu.store(sockit_current_cpu(), ordering: .releasing) })
        pthread_join(thread, nil)
        let cpu = seen.cpu.load(ordering: .acquiring)
        #expect(cpu >= 0 && cpu < 1024, "the body did not run, or sched_getcpu failed: \(cpu)")
    }
}
