#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Starts a thread running `body`; the caller joins it (`pthread_join`). For sockit's own
/// modules (event loops, the hand-off server), not public API. Traps when no thread can be made.
package func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    guard let thread = startThread(body) else { preconditionFailure("pthread_create failed: \(errno)") }
    return thread
}

/// Starts a thread running `body`, or returns nil (and runs nothing) when the system will not
/// make one; the caller joins it (`pthread_join`).
package func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Box: @unchecked Sendable {  // handed over once, to the new thread
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var thread = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let result = pthread_create(
        &thread, nil,
        { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.body()
            return nil
        }, box)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        errno = result
        return nil
    }
    return thread
}
