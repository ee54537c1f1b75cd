import Foundation

/// A task executor with a thread of its own. Tasks that prefer it (`withTaskExecutorPreference`,
/// `Task(executorPreference:)`), and the default actors they call, run there instead of on the
/// global cooperative pool: the suite's synchronous tests hold pool threads while they wait on
/// subprocesses, and on 2 cores under ThreadSanitizer they held both for more than 180 s, so a
/// test that waits for a task to suspend timed out without a fault of the code under test.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {  // `jobs` and `stopped` under `condition`
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopped = false

    public init() {
        let thread = Thread { [self] in run() }
        thread.name = "test-executor"
        thread.start()
    }

    public func enqueue(_ job: UnownedJob) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Lets the thread end once the jobs queued so far have run.
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopped { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
