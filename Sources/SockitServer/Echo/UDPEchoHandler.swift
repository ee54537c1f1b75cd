import CSockit
import Logging
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Echoes each datagram to its sender, on the loop of a `UDPEchoServer`, in batches: one
/// `recvmmsg` takes up to `batchSize` datagrams, one `sendmmsg` returns them, each message
/// keeping its sender's address, so a reply goes where its datagram came from.
///
/// No reply is dropped for a full send buffer: the replies not sent yet stay pending, the socket
/// waits for `EPOLLOUT` instead of reading more (the kernel queues new datagrams meanwhile, or
/// drops them at the receive buffer when the server really is overloaded), and they go first.
///
/// While it reads, the socket is off the loop's selector, and goes back on once `recvmmsg` finds
/// nothing (or after `batchesPerEvent` batches, when epoll reports it again at once). A socket
/// that is watched has a waiter on its wait queue, and then every reply the server sent wakes it
/// when the reply is freed (`sock_wfree`, on the server's CPU) and every datagram that arrives
/// takes the same queue's lock on the sender's; two `epoll_ctl` calls each time the socket runs
/// dry cost less (the README's UDP section has the measurement).
final class UDPEchoHandler: EventHandler {
    /// Datagrams per `recvmmsg`/`sendmmsg`, as in the C reference server.
    static let batchSize = 32
    /// The room for each datagram: any UDP datagram fits (IPv4 carries up to 65,507 bytes,
    /// IPv6 65,527), so none is truncated; one that were would be echoed cut, as `recvfrom` did.
    static let datagramRoom = 65536
    /// Batches read per readiness report before the loop runs its other work (tasks, timers).
    static let batchesPerEvent = 8

    let socket: Socket
    let fd: CInt
    let logger: Logger
    /// `batchesPerEvent`, or fewer in tests.
    private let batchesPerReport: Int
    /// `batchSize` slots of `datagramRoom` bytes; only the pages a datagram touches are resident.
    private let buffers: UnsafeMutableRawPointer
    private let messages: UnsafeMutablePointer<sockit_mmsghdr>
    private let vectors: UnsafeMutablePointer<iovec>
    private let addresses: UnsafeMutablePointer<sockaddr_storage>
    /// Replies received and not sent yet: `messages[pendingStart..<pendingEnd]`.
    private var pendingStart = 0
    private var pendingEnd = 0
    /// What the socket is watched for on the loop's selector; nil: not watched.
    private var registered: Interest? = .read
    /// The handler is installed in the loop (it may be off the selector while it reads).
    private var installed = true
    /// False once a new instance reads from the socket (a hand-off) or it is closed.
    private var reading = true

    init(socket: Socket, logger: Logger, batchesPerReport: Int = UDPEchoHandler.batchesPerEvent) {
        self.socket = socket
        self.fd = socket.fileDescriptor
        self.logger = logger
        self.batchesPerReport = max(1, batchesPerReport)
        let count = Self.batchSize
        buffers = .allocate(byteCount: count * Self.datagramRoom, alignment: 64)
        messages = .allocate(capacity: count)
        vectors = .allocate(capacity: count)
        addresses = .allocate(capacity: count)
        addresses.initialize(repeating: sockaddr_storage(), count: count)
        for index in 0..<count {
            vectors[index] = iovec(iov_base: buffers + index * Self.datagramRoom, iov_len: Self.datagramRoom)
            var header = msghdr()
            header.msg_name = UnsafeMutableRawPointer(addresses + index)
            header.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            header.msg_iov = vectors + index
            header.msg_iovlen = 1
            messages[index] = sockit_mmsghdr(msg_hdr: header, msg_len: 0)
        }
    }

    deinit {
        buffers.deallocate()
        messages.deallocate()
        vectors.deallocate()
        addresses.deallocate()
    }

    override func handle(_ event: ReadyEvent, on loop: EventLoop) {
        if pendingStart < pendingEnd {
            guard sendPending() else { return }  // still full: EPOLLOUT again
            readyToReceive(pendingEnd)
            guard reading else {
                unregister(on: loop)
                return
            }
        }
        guard reading else { return }
        unwatch(on: loop)
        for _ in 0..<batchesPerReport {
            let count: Int
            switch ServerSys.receiveMessages(fd, messages, Self.batchSize) {
            case .success(.processed(let received)):
                count = received
            case .success(.wouldBlock):
                register(.read, on: loop)
                return
            case .failure(let errno):
                // ECONNREFUSED: an ICMP error for an earlier reply; the socket goes on.
                logger.debug("recvmmsg failed: \(errno)")
                continue
            }
            for index in 0..<count {
                let message = messages[index]
                vectors[index].iov_len = Int(message.msg_len)
                if message.msg_hdr.msg_flags & CInt(SOCKIT_MSG_TRUNC) != 0 {
                    logger.debug("a datagram larger than \(Self.datagramRoom) bytes was truncated")
                }
            }
            pendingStart = 0
            pendingEnd = count
            guard sendPending() else {
                register(.write, on: loop)
                return
            }
            readyToReceive(count)
        }
        // More may be queued: watched again, the socket is reported at once (level-triggered),
        // after the loop's other work.
        register(.read, on: loop)
    }

    /// Sends the pending replies, as many per call as the send buffer takes; false when some
    /// are left (the buffer is full). A reply the kernel refuses (`sendto`'s errors: `EPERM`
    /// from a firewall, `ENETUNREACH`, …) is skipped, as each reply was before batching.
    private func sendPending() -> Bool {
        // Each call sends at least one reply or skips one: bounded by the batch.
        for _ in 0..<Self.batchSize where pendingStart < pendingEnd {
            switch ServerSys.sendMessages(fd, messages + pendingStart, pendingEnd - pendingStart) {
            case .success(.processed(let sent)):
                pendingStart += sent
            case .success(.wouldBlock):
                return false
            case .failure(let errno):
                logger.debug("sendmmsg failed: \(errno)")
                pendingStart += 1
            }
        }
        return pendingStart >= pendingEnd
    }

    /// Gives the first `count` messages their whole room and address space again for `recvmmsg`.
    @inline(__always)
    private func readyToReceive(_ count: Int) {
        for index in 0..<count {
            vectors[index].iov_len = Self.datagramRoom
            messages[index].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
        }
        pendingStart = 0
        pendingEnd = 0
    }

    private func register(_ interest: Interest, on loop: EventLoop) {
        guard registered != interest else { return }
        do {
            if !installed {
                try loop.register(self, fd: fd, interest: interest)
                installed = true
            } else if registered == nil {
                try loop.watch(fd: fd, interest: interest)
            } else {
                try loop.reregister(fd: fd, interest: interest)
            }
            registered = interest
        } catch {
            logger.error("cannot wait for the socket: \(error.summary)")
        }
    }

    /// Off the selector while the handler reads; still installed.
    @inline(__always)
    private func unwatch(on loop: EventLoop) {
        guard registered != nil else { return }
        registered = nil
        loop.unwatch(fd: fd)
    }

    private func unregister(on loop: EventLoop) {
        guard installed else { return }
        installed = false
        registered = nil
        loop.deregister(fd: fd)
    }

    func close(on loop: EventLoop) {
        reading = false
        unregister(on: loop)
        if pendingStart < pendingEnd { _ = sendPending() }  // what the buffer takes now; no wait
        pendingStart = 0
        pendingEnd = 0
        try? socket.close()
    }

    /// A new instance reads from this socket now: stop reading, without closing it. Replies
    /// still pending go out first.
    func stopReading(on loop: EventLoop) {
        guard reading else { return }
        reading = false
        if pendingStart < pendingEnd, sendPending() { readyToReceive(pendingEnd) }
        if pendingStart >= pendingEnd { unregister(on: loop) }
    }

    /// The new instance went away before it confirmed: read again (datagrams queued meanwhile).
    func resumeReading(on loop: EventLoop) {
        guard !reading, !socket.isClosed else { return }
        reading = true
        if pendingStart >= pendingEnd { register(.read, on: loop) }
    }
}
