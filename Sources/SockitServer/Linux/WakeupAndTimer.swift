#if os(Linux)
import Sockit

/// The two descriptors every selector watches besides the handlers' own: an `eventfd` that
/// other threads write to wake the loop, and a one-shot `timerfd` on `CLOCK_MONOTONIC` for the
/// loop's timers. Both non-blocking and close-on-exec; the selector that owns them closes them.
struct WakeupAndTimer {
    let eventFD: CInt
    let timerFD: CInt

    /// Both descriptors, or neither: the first is closed when the second cannot be made.
    init() throws(SocketError) {
        let eventFD = try ServerSys.eventCounter().orThrow("eventfd")
        do throws(SocketError) {
            timerFD = try ServerSys.monotonicTimer().orThrow("timerfd_create")
        } catch {
            Sys.close(eventFD)
            throw error
        }
        self.eventFD = eventFD
    }

    /// Makes `eventFD` readable, from any thread.
    @inline(__always)
    func wakeup() {
        ServerSys.incrementCounter(eventFD)
    }

    /// Arms the timer to fire once after `delay`, or disarms it (nil).
    func armTimer(after delay: Duration?) {
        ServerSys.setTimer(timerFD, after: delay)
    }

    func close() {
        Sys.close(timerFD)
        Sys.close(eventFD)
    }
}
#endif
