import CSockit
import Sockit
import SockitTestSupport
import Testing

@testable import SockitServer

#if canImport(Glibc)
import Glibc
#endif

/// The servers' hot path calls libc on raw descriptors (`ServerSys`): the same promises as `Socket`.
@Suite("ServerSys: the servers' raw calls")
struct ServerSysTests {
    /// `ServerSys.call` and `nonBlocking` write Sockit's policy out for `Int` (README, "io_uring"):
    /// `EINTR` is retried (unless told not to), `EAGAIN` is `.wouldBlock`, anything else the error.
    @Test func interruptedCallsAreRetriedAndWouldBlockIsNoError() {
        var calls = 0
        let retried = ServerSys.call {
            calls += 1
            if calls == 1 {
                sockit_set_errno(EINTR)
                return -1
            }
            return 5
        }
        #expect(retried == .success(5) && calls == 2)
        let reported = ServerSys.call(retryOnInterrupt: false) {
            sockit_set_errno(EINTR)
            return -1
        }
        #expect(reported == .failure(Errno(rawValue: EINTR)))
        calls = 0
        let blocked = ServerSys.nonBlocking {
            calls += 1
            sockit_set_errno(calls == 1 ? EINTR : EAGAIN)
            return -1
        }
        if case .success(.wouldBlock) = blocked {} else { Issue.record("EAGAIN after EINTR: \(blocked)") }
        let failed = ServerSys.nonBlocking {
            sockit_set_errno(ECONNRESET)
            return -1
        }
        if case .failure(let errno) = failed {
            #expect(errno.rawValue == ECONNRESET)
        } else {
            Issue.record("ECONNRESET: \(failed)")
        }
    }

    /// The echo server closes a connection at its first error, which after a reset is
    /// ECONNRESET, so no black-box test reaches the EPIPE that raises SIGPIPE; this sends on a
    /// socket whose peer is gone, twice, with SIGPIPE blocked so that one raised waits, pending.
    @Test func rawSendToAClosedPeerRaisesNoSIGPIPE() throws {
        let (first, second) = try Socket.pair()
        try second.close()
        var bytes = [UInt8](repeating: 7, count: 64)
        let (results, raised) = TestSupport.raisesSIGPIPE {
            (0..<2).map { _ in ServerSys.send(first.fileDescriptor, &bytes, bytes.count) }
        }
        #expect(!raised, "ServerSys.send raised SIGPIPE")
        for result in results {
            guard case .failure(let errno) = result else {
                Issue.record("sent to a closed peer: \(result)")
                continue
            }
            #expect(errno == .brokenPipe)
        }
    }
}
