import Foundation
import Sockit
import SockitTestSupport
import Testing

@testable import SockitPorts

#if canImport(Glibc)
import Glibc
#endif

/// How long closed connections may still block a bind: only TIME-WAIT's timer is time left; a
/// connection still closing gets an upper bound, never its retransmission or probe timer.
@Suite("closed connections: the time they may still block a bind")
struct ClosingTimeTests {
    /// `net.ipv4.tcp_fin_timeout` here (read, never changed).
    static var finTimeout: Int {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_fin_timeout", encoding: .utf8)) ?? ""
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 60
    }

    /// The orphan of a connection whose server closed first and whose client never closes: it
    /// sits in FIN-WAIT-2 until its timer (tcp_fin_timeout) runs out, and if the client closes
    /// before that, 60 s more in TIME-WAIT. The timer alone is not the time left.
    @Test func finWait2OrphanIsBoundedByItsTimerAndThenTimeWait() throws {
        let holder = try Holder(["closing", "fin-wait-2"])
        let (result, document) = try sockitJSON(["who", "127.0.0.1:\(holder.port)", "--tcp", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let orphan = try #require(sockets(document).first { $0["side"] as? String == "local" })
        #expect(orphan["state"] as? String == "FIN-WAIT-2")
        #expect(orphan["pid"] is NSNull)
        #expect(orphan["timer"] as? String == "timewait")
        let timer = try #require(orphan["timer_ms"] as? Int)
        #expect(timer > 0 && timer <= Self.finTimeout * 1000)
        // The client, which never closed, is a connection *to* the port.
        #expect(
            sockets(document).contains { $0["state"] as? String == "CLOSE-WAIT" && $0["side"] as? String == "remote" })

        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "time_wait")
        #expect(verdict["bindable"] as? Bool == false)
        #expect(verdict["wait_ms"] as? Int == timer + 60_000)
        #expect(verdict["wait_exact"] as? Bool == false)
        let reason = try #require(verdict["reason"] as? String)
        let bound = (timer + 60_000 + 999) / 1000
        #expect(
            reason.hasPrefix(
                "1 closed connection in FIN-WAIT-2 (time left not known precisely: at most \(bound) s, up to "
                    + "\((timer + 999) / 1000) s more in FIN-WAIT-2 and then 60 s of TIME-WAIT if the peer closes)"),
            "\(reason)")
        #expect(
            reason.hasSuffix(
                "so no option helps now: wait until they are gone (at most \(bound) s); "
                    + "as root: sockit free \(holder.port) --leftovers"), "\(reason)")
        #expect(!reason.contains("s left"), "\(reason)")

        // The EADDRINUSE of a bind says the same: a bound, not the timer as time left.
        let echo = try TestSupport.sockit(["echo", "127.0.0.1:\(holder.port)"], timeout: .seconds(20))
        #expect(echo.status == 2)
        let lines = echo.stderr.split(separator: "\n").map(String.init)
        #expect(
            lines.contains {
                $0.hasPrefix(
                    "  1 connection on this port is in TIME_WAIT or still closing (FIN_WAIT2, or another "
                        + "state before it): when it ends is not known precisely, at most ")
            }, "\(echo.stderr)")
        #expect(!echo.stderr.contains("s left"), "\(echo.stderr)")
        let atMost = echo.stderr.components(separatedBy: "at most ").dropFirst()
            .compactMap { Int($0.prefix { $0.isNumber }) }
        #expect(!atMost.isEmpty && atMost.allSatisfy { $0 > 60 && $0 <= Self.finTimeout + 60 }, "\(echo.stderr)")
    }

    /// A connection closed while its peer's window is full sits in FIN-WAIT-1 with a window
    /// probe timer of a fraction of a second: its end is not known; the bound is
    /// tcp_fin_timeout plus TIME-WAIT's 60 s.
    @Test func finWait1OrphanHasNoKnownEnd() throws {
        let holder = try Holder(["closing", "fin-wait-1"])
        let (_, document) = try sockitJSON(["who", "127.0.0.1:\(holder.port)", "--tcp", "--json"])
        let orphan = try #require(sockets(document).first { $0["side"] as? String == "local" })
        #expect(orphan["state"] as? String == "FIN-WAIT-1")
        #expect(orphan["pid"] is NSNull)
        let timer = try #require(orphan["timer_ms"] as? Int)
        #expect(["probe", "retrans"].contains(orphan["timer"] as? String))
        #expect(timer < 60_000)

        let verdict = try #require(document["verdict"] as? [String: Any])
        #expect(verdict["kind"] as? String == "time_wait")
        #expect(verdict["wait_ms"] as? Int == (Self.finTimeout + 60) * 1000)
        #expect(verdict["wait_exact"] as? Bool == false)
        let reason = try #require(verdict["reason"] as? String)
        #expect(
            reason.hasPrefix(
                "1 closed connection in FIN-WAIT-1 (time left not known precisely: at most \(Self.finTimeout + 60) s, "
                    + "net.ipv4.tcp_fin_timeout (\(Self.finTimeout) s) and then 60 s of TIME-WAIT)"),
            "\(reason)")
    }
}
