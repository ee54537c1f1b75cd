import Foundation
import Sockit
import Testing

@testable import SockitServer

/// The selector (epoll, an eventfd and a timerfd) driven directly, without an event loop.
@Suite("EpollSelector: readiness, a timer and a wake-up, directly")
struct EpollSelectorTests {
    /// What one `wait` reported: the ready descriptors' events, and whether the timer fired or a
    /// wake-up came.
    private struct Reported {
        var events: [CInt: ReadyEvent] = [:]
        var timer = false
        var wakeup = false
    }

    private func wait(_ selector: EpollSelector, _ timeout: Duration?) throws -> Reported {
        var reported = Reported()
        let (timer, wakeup) = try selector.wait(timeout: timeout) { event in reported.events[event.fd] = event }
        reported.timer = timer
        reported.wakeup = wakeup
        return reported
    }

    @Test("a socket pair: readable only with data, writable when asked, nothing once deregistered")
    func readinessOfASocketPair() throws {
        let selector = try EpollSelector()
        defer { selector.close() }
        let (watched, peer) = try Socket.pair()
        let fd = watched.fileDescriptor
        try selector.register(fd: fd, interest: .read)
        #expect(try wait(selector, .zero).events[fd] == nil, "nothing to read yet")

        try selector.reregister(fd: fd, interest: [.read, .write])
        let writable = try #require(try wait(selector, .zero).events[fd])
        #expect(writable.writable && !writable.readable && !writable.failed)

        try selector.reregister(fd: fd, interest: .read)
        try peer.sendAll([42])
        let readable = try #require(try wait(selector, .seconds(5)).events[fd])
        #expect(readable.readable && !readable.writable)
        // Level-triggered: still readable while the byte is unread.
        #expect(try wait(selector, .zero).events[fd]?.readable == true)
        #expect(try watched.receive(maxBytes: 1) == [42])
        #expect(try wait(selector, .zero).events[fd] == nil, "read: nothing left")

        try peer.sendAll([43])
        selector.deregister(fd: fd)
        #expect(try wait(selector, .zero).events[fd] == nil, "deregistered: not reported")
    }

    @Test("the timer fires once after its delay, and not at all once disarmed")
    func timer() throws {
        let selector = try EpollSelector()
        defer { selector.close() }
        let clock = ContinuousClock()
        let armed = clock.now
        selector.armTimer(after: .milliseconds(50))
        var fired = false
        for _ in 0..<5 where !fired {
            fired = try wait(selector, .seconds(2)).timer
        }
        #expect(fired)
        #expect(clock.now - armed >= .milliseconds(50))
        #expect(try !wait(selector, .zero).timer, "one-shot: it fired once")

        selector.armTimer(after: .milliseconds(20))
        selector.armTimer(after: nil)
        #expect(try !wait(selector, .milliseconds(200)).timer, "disarmed: it never fires")
    }

    @Test("a wake-up from another thread ends a wait")
    func wakeupFromAnotherThread() throws {
        let selector = try EpollSelector()
        defer { selector.close() }
        #expect(try !wait(selector, .zero).wakeup)
        let transfer = UnsafeTransfer(selector)
        let thread = Thread { transfer.value.wakeup() }
        thread.start()
        // Nothing else is registered or armed: only the wake-up can end this wait early.
        let clock = ContinuousClock()
        let started = clock.now
        let reported = try wait(selector, .seconds(10))
        #expect(reported.wakeup && !reported.timer && reported.events.isEmpty)
        #expect(clock.now - started < .seconds(10), "the wait ran to its deadline")
        #expect(try !wait(selector, .zero).wakeup, "the wake-up was consumed")
    }
}
