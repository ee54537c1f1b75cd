import SockitTestSupport
import Testing

@testable import Sockit

#if canImport(Glibc)
import Glibc
#endif

@Suite("Descriptor passing and peer credentials")
struct DescriptorPassingTests {
    @Test func aListenerPassedWithSCMRightsKeepsAccepting() throws {
        let (listener, address) = try TestSupport.loopbackListener()
        let (left, right) = try Socket.pair()
        try left.send(Array("listener".utf8), descriptors: [listener.fileDescriptor])
        let (bytes, descriptors) = try right.receiveWithDescriptors()
        #expect(bytes == Array("listener".utf8))
        #expect(descriptors.count == 1)
        let received = try Socket(adopting: descriptors[0])
        #expect(received.fileDescriptor != listener.fileDescriptor, "a new number for the same open socket")
        #expect(fcntl(received.fileDescriptor, F_GETFD) & FD_CLOEXEC != 0, "received with MSG_CMSG_CLOEXEC")
        #expect(try received.getOption(.acceptConnections))
        #expect(try received.localAddress() == address)

        // The original closes; the received one still accepts on the same port.
        try listener.close()
        let client = try Socket(.ipv4, .stream)
        try client.connect(to: address, timeout: .seconds(5))
        let (server, _) = try received.accept()
        try client.sendAll([42])
        #expect(try server.receive(maxBytes: 1) == [42])
    }

    @Test func plainDataWithoutDescriptors() throws {
        let (left, right) = try Socket.pair()
        try left.send([1, 2, 3], descriptors: [])
        let (bytes, descriptors) = try right.receiveWithDescriptors()
        #expect(bytes == [1, 2, 3])
        #expect(descriptors.isEmpty)
        try left.close()
        #expect(try right.receiveWithDescriptors().bytes.isEmpty, "end-of-file")
    }

    @Test func peerCredentialsNameThisProcess() throws {
        let (left, _) = try Socket.pair()
        let credentials = try left.peerCredentials()
        #expect(credentials.pid == getpid())
        #expect(credentials.uid == getuid())
        #expect(credentials.gid == getgid())
    }
}
