#if os(Linux)
import CSockit
import Sockit

/// Linux readiness on io_uring (`EventLoopBackend.ioUring`): a one-shot poll per watched
/// descriptor, plus an `eventfd` to wake the loop from other threads and a `timerfd` for its
/// timers, each under a multishot poll.
///
/// Level-triggered, as `EpollSelector`: a poll completes once, and the descriptor's poll is armed
/// again after its handler returns; a poll armed on a descriptor that is still ready completes at
/// once, so a handler that left data unread is called again on the next wait. The polls armed in
/// an iteration are submitted by the `io_uring_enter` that waits for the next one: watching a
/// descriptor or changing what it is watched for costs no system call of its own.
///
/// A poll holds a reference to its descriptor's file, where epoll forgets a descriptor as it is
/// closed. So `deregister` removes an armed poll at once (one `io_uring_enter`), before the
/// caller closes the descriptor: a connection closed after `deregister` is closed for its peer
/// too. A descriptor deregistered from its own handler has no poll armed and costs nothing.
///
/// Each poll's user data carries its descriptor and a generation, bumped whenever the descriptor
/// is registered, deregistered or re-armed for other events: a completion of an older generation
/// (a poll removed, or one that completed while it was being replaced) is ignored.
///
/// The ring is not tied to a thread (no `SINGLE_ISSUER`): the loop's thread uses it, and before
/// the loop starts or after it stopped, the one thread that registers or closes sockets on it.
final class URingSelector: SelectorBackend {
    private struct Watch {
        var generation: UInt32 = 0
        var interest: Interest = .none
        var registered = false
        /// A poll of the current generation is prepared or in flight.
        var armed = false
    }

    /// User data with this bit set is the selector's own: the wake-up, the timer, a removal.
    private static let own: UInt64 = 1 << 63
    private static let wakeupData = own | 1
    private static let timerData = own | 2
    private static let removalData = own | 3

    private let ring: UnsafeMutablePointer<sockit_uring>
    private let notifiers: WakeupAndTimer
    private var watches: UnsafeMutablePointer<Watch>
    private var capacity: Int
    /// The descriptor whose handler is running (its poll is armed again when it returns), or -1.
    private var reporting: CInt = -1

    init() throws(SocketError) {
        ring = .allocate(capacity: 1)
        let flags = UInt32(IORING_SETUP_SUBMIT_ALL)
        let setup = ServerSys.uringInit(ring, entries: 256, completions: 4096, flags: flags)
        if setup != 0 {
            ring.deallocate()
            throw SocketError(syscall: "io_uring_setup", errno: Errno(rawValue: setup))
        }
        do throws(SocketError) {
            notifiers = try WakeupAndTimer()
        } catch {
            ServerSys.uringExit(ring)
            ring.deallocate()
            throw error
        }
        capacity = 1024
        watches = .allocate(capacity: capacity)
        watches.initialize(repeating: Watch(), count: capacity)
        ServerSys.uringPreparePoll(ServerSys.uringSQE(ring), notifiers.eventFD, Self.wakeupData)
        ServerSys.uringPreparePoll(ServerSys.uringSQE(ring), notifiers.timerFD, Self.timerData)
    }

    deinit {
        watches.deinitialize(count: capacity)
        watches.deallocate()
        ring.deallocate()
    }

    func close() {
        // Closing the ring cancels every poll, and with them their references to the files.
        ServerSys.uringExit(ring)
        notifiers.close()
    }

    @inline(__always)
    private static func userData(_ fd: CInt, _ generation: UInt32) -> UInt64 {
        UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    @inline(__always)
    private static func events(_ interest: Interest) -> UInt32 {
        var events: UInt32 = 0
        if interest.contains(.read) { events |= ServerSys.pollReadable }
        if interest.contains(.write) { events |= ServerSys.pollWritable }
        return events
    }

    /// Prepares a poll of `fd` for its interest, of its current generation.
    @inline(__always)
    private func arm(_ fd: CInt) {
        watches[Int(fd)].armed = true
        let watch = watches[Int(fd)]
        ServerSys.uringPreparePoll(
            ServerSys.uringSQE(ring), fd, events: Self.events(watch.interest), Self.userData(fd, watch.generation))
    }

    /// Removes `fd`'s armed poll (prepared only: the next `io_uring_enter` submits it) and moves
    /// `fd` to a new generation, so that what the old poll still reports is ignored.
    private func disarm(_ fd: CInt) {
        let slot = Int(fd)
        if watches[slot].armed {
            let target = Self.userData(fd, watches[slot].generation)
            ServerSys.uringPreparePollRemove(ServerSys.uringSQE(ring), target: target, Self.removalData)
            watches[slot].armed = false
        }
        watches[slot].generation = (watches[slot].generation &+ 1) & 0x7fff_ffff
    }

    private func reserve(_ fd: CInt) {
        let slot = Int(fd)
        guard slot >= capacity else { return }
        let grown = max(capacity * 2, slot + 1)
        let table = UnsafeMutablePointer<Watch>.allocate(capacity: grown)
        table.moveInitialize(from: watches, count: capacity)
        (table + capacity).initialize(repeating: Watch(), count: grown - capacity)
        watches.deallocate()
        watches = table
        capacity = grown
    }

    func register(fd: CInt, interest: Interest) throws(SocketError) {
        guard fd >= 0 else { throw SocketError(syscall: "io_uring poll", errno: Errno(rawValue: EBADF)) }
        reserve(fd)
        // A descriptor closed without deregistering and now reused: its old poll goes.
        disarm(fd)
        watches[Int(fd)].interest = interest
        watches[Int(fd)].registered = true
        arm(fd)
    }

    func reregister(fd: CInt, interest: Interest) throws(SocketError) {
        let slot = Int(fd)
        guard slot >= 0, slot < capacity, watches[slot].registered else {
            throw SocketError(syscall: "io_uring poll", errno: Errno(rawValue: ENOENT))
        }
        if watches[slot].interest == interest && (watches[slot].armed || fd == reporting) { return }
        watches[slot].interest = interest
        // From its own handler: armed with the new interest when the handler returns.
        if fd == reporting && !watches[slot].armed { return }
        disarm(fd)
        arm(fd)
    }

    func deregister(fd: CInt) {
        let slot = Int(fd)
        guard slot >= 0, slot < capacity, watches[slot].registered else { return }
        let armed = watches[slot].armed
        watches[slot].registered = false
        disarm(fd)
        // The poll must let go of the file before the caller closes the descriptor.
        if armed { _ = ServerSys.uringEnter(ring, waitFor: 0, timeout: .zero) }
    }

    func wait(timeout: Duration?, _ body: (ReadyEvent) -> Void) throws(SocketError) -> (timer: Bool, wakeup: Bool) {
        switch ServerSys.uringEnter(ring, waitFor: 1, timeout: timeout) {
        case .success: break
        case .failure(let errno) where errno.rawValue == EINTR || errno.rawValue == ETIME: break
        case .failure(let errno): throw SocketError(syscall: "io_uring_enter", errno: errno)
        }
        var timer = false
        var wakeup = false
        let (first, count) = ServerSys.uringReady(ring)
        for index in 0..<count {
            let completion = ServerSys.uringCompletion(ring, first &+ index)
            // Seen before the handler runs: a deregister it makes may enter the kernel.
            ServerSys.uringAdvance(ring, 1)
            let data = completion.user_data
            if data & Self.own != 0 {
                let fd: CInt
                switch data {
                case Self.wakeupData:
                    fd = notifiers.eventFD
                    wakeup = true
                case Self.timerData:
                    fd = notifiers.timerFD
                    timer = true
                default: continue
                }
                ServerSys.readCounter(fd)
                if completion.flags & UInt32(IORING_CQE_F_MORE) == 0 {
                    ServerSys.uringPreparePoll(ServerSys.uringSQE(ring), fd, data)
                }
                continue
            }
            let fd = CInt(bitPattern: UInt32(truncatingIfNeeded: data))
            let generation = UInt32(truncatingIfNeeded: data >> 32)
            let slot = Int(fd)
            guard slot < capacity, watches[slot].registered, watches[slot].armed,
                watches[slot].generation == generation
            else { continue }
            watches[slot].armed = false
            // A poll that failed (its descriptor closed without deregistering) reports
            // nothing, as epoll forgets a closed descriptor.
            guard completion.res >= 0 else { continue }
            let events = UInt32(completion.res)
            reporting = fd
            body(
                ReadyEvent(
                    fd: fd, readable: events & ServerSys.pollReadable != 0,
                    writable: events & ServerSys.pollWritable != 0, failed: events & ServerSys.pollFailed != 0))
            reporting = -1
            // Armed again unless the handler deregistered it or had it armed itself.
            if slot < capacity, watches[slot].registered, !watches[slot].armed,
                watches[slot].generation == generation
            {
                arm(fd)
            }
        }
        return (timer, wakeup)
    }

    func wakeup() {
        notifiers.wakeup()
    }

    func armTimer(after delay: Duration?) {
        notifiers.armTimer(after: delay)
    }
}
#endif
