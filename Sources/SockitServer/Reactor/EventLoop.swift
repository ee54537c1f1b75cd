import Sockit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread running one selector (epoll, or polls on io_uring: `EventLoopBackend`):
/// non-blocking descriptors, no thread per connection, and nothing here ever runs on Swift's
/// cooperative pool.
///
/// Everything but `execute(_:)`, `stop()` and `join()` must be called on the loop's own thread
/// (from a handler, a timer, or a task given to `execute`). That confinement is why the class
/// can be `@unchecked Sendable`: loop state is only touched by the loop's thread.
public final class EventLoop: @unchecked Sendable {
    let selector: PlatformSelector
    /// Handlers indexed by descriptor (a descriptor is unique in the process while open), each
    /// retained once by the table.
    private var handlers: UnsafeMutablePointer<Unmanaged<EventHandler>?>
    private var handlerCapacity: Int
    /// Handlers deregistered during this iteration, released at its end: a handler may
    /// deregister itself (close) while it runs, and must stay alive until it returns.
    private var retired: [Unmanaged<EventHandler>] = []
    private let tasks = Locked<TaskQueue>(TaskQueue())
    /// The queue taken by the last `runTasks()`, kept empty with its storage: swapped with the
    /// queue's own each time, so that neither array is allocated again. Loop-confined.
    private var taking: [Work] = []
    private let stopping = Atomic<Bool>(false)
    private var timers: [Timer] = []
    private var nextTimerID: UInt64 = 1
    private var thread: pthread_t?
    /// The loop's thread (`Sys.currentThreadID()`), stored by it as `run()` begins; 0 before.
    /// Only the loop's own thread can find its number here, whatever it reads of another's
    /// store, so relaxed loads are enough.
    private let owner = Atomic<UInt>(0)
    /// Tasks were queued from the loop's own thread without a wake-up: the next wait must not
    /// block before they run. Loop-confined.
    private var queuedHere = false
    /// Whether `run()` has returned, and who waits for it (any thread).
    private let exit = Locked<(exited: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
    private var armedDeadline: ContinuousClock.Instant?

    /// The loop's number within its group (0 for a lone loop).
    public let index: Int
    /// One read buffer per loop, shared by every connection on it: read into it and write
    /// straight back from it; a connection allocates its own buffer only when a write is short.
    public let readBuffer: UnsafeMutableRawBufferPointer
    /// The time of the current iteration, read once per wait: cheap enough for idle timers.
    public private(set) var now: ContinuousClock.Instant = .now

    /// Tasks for the loop's thread; once the loop has stopped, tasks run on the caller's thread,
    /// one caller at a time (`draining`), so that loop-confined state is still touched by one
    /// thread only.
    struct TaskQueue {
        var tasks: [Work] = []
        /// The loop's thread has left `run()`.
        var stopped = false
        /// A thread is running the tasks of a stopped loop.
        var draining = false
    }

    /// A closure from `execute(_:)`, or a Swift job from `enqueue(_:)` (no closure to allocate
    /// around it).
    enum Work: Sendable {
        case closure(@Sendable () -> Void)
        case job(UnownedJob)
    }

    struct Timer {
        var id: UInt64
        var deadline: ContinuousClock.Instant
        var action: () -> Void
    }

    /// The size of `readBuffer` unless told otherwise.
    public static let defaultReadBufferSize = 64 * 1024

    /// The backend the loop waits with: the one asked for, or epoll where io_uring was refused.
    public var backend: EventLoopBackend { selector.backend }
    /// Why the loop runs on epoll though io_uring was asked for (nil otherwise): for a log line.
    public let fallbackReason: String?

    /// An event loop that is not running yet: call `start()`. With `backend: .ioUring` it waits
    /// on io_uring where the kernel allows it, else on epoll (`fallbackReason` says why).
    public init(
        index: Int = 0, readBufferSize: Int = EventLoop.defaultReadBufferSize, backend: EventLoopBackend = .epoll
    ) throws(SocketError) {
        (self.selector, self.fallbackReason) = try PlatformSelector.make(backend)
        self.index = index
        self.readBuffer = .allocate(byteCount: readBufferSize, alignment: 16)
        self.handlerCapacity = 1024
        self.handlers = .allocate(capacity: 1024)
        self.handlers.initialize(repeating: nil, count: 1024)
    }

    deinit {
        selector.close()
        readBuffer.deallocate()
        for slot in 0..<handlerCapacity { handlers[slot]?.release() }
        handlers.deallocate()
        releaseRetired()
    }

    private func releaseRetired() {
        for handler in retired { handler.release() }
        retired.removeAll(keepingCapacity: true)
    }

    // MARK: Registration (loop thread)

    /// Registers `handler` for `fd`.
    public func register(_ handler: EventHandler, fd: CInt, interest: Interest) throws(SocketError) {
        let slot = Int(fd)
        if slot >= handlerCapacity {
            let capacity = max(handlerCapacity * 2, slot + 1)
            let grown = UnsafeMutablePointer<Unmanaged<EventHandler>?>.allocate(capacity: capacity)
            grown.moveInitialize(from: handlers, count: handlerCapacity)
            (grown + handlerCapacity).initialize(repeating: nil, count: capacity - handlerCapacity)
            handlers.deallocate()
            handlers = grown
            handlerCapacity = capacity
        }
        try selector.register(fd: fd, interest: interest)
        if let previous = handlers[slot] { retired.append(previous) }
        handlers[slot] = .passRetained(handler)
    }

    /// Changes what `fd` waits for.
    @inline(__always)
    public func reregister(fd: CInt, interest: Interest) throws(SocketError) {
        try selector.reregister(fd: fd, interest: interest)
    }

    /// Takes `fd` off the selector while its handler stays installed: nothing reports it until
    /// `watch(fd:interest:)` puts it back. A socket that is on no wait list costs whoever wakes
    /// it nothing (each datagram a UDP socket sends would otherwise wake its waiters as the reply
    /// is freed).
    func unwatch(fd: CInt) {
        selector.deregister(fd: fd)
    }

    /// Puts `fd`, taken off with `unwatch(fd:)`, back on the selector for `interest`; its handler
    /// is the one installed.
    func watch(fd: CInt, interest: Interest) throws(SocketError) {
        try selector.register(fd: fd, interest: interest)
    }

    /// Stops watching `fd`; call before closing it.
    public func deregister(fd: CInt) {
        selector.deregister(fd: fd)
        let slot = Int(fd)
        if slot >= 0, slot < handlerCapacity, let handler = handlers[slot] {
            retired.append(handler)
            handlers[slot] = nil
        }
    }

    // MARK: Timers (loop thread)

    /// Runs `action` on this loop after `delay`. Returns an id for `cancelTimer`.
    @discardableResult
    public func schedule(after delay: Duration, _ action: @escaping () -> Void) -> UInt64 {
        let id = nextTimerID
        nextTimerID += 1
        timers.append(Timer(id: id, deadline: ContinuousClock.now + delay, action: action))
        armNearestTimer()
        return id
    }

    /// Cancels a timer that has not fired yet.
    public func cancelTimer(_ id: UInt64) {
        timers.removeAll { $0.id == id }
    }

    private func armNearestTimer() {
        guard let nearest = timers.min(by: { $0.deadline < $1.deadline })?.deadline else {
            if armedDeadline != nil { selector.armTimer(after: nil) }
            armedDeadline = nil
            return
        }
        if let armedDeadline, armedDeadline <= nearest { return }
        armedDeadline = nearest
        selector.armTimer(after: ContinuousClock.now.duration(to: nearest))
    }

    private func runDueTimers() {
        armedDeadline = nil
        let clock = ContinuousClock.now
        var due: [Timer] = []
        timers.removeAll { timer in
            if timer.deadline <= clock {
                due.append(timer)
                return true
            }
            return false
        }
        for timer in due.sorted(by: { $0.deadline < $1.deadline }) { timer.action() }
        armNearestTimer()
    }

    // MARK: Cross-thread

    /// Runs `task` on the loop's thread soon. Safe from any thread.
    ///
    /// Once the loop has stopped, `task` runs before this returns, on the calling thread (or
    /// soon on another caller's, if one is running such tasks already; never two at once). That
    /// is what lets a socket be closed after its loop has shut down: a task queued for a loop
    /// that never runs again would keep the socket, and its descriptor, open for good.
    ///
    /// Only a task queued behind none wakes the loop: the loop takes the whole queue at once
    /// after a wake-up, so the tasks queued meanwhile ride on the wake-up already sent. A task
    /// queued on the loop's own thread wakes nothing: the loop runs it before it waits again.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        queue(.closure(task))
    }

    /// Queues `work` for the loop's thread, as `execute(_:)` says.
    func queue(_ work: Work) {
        let here = inLoop
        let runHere = tasks.withLock { queue -> Bool? in
            let first = queue.tasks.isEmpty
            queue.tasks.append(work)
            guard queue.stopped else { return first ? nil : false }
            guard !queue.draining else { return false }
            queue.draining = true
            return true
        }
        switch runHere {
        case nil where here: queuedHere = true
        case nil: selector.wakeup()
        case true?: drainStopped()
        case false?: break
        }
    }

    /// Whether the loop has stopped: its thread left `run()`, and no event is reported any more.
    public var hasStopped: Bool { tasks.withLock { $0.stopped } }

    /// Runs the tasks of a stopped loop until none is left; the caller set `draining`.
    private func drainStopped() {
        while true {
            let pending = tasks.withLock { queue -> [Work] in
                let pending = queue.tasks
                queue.tasks.removeAll()
                if pending.isEmpty { queue.draining = false }
                return pending
            }
            if pending.isEmpty { return }
            for work in pending { run(work) }
            releaseRetired()
        }
    }

    /// Asks the loop to return from `run()` after the current iteration. Safe from any thread.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        selector.wakeup()
    }

    /// Whether the calling thread is this loop's thread.
    public var inLoop: Bool {
        owner.load(ordering: .relaxed) == Sys.currentThreadID()
    }

    // MARK: Running

    /// Runs the loop on the calling thread until `stop()`.
    public func run() {
        owner.store(Sys.currentThreadID(), ordering: .relaxed)
        while !stopping.load(ordering: .acquiring) {
            let result: (timer: Bool, wakeup: Bool)
            do {
                result = try selector.wait(timeout: queuedHere ? .zero : nil) { event in
                    let slot = Int(event.fd)
                    guard slot < handlerCapacity, let handler = handlers[slot] else { return }
                    // The table holds a reference, and a deregistered handler is only released
                    // at the end of the iteration: no retain/release needed around the call.
                    handler._withUnsafeGuaranteedRef { $0.handle(event, on: self) }
                }
            } catch {
                // The wait fails only on a programming error (EBADF, EFAULT, EINVAL).
                fatalError("\(error)")
            }
            now = .now
            if result.wakeup || queuedHere {
                queuedHere = false
                runTasks()
            }
            if result.timer { runDueTimers() }
            if !retired.isEmpty { releaseRetired() }
        }
        runTasks()
        // From here on `execute` runs tasks on its caller's thread; this thread runs what is
        // queued meanwhile, once the handlers still registered know that nothing will come.
        tasks.withLock { queue in
            queue.stopped = true
            queue.draining = true
        }
        for slot in 0..<handlerCapacity {
            handlers[slot]?._withUnsafeGuaranteedRef { $0.loopDidStop(self) }
        }
        releaseRetired()
        drainStopped()
        let waiters = exit.withLock { state in
            state.exited = true
            let waiters = state.waiters
            state.waiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Stops the loop and suspends (without blocking a thread) until its thread has left `run()`.
    /// The thread is detached: do not `join()` afterwards.
    public func stopGracefully() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = exit.withLock { state in
                if state.exited { return true }
                state.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
            stop()
        }
        if let thread {
            Sys.detachThread(thread)
            self.thread = nil
        }
    }

    private func runTasks() {
        tasks.withLock { queue in swap(&queue.tasks, &taking) }
        for work in taking { run(work) }
        taking.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private func run(_ work: Work) {
        switch work {
        case .closure(let task): task()
        case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Starts a thread that runs the loop.
    public func start() {
        self.thread = spawnThread { [self] in self.run() }
    }

    /// Waits for the loop's thread to end (after `stop()`).
    public func join() {
        guard let thread else { return }
        Sys.joinThread(thread)
        self.thread = nil
    }
}
