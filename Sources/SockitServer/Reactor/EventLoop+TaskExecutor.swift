/// An event loop runs Swift tasks too: `Task(executorPreference: loop) { … }` runs the task's
/// jobs on the loop's thread, between its events. A task that reads and writes the sockets of
/// that loop (`AsyncTCPConnection.eventLoop`) then waits for them without changing threads: its
/// wait is registered in place, and it resumes in the iteration that found its socket ready,
/// with no wake-up of another thread in between.
///
/// Such a task must not block: while it runs, every other socket of the loop waits.
extension EventLoop: TaskExecutor {
    /// Runs `job` on the loop's thread, as `execute(_:)` runs a closure: queued from the loop's
    /// own thread, before the loop waits again; from another, after a wake-up.
    public func enqueue(_ job: consuming ExecutorJob) {
        queue(.job(UnownedJob(job)))
    }
}
