import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Runs `body` on a thread of its own and waits for it without holding a thread of the
/// cooperative pool: the hand-off steps block (with timeouts) on Unix-socket reads.
func offThePool<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
    let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, E>, Never>) in
        let thread = spawnThread {
            do throws(E) {
                continuation.resume(returning: .success(try body()))
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        Sys.detachThread(thread)
    }
    return try result.get()
}
