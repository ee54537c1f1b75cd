import Sockit
import Synchronization

/// A fixed set of event loops, one thread each.
public final class EventLoopGroup: Sendable {
    /// The loops, in index order; at least one.
    public let loops: [EventLoop]

    /// `count` loops (default: one per core) waiting with `backend`, started at once unless
    /// `start` is false (then register on them from this thread first, and call `start()`).
    ///
    /// With `backend: .ioUring` the loops fall back to epoll where the kernel refuses io_uring:
    /// `backend` says which they got, `fallbackReason` why.
    public init(
        count: Int = EventLoopGroup.coreCount, start: Bool = true, backend: EventLoopBackend = .epoll
    ) throws(SocketError) {
        var loops: [EventLoop] = []
        for index in 0..<max(1, count) { loops.append(try EventLoop(index: index, backend: backend)) }
        self.loops = loops
        if start { self.start() }
    }

    /// The backend the loops wait with (all the same: io_uring is refused for all or none).
    public var backend: EventLoopBackend { loops[0].backend }
    /// Why the loops run on epoll though io_uring was asked for (nil otherwise).
    public var fallbackReason: String? { loops[0].fallbackReason }

    /// Starts a thread per loop.
    public func start() {
        for loop in loops { loop.start() }
    }

    /// The number of cores this process may run on: its affinity mask, so `taskset -c 0 sockit
    /// echo` runs one loop, not one per core of the machine.
    public static var coreCount: Int { ServerSys.affinityCPUCount() }

    /// Stops every loop and suspends until their threads are done, without blocking a thread:
    /// the one to use from async code.
    public func shutdownGracefully() async {
        for loop in loops { await loop.stopGracefully() }
    }

    /// Stops every loop and waits for the threads (blocking: not from async code).
    public func shutdown() {
        for loop in loops { loop.stop() }
        for loop in loops where !loop.inLoop { loop.join() }
    }

    private let counter = Atomic<Int>(0)

    /// The next loop, round robin.
    public func next() -> EventLoop {
        let value = counter.add(1, ordering: .relaxed).oldValue
        return loops[value % loops.count]
    }
}
