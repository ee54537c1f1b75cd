#if canImport(Glibc)
import Glibc
#endif

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
        Sys.initializeMutex(mutex)
        changed = .allocate(capacity: 1)
        changed.initialize(to: pthread_cond_t())
        Sys.initializeCondition(changed)
        self.value = value
    }

    deinit {
        Sys.destroyCondition(changed)
        changed.deinitialize(count: 1)
        changed.deallocate()
        Sys.destroyMutex(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the lock held, then wakes the threads waiting in `withLock(when:_:)`.
    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        Sys.lock(mutex)
        defer {
            Sys.unlock(mutex)
            Sys.broadcast(changed)
        }
        return try body(&value)
    }

    /// Waits until `ready` holds (checked with the lock held, and again after each change made
    /// through `withLock`), then runs `body` as `withLock` does.
    package func withLock<Result>(
        when ready: (Value) -> Bool, _ body: (inout Value) throws -> Result
    ) rethrows
        -> Result
    {
        Sys.lock(mutex)
        while !ready(value) { Sys.wait(changed, mutex) }
        defer {
            Sys.unlock(mutex)
            Sys.broadcast(changed)
        }
        return try body(&value)
    }
}
