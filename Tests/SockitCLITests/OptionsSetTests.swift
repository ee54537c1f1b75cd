import Foundation
import Sockit
import SockitTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sockit options --pid P --fd N --set NAME=VALUE`: options set on a live socket of another
/// process, checked from that process's side (its own getsockopt).
@Suite("sockit options --set")
struct OptionsSetTests {
    /// A child's connected socket, and what the child itself reads of it.
    struct Client {
        let holder: Holder
        let listener: Socket
        var fd: String { holder.fields[2] }
        var pid: String { String(holder.pid) }

        init() throws {
            let (listener, address) = try TestSupport.loopbackListener()
            self.listener = listener
            holder = try Holder(["connect", String(address.port!)])
        }

        /// SO_KEEPALIVE and TCP_KEEPIDLE as the child's getsockopt reads them.
        func options() throws -> (keepAlive: Int, idle: Int) {
            holder.child.writeStdin(Array("options\n".utf8))
            let line = try #require(holder.child.readLine(timeout: .seconds(10)))
            let fields = line.split(separator: " ").compactMap { Int($0) }
            try #require(line.hasPrefix("options ") && fields.count == 2, "\(line)")
            return (fields[0], fields[1])
        }
    }

    @Test func keepAliveSetOnALiveConnectionIsWhatItsProcessReads() throws {
        let client = try Client()
        let before = try client.options()
        #expect(before.keepAlive == 0)
        #expect(before.idle != 30)
        let (result, document) = try sockitJSON([
            "options", "--pid", client.pid, "--fd", client.fd, "--set", "SO_KEEPALIVE=1", "--set", "TCP_KEEPIDLE=30",
            "--json",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let set = try #require(document["set"] as? [[String: Any]])
        #expect(set.compactMap { $0["name"] as? String } == ["SO_KEEPALIVE", "TCP_KEEPIDLE"])
        #expect(set.first?["value"] as? Bool == true)
        #expect((set.last?["value"] as? NSNumber)?.doubleValue == 30)
        let after = try client.options()
        #expect(after.keepAlive == 1 && after.idle == 30)
    }

    @Test(arguments: [
        ("SO_KEEPALIVE=maybe", "SO_KEEPALIVE takes 0 or 1, not \"maybe\""),
        ("SO_ACCEPTCONN=1", "SO_ACCEPTCONN is read-only"),
        ("TCP_KEEPIDLE=soon", "TCP_KEEPIDLE takes seconds"),
        ("SO_KEEPALIV=1", "did you mean SO_KEEPALIVE"),
        ("SO_KEEPALIVE", "is not NAME=VALUE"),
    ])
    func aBadValueOrAReadOnlyOptionSetsNothing(bad: String, message: String) throws {
        let client = try Client()
        let result = try TestSupport.sockit([
            "options", "--pid", client.pid, "--fd", client.fd, "--set", "TCP_KEEPIDLE=30", "--set", bad,
        ])
        #expect(result.status == 2)
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.contains("nothing was set"))
        // The valid assignment before the bad one was not applied either.
        #expect(try client.options().idle != 30)
    }
}
