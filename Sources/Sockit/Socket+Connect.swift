import CSockit

#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// Connects to `address`, waiting up to `timeout` (nil: as long as the kernel tries).
    /// The corresponding C function is `connect`.
    ///
    /// A timeout is implemented with a non-blocking connect and `poll`; the socket's blocking mode
    /// is restored afterwards.
    /// - Throws: `SocketError`: `ECONNREFUSED` when nothing listens, `ETIMEDOUT` past the timeout.
    public func connect(to address: SocketAddress, timeout: Duration? = nil) throws(SocketError) {
        guard let timeout else {
            try withDescriptor("connect") { fd throws(SocketError) in
                let result = address.withSockAddr { pointer, length in
                    Sys.connect(fd, pointer, length)
                }
                switch result {
                case .success: return
                case .failure(.interrupted), .failure(.inProgress):
                    // An interrupted blocking connect goes on in the background; wait for it.
                    try waitForConnect(address: address, timeout: nil)
                case .failure(let errno):
                    throw SocketError(syscall: "connect", errno: errno, address: address, socketType: type)
                }
            }
            return
        }
        if domain == .unix {
            try connectUnix(to: address, timeout: timeout)
            return
        }
        let wasNonBlocking = try isNonBlocking()
        if !wasNonBlocking { try setNonBlocking(true) }
        defer { if !wasNonBlocking { try? setNonBlocking(false) } }
        if try connectNonBlocking(to: address) { return }
        try waitForConnect(address: address, timeout: timeout)
    }

    /// A Unix stream connect completes at once or not at all: when the listener's backlog is
    /// full a non-blocking connect fails with `EAGAIN` (nothing is in progress, and the socket
    /// polls writable while unconnected), and a blocking one waits for room for up to
    /// `SO_SNDTIMEO`. So: a blocking connect with the send timeout set to `timeout`.
    private func connectUnix(to address: SocketAddress, timeout: Duration) throws(SocketError) {
        let wasNonBlocking = try isNonBlocking()
        let sendTimeout = try getOption(.sendTimeout)
        if wasNonBlocking { try setNonBlocking(false) }
        try setOption(.sendTimeout, max(timeout, .microseconds(1)))
        defer {
            try? setOption(.sendTimeout, sendTimeout)
            if wasNonBlocking { try? setNonBlocking(true) }
        }
        try withDescriptor("connect") { fd throws(SocketError) in
            let result = address.withSockAddr { pointer, length in
                Sys.connect(fd, pointer, length, retryOnInterrupt: true)
            }
            switch result {
            case .success: return
            case .failure(.wouldBlock):
                throw SocketError(
                    syscall: "connect", errno: .timedOut, address: address,
                    explanation: ["the listener's backlog stayed full for \(timeout): it does not accept connections"])
            case .failure(let errno):
                throw SocketError(syscall: "connect", errno: errno, address: address, socketType: type)
            }
        }
    }

    /// Starts a connect on a non-blocking socket: true when it completed at once, false when it
    /// is in progress (`EINPROGRESS`; wait for writability, then read `SocketOption.error`).
    public func connectNonBlocking(to address: SocketAddress) throws(SocketError) -> Bool {
        try withDescriptor("connect") { fd throws(SocketError) in
            let result = address.withSockAddr { pointer, length in
                Sys.connect(fd, pointer, length)
            }
            switch result {
            case .success: return true
            case .failure(.inProgress), .failure(.interrupted): return false
            case .failure(.wouldBlock) where self.domain == .unix:
                // Not in progress: the listener's backlog is full, and nothing will complete.
                throw SocketError(
                    syscall: "connect", errno: .wouldBlock, address: address,
                    explanation: ["the listener's backlog is full; try again later, or connect with a timeout"])
            case .failure(let errno):
                throw SocketError(syscall: "connect", errno: errno, address: address, socketType: type)
            }
        }
    }

    private func waitForConnect(address: SocketAddress, timeout: Duration?) throws(SocketError) {
        let ready = try poll(for: Int16(POLLOUT), timeout: timeout)
        guard ready else { throw SocketError(syscall: "connect", errno: .timedOut, address: address) }
        let pending = try getOption(.error)
        if let pending { throw SocketError(syscall: "connect", errno: pending, address: address, socketType: type) }
    }

    /// Waits until the socket is ready for `events` (`POLLIN`, `POLLOUT`) or `timeout` passes.
    /// Returns false on timeout. `EINTR` restarts the wait with the time that is left.
    public func poll(for events: Int16, timeout: Duration?) throws(SocketError) -> Bool {
        try withDescriptor("poll") { fd throws(SocketError) in
            let clock = ContinuousClock()
            let deadline = timeout.map { clock.now + $0 }
            while true {
                var entry = pollfd(fd: fd, events: events, revents: 0)
                var milliseconds: CInt = -1
                if let deadline {
                    let left = clock.now.duration(to: deadline)
                    milliseconds = left <= .zero ? 0 : CInt(clamping: left.milliseconds + 1)
                }
                switch Sys.poll(&entry, 1, milliseconds) {
                case .success(0):
                    if let deadline, clock.now >= deadline { return false }
                case .success: return true
                case .failure(.interrupted): continue
                case .failure(let errno): throw SocketError(syscall: "poll", errno: errno)
                }
            }
        }
    }
}
