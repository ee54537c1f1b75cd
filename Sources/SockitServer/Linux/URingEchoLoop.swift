#if os(Linux)
import CSockit
import Sockit
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread and one io_uring serving TCP echo connections by completions (the `.ioUring`
/// backend of `TCPEchoServer`): a multishot accept on the shared listener, a multishot receive
/// per connection into a ring of provided buffers, one send in flight per connection (which
/// keeps the byte order), and all that a batch of completions asks for submitted by the one
/// `io_uring_enter` that also waits for the next batch.
///
/// A received buffer is queued on its connection and goes back to the buffer ring once its
/// bytes are all sent. Back-pressure: a connection whose queued bytes reach `pendingWriteLimit`,
/// or that has output queued while the server's `EchoOutputBudget` is over or while three
/// quarters of the loop's buffers are held, has its receive cancelled, and armed again once all it queued is
/// sent. Every buffer held is counted in the budget and against the cap as `bufferSize` bytes,
/// whatever it holds (memory, as the epoll path counts its buffers). What the receive delivered
/// before its cancel took effect is kept too (the completions already queued), so the cap is not
/// exact: a connection holds the cap plus what its peer managed to send meanwhile.
///
/// Peers that stop reading must not starve the others of buffers: while three quarters of the
/// ring is held or a connection waits for a buffer, a connection whose send has been in flight
/// since an earlier batch has that send cancelled and its output copied to the heap (a
/// `URingSpillQueue`, counted in the budget by its exact bytes), its buffers given back to the
/// ring. It is served from the heap, its new input copied there too, until all of it is sent.
///
/// A connection's descriptor is closed only after its last request completed, so a descriptor
/// number is never reused under a pending completion. Everything but `execute`, `stop` and
/// `join` runs on the loop's thread.
final class URingEchoLoop: @unchecked Sendable {
    /// What a request's user data says: the operation in the high 32 bits, the descriptor (or
    /// the timer) in the low ones.
    enum Operation: UInt64 {
        case accept = 1
        case receive, send, cancel, wakeup, timer
    }

    struct Connection {
        var live = false
        var receiving = false
        var cancelSent = false
        var sending = false
        var sendCancelSent = false
        var peerClosed = false
        var closing = false
        var waitingForBuffer = false
        /// The output is on the heap (`spills`), not in ring buffers.
        var spilled = false
        /// The send in flight is being cancelled to move the output to the heap.
        var spillWanted = false
        /// The batch in which the send in flight was submitted.
        var sendBatch: UInt32 = 0
        /// The queue of received buffers (linked through `next`), -1 when empty.
        var head: Int32 = -1
        var tail: Int32 = -1
        /// Bytes of the head buffer sent already.
        var offset = 0
        /// Bytes received and not yet sent.
        var queued = 0
        /// Buffers queued (each `bufferSize` bytes of memory, whatever it holds).
        var buffers = 0
        /// The place in `open`, -1 when not open.
        var slot = -1
        var lastActivity: ContinuousClock.Instant
    }

    static let bufferGroup: UInt16 = 1
    /// The size of one provided buffer.
    static let bufferSize = 16 * 1024

    let index: Int
    let core: TCPEchoServer.Core
    private let ring: UnsafeMutablePointer<sockit_uring>
    private let eventFD: CInt
    private let bufferCount: Int
    private let buffers: UnsafeMutableRawPointer
    private let next: UnsafeMutablePointer<Int32>
    private let length: UnsafeMutablePointer<Int32>
    /// Buffers taken by receives and not yet given back.
    private var held = 0
    private var connections: UnsafeMutablePointer<Connection>
    private var capacity: Int
    /// Open connections, for the idle sweep and `closeAll`.
    private var open: [CInt] = []
    /// Connections whose receive ended with `ENOBUFS`, armed again once buffers are back.
    private var waiting: [CInt] = []
    /// The output of connections moved off the ring (`Connection.spilled`).
    private var spills: [CInt: URingSpillQueue] = [:]
    /// Counts the batches of completions.
    private var batch: UInt32 = 0
    private var listenerFD: CInt = -1
    private var accepting = false
    /// Called once the multishot accept has ended (after `stopAccepting`).
    private var acceptEnded: [() -> Void] = []
    private var timers: [UInt64: (spec: UnsafeMutablePointer<__kernel_timespec>, action: () -> Void)] = [:]
    private var nextTimer: UInt64 = 1
    private var idleTimer = false
    private let tasks = Locked<[@Sendable () -> Void]>([])
    private let stopping = Atomic<Bool>(false)
    private let stopped = Atomic<Bool>(false)
    private var thread: pthread_t?
    private var counter: UInt64 = 0
    private(set) var now: ContinuousClock.Instant = .now

    /// Sets the ring up (not yet enabled for a thread: `start()` runs it on its own).
    init(index: Int, core: TCPEchoServer.Core, bufferCount: Int) throws(SocketError) {
        self.index = index
        self.core = core
        self.bufferCount = bufferCount
        ring = .allocate(capacity: 1)
        let sizes = core.configuration.uringQueueSizes
        let setup = ServerSys.uringInit(
            ring, entries: sizes.submissions, completions: sizes.completions,
            flags: URingSupport.setupFlags | UInt32(IORING_SETUP_R_DISABLED))
        if setup != 0 {
            ring.deallocate()
            throw SocketError(syscall: "io_uring_setup", errno: Errno(rawValue: setup))
        }
        let buffersSet = ServerSys.uringSetupBuffers(ring, entries: UInt32(bufferCount), group: Self.bufferGroup)
        if buffersSet != 0 {
            ServerSys.uringExit(ring)
            ring.deallocate()
            throw SocketError(syscall: "io_uring_register", errno: Errno(rawValue: buffersSet))
        }
        switch ServerSys.eventCounter() {
        case .success(let fd): eventFD = fd
        case .failure(let errno):
            ServerSys.uringExit(ring)
            ring.deallocate()
            throw SocketError(syscall: "eventfd", errno: errno)
        }
        buffers = .allocate(byteCount: bufferCount * Self.bufferSize, alignment: 4096)
        next = .allocate(capacity: bufferCount)
        next.initialize(repeating: -1, count: bufferCount)
        length = .allocate(capacity: bufferCount)
        length.initialize(repeating: 0, count: bufferCount)
        capacity = 1024
        connections = .allocate(capacity: capacity)
        connections.initialize(repeating: Connection(lastActivity: .now), count: capacity)
        for id in 0..<bufferCount { giveBack(Int32(id), counted: false) }
        ServerSys.uringPublishBuffers(ring)
    }

    deinit {
        ServerSys.uringExit(ring)
        ring.deallocate()
        Sys.close(eventFD)
        buffers.deallocate()
        next.deallocate()
        length.deallocate()
        connections.deinitialize(count: capacity)
        connections.deallocate()
        for timer in timers.values { timer.spec.deallocate() }
    }

    // MARK: Cross-thread

    /// Runs `task` on the loop's thread soon; once the loop has stopped, on the caller's.
    func execute(_ task: @escaping @Sendable () -> Void) {
        let runHere = tasks.withLock { queue -> Bool in
            if stopped.load(ordering: .acquiring) { return true }
            queue.append(task)
            return false
        }
        if runHere {
            task()
        } else {
            ServerSys.incrementCounter(eventFD)
        }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        ServerSys.incrementCounter(eventFD)
    }

    func start() {
        thread = spawnThread { [self] in run() }
    }

    func join() {
        guard let thread else { return }
        Sys.joinThread(thread)
        self.thread = nil
    }

    // MARK: Accepting (loop thread)

    /// Accepts on `fd` (shared by the loops: the kernel hands each connection to one of them).
    func startAccepting(_ fd: CInt) {
        listenerFD = fd
        guard !accepting else { return }
        accepting = true
        ServerSys.uringPrepareAccept(sqe(), fd, Self.data(.accept, fd))
    }

    /// Ends the multishot accept; `done` runs once it has ended (no connection is accepted here
    /// after that).
    func stopAccepting(_ done: @escaping () -> Void) {
        guard accepting else {
            done()
            return
        }
        accepting = false
        acceptEnded.append(done)
        ServerSys.uringPrepareCancel(sqe(), target: Self.data(.accept, listenerFD), Self.data(.cancel, 0))
    }

    // MARK: The loop

    private func run() {
        let enabled = ServerSys.uringEnable(ring)
        if enabled != 0 { fatalError("io_uring_register(ENABLE_RINGS): \(Errno(rawValue: enabled))") }
        ServerSys.uringPreparePoll(sqe(), eventFD, Self.data(.wakeup, 0))
        runTasks()
        while !stopping.load(ordering: .acquiring) {
            switch ServerSys.uringSubmitAndWait(ring, 1) {
            case .success: break
            case .failure(let errno)
            where errno.rawValue == EINTR || errno.rawValue == EAGAIN
                || errno.rawValue == EBUSY:
                break
            case .failure(let errno):
                fatalError("io_uring_enter: \(errno)")
            }
            now = .now
            let (first, count) = ServerSys.uringReady(ring)
            var index: UInt32 = 0
            while index < count {
                let cqe = ServerSys.uringCompletion(ring, first &+ index)
                complete(cqe)
                index += 1
            }
            ServerSys.uringAdvance(ring, count)
            ServerSys.uringPublishBuffers(ring)
            if ringIsShort || !waiting.isEmpty { relievePressure() }
            if !waiting.isEmpty && held < bufferCount { rearmWaiting() }
            batch &+= 1
        }
        runTasks()
        tasks.withLock { _ in stopped.store(true, ordering: .releasing) }
        // Whatever is still open is closed with the ring.
        for fd in open {
            Sys.close(fd)
            core.connectionClosed()
        }
        open.removeAll()
        for (_, spill) in spills { core.budget.give(spill.count) }
        spills.removeAll()
        // The timers' actions hold the loop (the idle sweep's does): dropped here, or the loop
        // and its buffer ring would outlive the server. The kernel copied each timespec when
        // the request was prepared.
        for timer in timers.values { timer.spec.deallocate() }
        timers.removeAll()
        let queued = tasks.withLock { queue in
            let queued = queue
            queue.removeAll()
            return queued
        }
        for task in queued { task() }
    }

    @inline(__always)
    private func sqe() -> UnsafeMutablePointer<io_uring_sqe> { ServerSys.uringSQE(ring) }

    @inline(__always)
    static func data(_ operation: Operation, _ fd: CInt) -> UInt64 {
        operation.rawValue << 32 | UInt64(UInt32(bitPattern: fd))
    }

    @inline(__always)
    private func complete(_ cqe: io_uring_cqe) {
        let fd = CInt(bitPattern: UInt32(truncatingIfNeeded: cqe.user_data))
        switch Operation(rawValue: cqe.user_data >> 32) {
        case .receive?: received(fd, cqe.res, cqe.flags)
        case .send?: sent(fd, cqe.res)
        case .accept?: accepted(cqe.res, cqe.flags)
        case .wakeup?:
            ServerSys.readCounter(eventFD)
            if cqe.flags & UInt32(IORING_CQE_F_MORE) == 0 {
                ServerSys.uringPreparePoll(sqe(), eventFD, Self.data(.wakeup, 0))
            }
            runTasks()
        case .timer?:
            let id = cqe.user_data & 0xFFFF_FFFF
            if let timer = timers.removeValue(forKey: id) {
                timer.spec.deallocate()
                timer.action()
            }
        case .cancel?, nil: break
        }
    }

    private func runTasks() {
        let pending = tasks.withLock { queue in
            let pending = queue
            queue.removeAll()
            return pending
        }
        for task in pending { task() }
    }

    // MARK: Timers

    /// Runs `action` on the loop after `delay` (a timeout request).
    func schedule(after delay: Duration, _ action: @escaping () -> Void) {
        let id = nextTimer
        nextTimer = nextTimer == 0xFFFF_FFFF ? 1 : nextTimer + 1
        let spec = UnsafeMutablePointer<__kernel_timespec>.allocate(capacity: 1)
        let (seconds, attoseconds) = max(delay, .nanoseconds(1)).components
        spec.pointee = __kernel_timespec(tv_sec: seconds, tv_nsec: attoseconds / 1_000_000_000)
        timers[id] = (spec, action)
        ServerSys.uringPrepareTimeout(sqe(), spec, Operation.timer.rawValue << 32 | id)
    }

    private func scheduleIdleSweep() {
        guard let timeout = core.configuration.idleTimeout, !idleTimer else { return }
        idleTimer = true
        schedule(after: max(timeout / 4, .milliseconds(10))) { [self] in
            idleTimer = false
            let clock = ContinuousClock.now
            for fd in open where connections[Int(fd)].lastActivity.duration(to: clock) >= timeout {
                core.logger.debug("closing an idle connection")
                close(fd)
            }
            if !open.isEmpty { scheduleIdleSweep() }
        }
    }

    // MARK: Connections

    private func accepted(_ result: Int32, _ flags: UInt32) {
        let more = flags & UInt32(IORING_CQE_F_MORE) != 0
        if result < 0 {
            switch result {
            case -ECANCELED:
                break
            case -EMFILE, -ENFILE, -ENOBUFS, -ENOMEM:
                core.logger.warning(
                    "cannot accept: \(Errno(rawValue: -result)); pausing accept",
                    metadata: ["for": "\(core.configuration.acceptBackoff)"])
                if !more && accepting {
                    accepting = false
                    schedule(after: core.configuration.acceptBackoff) { [self] in
                        if !accepting && acceptEnded.isEmpty && listenerFD >= 0
                            && !core.draining.load(ordering: .relaxed)
                        {
                            startAccepting(listenerFD)
                        }
                    }
                    return
                }
            default:
                core.logger.debug("accept failed: \(Errno(rawValue: -result))")
            }
            if !more { acceptStopped() }
            return
        }
        if !more { acceptStopped() }
        let fd = result
        guard core.admit() else {
            core.logger.debug("over the connection limit (maxConnections): closing a new connection")
            Sys.close(fd)
            return
        }
        adopt(fd)
    }

    /// The multishot accept ended: arm it again if it should still run.
    private func acceptStopped() {
        if accepting {
            ServerSys.uringPrepareAccept(sqe(), listenerFD, Self.data(.accept, listenerFD))
            return
        }
        let waiters = acceptEnded
        acceptEnded.removeAll()
        for done in waiters { done() }
    }

    private func adopt(_ fd: CInt) {
        let slot = Int(fd)
        if slot >= capacity {
            let grown = max(capacity * 2, slot + 1)
            let table = UnsafeMutablePointer<Connection>.allocate(capacity: grown)
            table.moveInitialize(from: connections, count: capacity)
            (table + capacity).initialize(repeating: Connection(lastActivity: now), count: grown - capacity)
            connections.deallocate()
            connections = table
            capacity = grown
        }
        connections[slot] = Connection(live: true, slot: open.count, lastActivity: now)
        open.append(fd)
        armReceive(fd)
        if core.configuration.idleTimeout != nil { scheduleIdleSweep() }
    }

    @inline(__always)
    private func armReceive(_ fd: CInt) {
        ServerSys.uringPrepareReceive(sqe(), fd, group: Self.bufferGroup, Self.data(.receive, fd))
        connections[Int(fd)].receiving = true
        connections[Int(fd)].cancelSent = false
    }

    private func cancelReceive(_ fd: CInt) {
        ServerSys.uringPrepareCancel(sqe(), target: Self.data(.receive, fd), Self.data(.cancel, fd))
        connections[Int(fd)].cancelSent = true
    }

    @inline(__always)
    private func received(_ fd: CInt, _ result: Int32, _ flags: UInt32) {
        let connection = connections + Int(fd)
        // A multishot receive that delivers data and ends though nothing cancelled it (the
        // kernel may end one at any time, e.g. when the completion queue overflowed) is armed
        // again at once while the connection may still read, not only once its queue is sent.
        let endedUnasked = flags & UInt32(IORING_CQE_F_MORE) == 0 && !connection.pointee.cancelSent
        if flags & UInt32(IORING_CQE_F_MORE) == 0 {
            connection.pointee.receiving = false
            connection.pointee.cancelSent = false
        }
        if result > 0 {
            let id = Int32(flags >> UInt32(IORING_CQE_BUFFER_SHIFT))
            held += 1
            core.budget.take(Self.bufferSize)
            if connection.pointee.closing {
                giveBack(id)
            } else if connection.pointee.spilled {
                receivedSpilled(fd, id, Int(result))
            } else {
                connection.pointee.lastActivity = now
                length[Int(id)] = result
                next[Int(id)] = -1
                if connection.pointee.tail >= 0 {
                    next[Int(connection.pointee.tail)] = id
                } else {
                    connection.pointee.head = id
                }
                connection.pointee.tail = id
                connection.pointee.queued += Int(result)
                connection.pointee.buffers += 1
                if !connection.pointee.sending { send(fd) }
                // Back-pressure: no more reading until what is queued is sent, once the buffers
                // it holds reach the cap (memory, as the epoll path counts it).
                if connection.pointee.receiving && !connection.pointee.cancelSent && mustStopReading(fd) {
                    cancelReceive(fd)
                } else if endedUnasked && !mustStopReading(fd) {
                    armReceive(fd)
                    core.receivesArmedAgain.add(1, ordering: .relaxed)
                }
            }
        } else if result == 0 {
            connection.pointee.peerClosed = true
        } else if result == -ENOBUFS {
            if !connection.pointee.waitingForBuffer && !connection.pointee.closing {
                connection.pointee.waitingForBuffer = true
                waiting.append(fd)
            }
        } else if result != -ECANCELED {
            if result != -ECONNRESET {
                core.logger.info("closing a connection: recv failed: \(Errno(rawValue: -result))")
            } else {
                core.logger.debug("connection reset by the peer")
            }
            connection.pointee.closing = true
        }
        if !connection.pointee.receiving {
            rearm(fd)
            finishIfDone(fd)
        }
    }

    /// The connection holds its cap of buffers, or the budget or the ring is short: its receive
    /// stops until all it queued is sent.
    @inline(__always)
    private func mustStopReading(_ fd: CInt) -> Bool {
        connections[Int(fd)].buffers * Self.bufferSize >= core.budget.connectionLimit || core.budget.isOver
            || ringIsShort
    }

    /// More than three quarters of the loop's buffers are held: receives stop, and blocked sends
    /// move to the heap (`relievePressure`).
    private var ringIsShort: Bool {
        @inline(__always) get { held * 4 > bufferCount * 3 }
    }

    @inline(__always)
    private func send(_ fd: CInt) {
        let connection = connections + Int(fd)
        let id = Int(connection.pointee.head)
        let offset = connection.pointee.offset
        ServerSys.uringPrepareSend(
            sqe(), fd, buffers + id * Self.bufferSize + offset, Int(length[id]) - offset, Self.data(.send, fd))
        connection.pointee.sending = true
        connection.pointee.sendBatch = batch
    }

    @inline(__always)
    private func sent(_ fd: CInt, _ result: Int32) {
        let connection = connections + Int(fd)
        connection.pointee.sending = false
        connection.pointee.sendCancelSent = false
        if connection.pointee.spilled {
            sentSpilled(fd, result)
        } else if result == -ECANCELED && connection.pointee.spillWanted && !connection.pointee.closing {
            spill(fd)
        } else if result <= 0 {
            sendFailed(fd, result)
        } else {
            connection.pointee.lastActivity = now
            connection.pointee.offset += Int(result)
            connection.pointee.queued -= Int(result)
            let head = connection.pointee.head
            if connection.pointee.offset >= Int(length[Int(head)]) {
                connection.pointee.head = next[Int(head)]
                if connection.pointee.head < 0 { connection.pointee.tail = -1 }
                connection.pointee.offset = 0
                connection.pointee.buffers -= 1
                giveBack(head)
            }
            if !connection.pointee.closing && connection.pointee.head >= 0 {
                if connection.pointee.spillWanted { spill(fd) } else { send(fd) }
            }
        }
        connection.pointee.spillWanted = false
        rearm(fd)
        finishIfDone(fd)
    }

    /// A send that failed or was cancelled: the connection closes (said unless it was closing).
    private func sendFailed(_ fd: CInt, _ result: Int32) {
        if result != -ECANCELED && !connections[Int(fd)].closing {
            if result == -EPIPE || result == -ECONNRESET {
                core.logger.debug("connection reset by the peer")
            } else {
                core.logger.info("closing a connection: send failed: \(Errno(rawValue: -result))")
            }
        }
        connections[Int(fd)].closing = true
    }

    /// Receives again on a connection paused by back-pressure, once all it queued is sent.
    @inline(__always)
    private func rearm(_ fd: CInt) {
        let connection = connections[Int(fd)]
        if connection.live && !connection.receiving && !connection.closing && !connection.peerClosed
            && !connection.waitingForBuffer && connection.queued == 0
        {
            armReceive(fd)
        }
    }

    private func rearmWaiting() {
        let parked = waiting
        waiting.removeAll(keepingCapacity: true)
        for fd in parked where connections[Int(fd)].live && connections[Int(fd)].waitingForBuffer {
            connections[Int(fd)].waitingForBuffer = false
            rearm(fd)
            finishIfDone(fd)
        }
    }

    /// Closes a connection that is done (the peer closed and everything is echoed) or failing,
    /// once none of its requests is in flight; cancels those that are.
    private func finishIfDone(_ fd: CInt) {
        let connection = connections + Int(fd)
        guard connection.pointee.live,
            connection.pointee.closing || (connection.pointee.peerClosed && connection.pointee.queued == 0)
        else { return }
        if connection.pointee.sending {
            if connection.pointee.closing && !connection.pointee.sendCancelSent {
                connection.pointee.sendCancelSent = true
                ServerSys.uringPrepareCancel(sqe(), target: Self.data(.send, fd), Self.data(.cancel, fd))
            }
            return
        }
        if connection.pointee.receiving {
            if !connection.pointee.cancelSent { cancelReceive(fd) }
            return
        }
        while connection.pointee.head >= 0 {
            let head = connection.pointee.head
            connection.pointee.head = next[Int(head)]
            giveBack(head)
        }
        if let spill = spills.removeValue(forKey: fd) { core.budget.give(spill.count) }
        if !connection.pointee.closing { ServerSys.shutdownWrite(fd) }
        let slot = connection.pointee.slot
        connection.pointee = Connection(lastActivity: now)
        let last = open.removeLast()
        if slot < open.count {
            open[slot] = last
            connections[Int(last)].slot = slot
        }
        Sys.close(fd)
        core.connectionClosed()
    }

    // MARK: Output on the heap

    /// Moves blocked output off the ring while it runs short: cancels each send that has been in
    /// flight since an earlier batch on a connection holding ring buffers; `sent` then moves
    /// that connection's output to the heap (`spill`).
    private func relievePressure() {
        for fd in open {
            let connection = connections + Int(fd)
            if connection.pointee.sending && connection.pointee.buffers > 0 && !connection.pointee.spillWanted
                && !connection.pointee.closing && !connection.pointee.sendCancelSent
                && connection.pointee.sendBatch != batch
            {
                connection.pointee.spillWanted = true
                ServerSys.uringPrepareCancel(sqe(), target: Self.data(.send, fd), Self.data(.cancel, fd))
            }
        }
    }

    /// Copies the connection's queued output to the heap, gives its buffers back to the ring,
    /// and sends from the heap (no send in flight).
    private func spill(_ fd: CInt) {
        let connection = connections + Int(fd)
        connection.pointee.spillWanted = false
        guard connection.pointee.head >= 0 else { return }
        // The bytes counted before the buffers are given back, so the budget never looks lower
        // than it is: what is queued is exactly what the copy holds.
        core.budget.take(connection.pointee.queued)
        let spill = URingSpillQueue()
        var offset = connection.pointee.offset
        while connection.pointee.head >= 0 {
            let head = connection.pointee.head
            spill.append(buffers + Int(head) * Self.bufferSize + offset, Int(length[Int(head)]) - offset)
            offset = 0
            connection.pointee.head = next[Int(head)]
            giveBack(head)
        }
        assert(spill.count == connection.pointee.queued, "the copy holds what was counted")
        connection.pointee.tail = -1
        connection.pointee.offset = 0
        connection.pointee.buffers = 0
        connection.pointee.spilled = true
        core.spills.add(1, ordering: .relaxed)
        spills[fd] = spill
        sendSpilled(fd, spill)
    }

    /// Input of a connection whose output is on the heap: copied there, the buffer given back.
    private func receivedSpilled(_ fd: CInt, _ id: Int32, _ count: Int) {
        let connection = connections + Int(fd)
        connection.pointee.lastActivity = now
        guard let spill = spills[fd] else { fatalError("a spilled connection without its queue") }
        core.spilledReceives.add(1, ordering: .relaxed)
        spill.append(buffers + Int(id) * Self.bufferSize, count)
        core.budget.take(count)
        giveBack(id)
        connection.pointee.queued += count
        if !connection.pointee.sending { sendSpilled(fd, spill) }
        if connection.pointee.receiving && !connection.pointee.cancelSent
            && (spill.count >= core.budget.connectionLimit || core.budget.isOver)
        {
            cancelReceive(fd)
        }
    }

    private func sendSpilled(_ fd: CInt, _ spill: URingSpillQueue) {
        let front = spill.front
        ServerSys.uringPrepareSend(sqe(), fd, front.baseAddress!, front.count, Self.data(.send, fd))
        connections[Int(fd)].sending = true
        connections[Int(fd)].sendBatch = batch
    }

    /// A send from the heap completed: the rest is sent, or, once it is all sent, the connection
    /// goes back to the ring's buffers.
    private func sentSpilled(_ fd: CInt, _ result: Int32) {
        let connection = connections + Int(fd)
        guard let spill = spills[fd] else { fatalError("a spilled connection without its queue") }
        guard result > 0 else {
            sendFailed(fd, result)
            return
        }
        connection.pointee.lastActivity = now
        spill.consume(Int(result))
        core.budget.give(Int(result))
        connection.pointee.queued -= Int(result)
        if spill.isEmpty {
            spills[fd] = nil
            connection.pointee.spilled = false
        } else if !connection.pointee.closing {
            sendSpilled(fd, spill)
        }
    }

    /// Closes `fd` as soon as its requests are done (idle, or the end of a drain).
    func close(_ fd: CInt) {
        guard connections[Int(fd)].live else { return }
        connections[Int(fd)].closing = true
        finishIfDone(fd)
    }

    /// Closes every connection (the end of a drain).
    func closeAll() {
        for fd in open { close(fd) }
    }

    @inline(__always)
    private func giveBack(_ id: Int32, counted: Bool = true) {
        ServerSys.uringGiveBuffer(ring, buffers + Int(id) * Self.bufferSize, Self.bufferSize, id: UInt16(id))
        if counted {
            held -= 1
            core.budget.give(Self.bufferSize)
        }
    }
}
#endif
