import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Suspends tasks until a descriptor is ready, using an event loop: the bridge between the
/// loops and async/await. The syscalls themselves are non-blocking and made by the awaiting
/// task; only "wait until ready" goes through the loop, so nothing ever blocks a thread of
/// Swift's cooperative pool.
///
/// Loop-confined state (`readers`, `writers`, `interest`, each `Waiter`) is only touched on
/// `loop`'s thread, inside `execute` tasks and `handle`: that is what makes `@unchecked Sendable`
/// sound. A cancelled task stops waiting with `CancellationError`.
final class Readiness: EventHandler, @unchecked Sendable {
    let socket: Socket
    let fd: CInt
    let loop: EventLoop
    private var readers: [Waiter] = []
    private var writers: [Waiter] = []
    /// The handler is installed on the loop (from the first wait until `close`).
    private var registered = false
    /// What the descriptor is on the loop's selector for; nil: off it (nobody waits).
    private var watching: Interest?
    /// The readers just resumed run on the loop's thread: they read before the loop waits again,
    /// and most wait again at once, so the read interest stays meanwhile (no selector call for
    /// it either way). A report that no reader waited for clears it. Never for a datagram
    /// socket: one that is watched is woken by every datagram it sends as the kernel frees it,
    /// which costs more than the two selector calls (measured: README, the async API).
    private var keepReading = false
    private let mayKeepReading: Bool
    private var closed = false

    /// One suspended task; confined to the loop like the rest (it crosses to the loop in an
    /// `UnsafeTransfer`). Its continuation is resumed exactly once: by whoever finds it still
    /// set, and takes it (on the loop's thread, so never two at once). A checked one, though it
    /// allocates a canary per wait: ThreadSanitizer reports an unchecked one's resume on the loop
    /// and the task's next write to its frame as a data race (the runtime's ordering between
    /// them is out of its sight).
    private final class Waiter {
        var continuation: CheckedContinuation<Void, any Error>?
        var cancelled = false
        /// The waiting task runs on the loop's thread (it began its wait there).
        var onLoop = false

        func resume(throwing error: (any Error)? = nil) {
            guard let continuation else { return }
            self.continuation = nil
            if let error { continuation.resume(throwing: error) } else { continuation.resume() }
        }
    }

    init(socket: Socket, loop: EventLoop) {
        self.socket = socket
        self.fd = socket.fileDescriptor
        self.loop = loop
        self.mayKeepReading = socket.type != .datagram
    }

    /// Waits until the descriptor is readable (or writable), or has an error to report.
    ///
    /// - Throws: `CancellationError` when the task is cancelled; `SocketError` (`EBADF`) when
    ///   the socket is closed meanwhile; `SocketError` (`ECANCELED`) when the loop has stopped
    ///   (its group shut down), or stops meanwhile: nothing would ever report readiness.
    func wait(for wanted: Interest) async throws {
        let transfer = UnsafeTransfer(Waiter())
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // A task on the loop's own thread (it prefers the loop as its executor) waits
                // in place; any other hands its wait to the loop.
                if loop.inLoop {
                    transfer.value.onLoop = true
                    begin(transfer.value, for: wanted, continuation)
                } else {
                    loop.execute { [self] in begin(transfer.value, for: wanted, continuation) }
                }
            }
        } onCancel: {
            loop.execute { [self] in
                let waiter = transfer.value
                waiter.cancelled = true
                guard waiter.continuation != nil else { return }
                readers.removeAll { $0 === waiter }
                writers.removeAll { $0 === waiter }
                waiter.resume(throwing: CancellationError())
                update()
            }
        }
    }

    /// Starts `waiter`'s wait, on the loop's thread.
    private func begin(
        _ waiter: Waiter, for wanted: Interest, _ continuation: CheckedContinuation<Void, any Error>
    ) {
        if waiter.cancelled {
            continuation.resume(throwing: CancellationError())
            return
        }
        if closed {
            continuation.resume(
                throwing: SocketError(syscall: "poll", errno: .badFileDescriptor, explanation: ["the socket is closed"])
            )
            return
        }
        if loop.hasStopped {
            continuation.resume(throwing: Self.loopStopped)
            return
        }
        waiter.continuation = continuation
        if wanted.contains(.read) { readers.append(waiter) } else { writers.append(waiter) }
        update()
    }

    /// How many tasks wait to read and to write now, as the loop sees it. For tests that must
    /// act while a task is suspended here (cancel a read that really waits).
    func waiting() async -> (readers: Int, writers: Int) {
        await withCheckedContinuation { (continuation: CheckedContinuation<(readers: Int, writers: Int), Never>) in
            loop.execute { [self] in continuation.resume(returning: (readers.count, writers.count)) }
        }
    }

    /// Puts the descriptor on the selector for what the waiters want, or takes it off when
    /// nobody waits: with nothing asked it would still be reported for an error or a hang-up
    /// (epoll always reports those, and an io_uring poll too), at every wait of the loop, until
    /// a task reads it; a connection reset while its task is busy elsewhere would spin the loop.
    private func update() {
        guard !closed else { return }
        var wanted: Interest = .none
        if !readers.isEmpty || keepReading { wanted.insert(.read) }
        if !writers.isEmpty { wanted.insert(.write) }
        guard wanted != (watching ?? .none) else { return }
        do {
            if wanted.isEmpty {
                loop.unwatch(fd: fd)
                watching = nil
            } else if !registered {
                try loop.register(self, fd: fd, interest: wanted)
                registered = true
                watching = wanted
            } else if watching == nil {
                try loop.watch(fd: fd, interest: wanted)
                watching = wanted
            } else {
                try loop.reregister(fd: fd, interest: wanted)
                watching = wanted
            }
        } catch {
            for waiter in readers + writers { waiter.resume(throwing: error) }
            readers.removeAll()
            writers.removeAll()
        }
    }

    override func handle(_ event: ReadyEvent, on loop: EventLoop) {
        if event.readable || event.failed {
            let waiting = readers
            readers.removeAll()
            keepReading = mayKeepReading && !waiting.isEmpty && waiting.allSatisfy { $0.onLoop }
            for waiter in waiting { waiter.resume() }
        }
        if event.writable || event.failed {
            let waiting = writers
            writers.removeAll()
            for waiter in waiting { waiter.resume() }
        }
        update()
    }

    static var loopStopped: SocketError {
        SocketError(
            syscall: "poll", errno: Errno(rawValue: ECANCELED),
            explanation: ["its event loop has stopped (the EventLoopGroup shut down): close the socket"])
    }

    /// The loop stopped while tasks wait here: they would wait for ever, holding the socket.
    override func loopDidStop(_ loop: EventLoop) {
        let waiting = readers + writers
        readers.removeAll()
        writers.removeAll()
        for waiter in waiting { waiter.resume(throwing: Self.loopStopped) }
    }

    /// Deregisters, fails every waiter, closes the socket. Safe from any thread, also after
    /// the loop stopped (`execute` then runs the task on the calling thread).
    func close() {
        loop.execute { [self] in
            guard !closed else { return }
            closed = true
            if registered { loop.deregister(fd: fd) }
            let error = SocketError(
                syscall: "close", errno: .badFileDescriptor, explanation: ["the socket was closed while waiting"])
            for waiter in readers + writers { waiter.resume(throwing: error) }
            readers.removeAll()
            writers.removeAll()
            try? socket.close()
        }
    }
}
