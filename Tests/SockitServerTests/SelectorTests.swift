import Foundation
import Sockit
import Testing

@testable import SockitServer

/// The backend an `EventLoop` that asked for `asked` should get: io_uring only where asked and
/// where this kernel allows it.
func expectedLoopBackend(_ asked: EventLoopBackend) -> EventLoopBackend {
    asked == .ioUring && URingSupport.unavailableReason() == nil ? .ioUring : .epoll
}

/// `count` started event loops asking for `backend`, checked to have the backend this kernel
/// gives (io_uring where asked and allowed, else epoll).
func loopGroup(
    count: Int, on backend: EventLoopBackend, sourceLocation: SourceLocation = #_sourceLocation
) throws -> EventLoopGroup {
    let group = try EventLoopGroup(count: count, backend: backend)
    #expect(group.backend == expectedLoopBackend(backend), sourceLocation: sourceLocation)
    return group
}

/// The backend of the event loops of the tests that do not choose: io_uring when
/// SOCKIT_ECHO_BACKEND is io_uring (.ci/run's second pass over the server suites), else epoll.
func environmentLoopBackend() -> EventLoopBackend {
    environmentBackend() == .ioUring ? .ioUring : .epoll
}

/// Each selector (epoll, or polls on io_uring; each with an eventfd and a timerfd) driven
/// directly, without an event loop.
@Suite("Selectors: readiness, a timer and a wake-up, directly, on each backend")
struct SelectorTests {
    /// What one `wait` reported: the ready descriptors' events, and whether the timer fired or a
    /// wake-up came.
    private struct Reported {
        var events: [CInt: ReadyEvent] = [:]
        var timer = false
        var wakeup = false
    }

    private func make(_ backend: EventLoopBackend) throws -> PlatformSelector {
        let (selector, _) = try PlatformSelector.make(backend)
        #expect(selector.backend == expectedLoopBackend(backend))
        return selector
    }

    private func wait(_ selector: PlatformSelector, _ timeout: Duration?) throws -> Reported {
        var reported = Reported()
        let (timer, wakeup) = try selector.wait(timeout: timeout) { event in reported.events[event.fd] = event }
        reported.timer = timer
        reported.wakeup = wakeup
        return reported
    }

    /// Waits until `enough` holds for what was reported, `limit` has passed, or 100 waits went
    /// by, and returns what every wait reported, merged: a signal ends a wait early (EINTR,
    /// reported as nothing), and the test process's children end meanwhile.
    private func wait(
        _ selector: PlatformSelector, upTo limit: Duration, until enough: (Reported) -> Bool = { _ in false }
    ) throws -> Reported {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var merged = Reported()
        for _ in 0..<100 where !enough(merged) && clock.now < deadline {
            let one = try wait(selector, clock.now.duration(to: deadline))
            merged.events.merge(one.events) { _, later in later }
            merged.timer = merged.timer || one.timer
            merged.wakeup = merged.wakeup || one.wakeup
        }
        return merged
    }

    @Test(
        "a socket pair: readable only with data, writable when asked, nothing once deregistered",
        arguments: EventLoopBackend.allCases)
    func readinessOfASocketPair(backend: EventLoopBackend) throws {
        let selector = try make(backend)
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
        let readable = try #require(try wait(selector, upTo: .seconds(5)) { $0.events[fd] != nil }.events[fd])
        #expect(readable.readable && !readable.writable)
        // Level-triggered: still readable while the byte is unread.
        #expect(try wait(selector, .zero).events[fd]?.readable == true)
        #expect(try watched.receive(maxBytes: 1) == [42])
        #expect(try wait(selector, .zero).events[fd] == nil, "read: nothing left")

        try peer.sendAll([43])
        selector.deregister(fd: fd)
        #expect(try wait(selector, .zero).events[fd] == nil, "deregistered: not reported")
    }

    @Test("the timer fires once after its delay, and not at all once disarmed", arguments: EventLoopBackend.allCases)
    func timer(backend: EventLoopBackend) throws {
        let selector = try make(backend)
        defer { selector.close() }
        let clock = ContinuousClock()
        let armed = clock.now
        selector.armTimer(after: .milliseconds(50))
        let reported = try wait(selector, upTo: .seconds(10)) { $0.timer }
        #expect(reported.timer)
        #expect(clock.now - armed >= .milliseconds(50))
        #expect(reported.events.isEmpty && !reported.wakeup)
        #expect(try !wait(selector, .zero).timer, "one-shot: it fired once")

        selector.armTimer(after: .milliseconds(20))
        selector.armTimer(after: nil)
        #expect(try !wait(selector, upTo: .milliseconds(200)).timer, "disarmed: it never fires")
    }

    @Test("a wake-up from another thread ends a wait", arguments: EventLoopBackend.allCases)
    func wakeupFromAnotherThread(backend: EventLoopBackend) throws {
        let selector = try make(backend)
        defer { selector.close() }
        #expect(try !wait(selector, .zero).wakeup)
        let transfer = UnsafeTransfer(selector)
        let thread = Thread { transfer.value.wakeup() }
        thread.start()
        // Nothing else is registered or armed: only the wake-up can end these waits early (or a
        // signal, and then they wait again).
        let reported = try wait(selector, upTo: .seconds(10)) { $0.wakeup }
        #expect(reported.wakeup, "the wait ran to its deadline")
        #expect(!reported.timer && reported.events.isEmpty)
        #expect(try !wait(selector, .zero).wakeup, "the wake-up was consumed")
    }

    @Test(
        "a handler that asks for other events from its own report gets them; one that reads nothing is called again",
        arguments: EventLoopBackend.allCases)
    func interestChangedFromTheReport(backend: EventLoopBackend) throws {
        let selector = try make(backend)
        defer { selector.close() }
        let (watched, peer) = try Socket.pair()
        let fd = watched.fileDescriptor
        try selector.register(fd: fd, interest: .read)
        try peer.sendAll([1])
        var reports = 0
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        // Again if a signal ends the wait with nothing reported.
        for _ in 0..<100 where reports == 0 && clock.now < deadline {
            _ = try selector.wait(timeout: clock.now.duration(to: deadline)) { event in
                reports += 1
                #expect(event.fd == fd && event.readable)
                // Leaves the byte unread, and asks for writability too, as a handler would.
                try? selector.reregister(fd: fd, interest: [.read, .write])
            }
        }
        #expect(reports == 1)
        let again = try #require(try wait(selector, upTo: .seconds(5)) { $0.events[fd] != nil }.events[fd])
        #expect(again.readable && again.writable, "the new interest, and the byte still unread")
        try selector.reregister(fd: fd, interest: .none)
        #expect(try wait(selector, .zero).events[fd] == nil, "no interest: nothing but errors")
        try selector.reregister(fd: fd, interest: .read)
        #expect(try wait(selector, upTo: .seconds(5)) { $0.events[fd] != nil }.events[fd]?.readable == true)
    }

    @Test(
        "a socket deregistered and then closed is closed for its peer at once, with no wait in between",
        arguments: EventLoopBackend.allCases)
    func deregisteredThenClosedReachesThePeer(backend: EventLoopBackend) throws {
        let selector = try make(backend)
        defer { selector.close() }
        var (watched, peer): (Socket?, Socket) = try Socket.pair()
        try peer.setOption(.receiveTimeout, .seconds(5))
        let fd = watched!.fileDescriptor
        try selector.register(fd: fd, interest: .read)
        // Watched for real: on io_uring the poll is submitted by a wait.
        #expect(try wait(selector, .zero).events[fd] == nil)
        selector.deregister(fd: fd)
        try watched!.close()
        watched = nil
        // The peer, not the selector: an io_uring poll still armed would hold the socket open.
        let eof = Result { () throws(SocketError) in try peer.receive(maxBytes: 1) }
        switch eof {
        case .success(let bytes): #expect(bytes.isEmpty, "end-of-file")
        case .failure(let error): Issue.record("the peer never saw the close: \(error)")
        }
    }

    @Test("io_uring refused: the selector is epoll's, it says why, and it works")
    func refusedIOURingFallsBackToEpoll() throws {
        let (selector, reason) = try PlatformSelector.make(.ioUring) { "refused by the test" }
        defer { selector.close() }
        #expect(selector.backend == .epoll)
        #expect(reason == "refused by the test")
        let (watched, peer) = try Socket.pair()
        try selector.register(fd: watched.fileDescriptor, interest: .read)
        try peer.sendAll([7])
        let fd = watched.fileDescriptor
        #expect(try wait(selector, upTo: .seconds(5)) { $0.events[fd] != nil }.events[fd]?.readable == true)
        let (asked, none) = try PlatformSelector.make(.epoll) { "refused" }
        asked.close()
        #expect(none == nil, "epoll asked: no reason")
    }
}
