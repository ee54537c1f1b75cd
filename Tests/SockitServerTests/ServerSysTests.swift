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
