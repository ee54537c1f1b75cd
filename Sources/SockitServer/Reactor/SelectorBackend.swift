import Sockit

/// The readiness backend of an `EventLoop`: one per loop, used from that loop's thread only,
/// except `wakeup()`, which any thread may call.
///
/// This protocol is what a backend implements (`Linux/EpollSelector.swift` and
/// `Linux/URingSelector.swift` are Linux's; a kqueue one would sit beside them). Callers use
/// `PlatformSelector` (`Linux/LinuxSelector.swift`: `make(_:)` picks the backend a loop asked
/// for, or the one the kernel allows) and never write `#if`.
protocol SelectorBackend: AnyObject {
    init() throws(SocketError)
    /// Starts watching `fd` for `interest`.
    func register(fd: CInt, interest: Interest) throws(SocketError)
    /// Changes what `fd` is watched for.
    func reregister(fd: CInt, interest: Interest) throws(SocketError)
    /// Stops watching `fd` (call before closing it).
    func deregister(fd: CInt)
    /// Waits up to `timeout` (nil: until something happens), then calls `body` for each ready
    /// descriptor. Returns true when the timer armed with `armTimer` fired, or `wakeup` was called.
    func wait(timeout: Duration?, _ body: (ReadyEvent) -> Void) throws(SocketError) -> (timer: Bool, wakeup: Bool)
    /// Makes the loop's `wait` return soon. Safe from any thread.
    func wakeup()
    /// Arms the one-shot timer to fire after `delay` (nil disarms it).
    func armTimer(after delay: Duration?)
    /// Releases the backend's descriptors.
    func close()
}
