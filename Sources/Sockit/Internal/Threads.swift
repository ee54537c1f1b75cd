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
/// make one; the caller joins it (`pthread_join`). `onAnotherCPU`: start it on a CPU other than
/// the caller's when the affinity mask has one (`createThread`, per platform), for a helper
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
    let result = createThread(&thread, onAnotherCPU: onAnotherCPU, start, box)
    guard result == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        errno = result
        return nil
    }
    return thread
}

/// A value behind a pthread mutex, for state a few of sockit's own threads share. Not
/// Synchronization's `Mutex`: on Linux that locks with futexes directly, which ThreadSanitizer
/// cannot see, so it reports every guarded access from two threads as a race; it does see
/// `pthread_mutex_lock`. A thread may also wait, lock released, until the value is ready.
package final class Locked<Value>: @unchecked Sendable {  // every access to `value` holds `mutex`
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let changed: UnsafeMutablePointer<pthread_cond_t>
    private var value: Value

    package init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        changed = .allocate(capacity: 1)
        changed.initialize(to: pthread_cond_t())
        pthread_cond_init(changed, nil)
        self.value = value
    }

    deinit {
        pthread_cond_destroy(changed)
        changed.deinitialize(count: 1)
        changed.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the lock held, then wakes the threads waiting in `withLock(when:_:)`.
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_mutex_unlock(mutex)
            pthread_cond_broadcast(changed)
        }
        return try body(&value)
    }

    /// Waits until `ready` holds (checked with the lock held, and again after each change made
    /// through `withLock`), then runs `body` as `withLock` does.
    package func withLock<Result>(when ready: (Value) -> Bool, _ body: (inout Value) throws -> Result) rethrows
        -> Result
    {
        pthread_mutex_lock(mutex)
        while !ready(value) { pthread_cond_wait(changed, mutex) }
        defer {
            pthread_mutex_unlock(mutex)
            pthread_cond_broadcast(changed)
        }
        return try body(&value)
    }
}
