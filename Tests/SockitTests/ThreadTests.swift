import CSockit
import Sockit
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// sockit's own helper threads (`startThread`): the /proc scan's helpers start on a CPU other
/// than their creator's, and are then as free to move as their creator.
@Suite struct ThreadTests {
    final class Seen: Sendable {
        let cpu = Atomic<Int32>(-1)
        let avoided = Atomic<Int32>(-1)
        let allowed = Atomic<Int32>(0)
    }

    /// The helper records the CPU it first ran on, before it takes the whole mask back
    /// (`sockit_thread_start_cpu`), and the creator's CPU it was kept off
    /// (`sockit_thread_avoided_cpu`): they differ, every time.
    @Test func helperStartsOnAnotherCPUAndGetsTheWholeMaskBack() throws {
        let cpus = sockit_affinity_cpu_count()
        for _ in 0..<5 {
            let seen = Seen()
            let thread = try #require(
                startThread(onAnotherCPU: true) {
                    seen.allowed.store(sockit_affinity_cpu_count(), ordering: .relaxed)
                    seen.avoided.store(sockit_thread_avoided_cpu(), ordering: .relaxed)
                    seen.cpu.store(sockit_thread_start_cpu(), ordering: .releasing)
                })
            pthread_join(thread, nil)
            let (started, avoided) = (seen.cpu.load(ordering: .acquiring), seen.avoided.load(ordering: .relaxed))
            // Given back the creator's whole mask once started.
            #expect(seen.allowed.load(ordering: .relaxed) == cpus)
            guard cpus >= 2 else { continue }
            #expect(started >= 0 && avoided >= 0, "the helper was not started elsewhere")
            #expect(started != avoided, "started on its creator's CPU \(avoided)")
        }
    }

    @Test func plainThreadRunsItsBody() throws {
        let seen = Seen()
        let thread = try #require(startThread { seen.cpu.store(sockit_current_cpu(), ordering: .releasing) })
        pthread_join(thread, nil)
        let cpu = seen.cpu.load(ordering: .acquiring)
        #expect(cpu >= 0 && cpu < 1024, "the body did not run, or sched_getcpu failed: \(cpu)")
    }
}
