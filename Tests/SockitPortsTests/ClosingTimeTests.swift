import Sockit
import Testing

@testable import SockitPorts

/// Which closed connections' timers are time left (ClosingTime, in-process); the figures
/// `sockit who` prints for real orphans are checked in SockitCLITests.
@Suite("closed connections: which timer is time left")
struct ClosingTimeTests {
    /// Only TIME-WAIT is exact (the existing TIME-WAIT tests check its figure end to end).
    @Test func onlyTimeWaitTimersAreTimeLeft() throws {
        let local = SocketAddress.ipv4(.loopback(port: 8080))
        let peer = SocketAddress.ipv4(.loopback(port: 50_000))
        func socket(_ state: TCPState, _ timer: Int?, _ kind: String?, inode: UInt64 = 0) -> PortSocket {
            PortSocket(
                transport: .tcp, state: state, local: local, remote: peer, inode: inode, timerMilliseconds: timer,
                timerKind: kind)
        }
        var reads = 0
        let finTimeout = { () -> Int in
            reads += 1
            return 30
        }
        let timeWait = [socket(.timeWait, 41_000, "timewait"), socket(.timeWait, 12_000, "timewait")]
        let exact = ClosingTime.of(timeWait, finTimeoutSeconds: finTimeout)
        #expect(exact == ClosingTime(milliseconds: 41_000, basis: .timeWait))
        #expect(reads == 0)
        // A retransmission timer (LAST-ACK, CLOSING, FIN-WAIT-1) says nothing of the end.
        for state in [TCPState.lastAck, .closing, .finWait1] {
            let time = try #require(
                ClosingTime.of(timeWait + [socket(state, 200, "retrans")], finTimeoutSeconds: finTimeout))
            #expect(time == ClosingTime(milliseconds: 90_000, basis: .unknown(finTimeoutSeconds: 30)), "\(state)")
            #expect(!time.isExact)
        }
        // FIN-WAIT-2 in the kernel's TIME-WAIT structure: its timer, then TIME-WAIT.
        let finWait2 = try #require(ClosingTime.of([socket(.finWait2, 500, "timewait")], finTimeoutSeconds: finTimeout))
        #expect(finWait2 == ClosingTime(milliseconds: 60_500, basis: .finWait2(timerMilliseconds: 500)))
        // Even when a TIME-WAIT timer is as long, the figure is a bound.
        let tie = ClosingTime.of([socket(.timeWait, 60_000, "timewait"), socket(.finWait2, 0, "timewait")])
        #expect(tie?.isExact == false)
        // Sockets with a file, and connections in an accept queue (no file, ESTAB), are not closed.
        #expect(ClosingTime.of([socket(.finWait1, 200, "retrans", inode: 7), socket(.established, nil, nil)]) == nil)
    }
}
