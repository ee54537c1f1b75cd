import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// Starts a thread running `body`; the caller joins it (`pthread_join`). For sockit's own
/// modules (event loops, the hand-off server), not public API. Traps when no thread can be made.
package func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    guard let thread = startThread(body) else { preconditionFailure("pthread_create failed: \(Errno.current)") }
    return thread
}

/// Starts a thread running `body`, or returns nil (and runs nothing) when the system will not
/// make one; the caller joins it (`pthread_join`). `onAnotherCPU`: start it on a CPU other than
/// the caller's when the affinity mask has one (`Sys.createThread`), for a helper
/// that must run alongside its creator at once rather than after a few milliseconds.
package func startThread(onAnotherCPU: Bool = false, _ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Box: @unchecked Sendable {  // handed over once, to the new thread
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? = { context in
        let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
        box.body()
        return nil
    }
    let result = Sys.createThread(&thread, onAnotherCPU: onAnotherCPU, start, box)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        Sys.setErrno(result)
        return nil
    }
    return thread
}

/// Waits for a thread started with `startThread` or `spawnThread` to end.
package func joinThread(_ thread: pthread_t) { Sys.joinThread(thread) }
