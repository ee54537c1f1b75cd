#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockit
import Sockit
import Testing

/// sockit's own helper threads (`startThread`): the /proc scan's helpers start on a CPU other
/// than their creator's, and are then as free to move as their creator.
@Suite struct ThreadTests {
    final class Seen: @unchecked Sendable {  // written by the thread before it ends, read after the join
        var cpu: Int32 = -1
        var allowed: Int32 = 0
    }

    /// Where the thread started is not observable from here (it may move once its mask is
    /// back); Benchmarks/who-bench.py shows the effect.
    @Test func helperRunsWithItsCreatorsWholeAffinityMask() throws {
        let seen = Seen()
        let thread = try #require(
            startThread(onAnotherCPU: true) {
                seen.cpu = sockit_current_cpu()
                seen.allowed = sockit_affinity_cpu_count()
            })
        pthread_join(thread, nil)
        #expect(seen.cpu >= 0)
        // Placed on the other CPUs to start, then given back the whole mask.
        #expect(seen.allowed == sockit_affinity_cpu_count())
    }

    @Test func plainThreadRunsItsBody() throws {
        let seen = Seen()
        let thread = try #require(startThread { seen.cpu = sockit_current_cpu() })
        pthread_join(thread, nil)
        #expect(seen.cpu >= 0)
    }
}
