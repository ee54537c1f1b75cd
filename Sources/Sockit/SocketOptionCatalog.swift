import CSockit

#if canImport(Glibc)
import Glibc
#endif

/// Every typed option sockit knows, type-erased, in the order `sockit options` lists them:
/// `SOL_SOCKET`, `IPPROTO_TCP`, `IPPROTO_IP`, `IPPROTO_IPV6`, each sorted by C name. Names, levels
/// and C types come from the keys themselves (`SocketOptions+<Level>.swift`); the order is derived.
public enum SocketOptionCatalog {
    /// The options that can be read (write-only ones such as `IP_ADD_MEMBERSHIP` are left out).
    public static var readable: [AnySocketOption] { all.filter { $0.access != .writeOnly } }

    /// Every option, readable or not.
    public static var all: [AnySocketOption] {
        keys.sorted { (levelRank($0.level), $0.cName) < (levelRank($1.level), $1.cName) }
    }

    private static func levelRank(_ level: CInt) -> Int {
        [SOL_SOCKET, CInt(IPPROTO_TCP), CInt(IPPROTO_IP), CInt(IPPROTO_IPV6)].firstIndex(of: level) ?? .max
    }

    /// Every `public static var` key of `SocketOptions+<Level>.swift`, in any order.
    /// `SocketOptionTests.catalogueHasEveryDeclaredKeyOnce` reads those files and fails when a key
    /// is missing here.
    private static var keys: [AnySocketOption] {
        [
            // SOL_SOCKET
            SocketOption.acceptConnections.erased, SocketOption.bindToDevice.erased, SocketOption.broadcast.erased,
            SocketOption.domain.erased, SocketOption.dontRoute.erased, SocketOption.error.erased,
            SocketOption.keepAlive.erased, SocketOption.linger.erased, SocketOption.mark.erased,
            SocketOption.outOfBandInline.erased, SocketOption.priority.erased, SocketOption.protocol.erased,
            SocketOption.receiveBufferSize.erased, SocketOption.receiveLowWatermark.erased,
            SocketOption.receiveTimeout.erased, SocketOption.reuseAddress.erased, SocketOption.reusePort.erased,
            SocketOption.sendBufferSize.erased, SocketOption.sendTimeout.erased, SocketOption.type.erased,
            // IPPROTO_TCP
            SocketOption.tcpCongestion.erased, SocketOption.tcpCork.erased, SocketOption.tcpDeferAccept.erased,
            SocketOption.tcpFastOpen.erased, SocketOption.tcpInfo.erased, SocketOption.tcpKeepAliveCount.erased,
            SocketOption.tcpKeepAliveIdle.erased, SocketOption.tcpKeepAliveInterval.erased,
            SocketOption.tcpMaxSegmentSize.erased, SocketOption.tcpNoDelay.erased,
            SocketOption.tcpNotSentLowWatermark.erased, SocketOption.tcpQuickAck.erased,
            SocketOption.tcpUserTimeout.erased,
            // IPPROTO_IP
            SocketOption.ipAddMembership.erased, SocketOption.ipDropMembership.erased, SocketOption.ipFreeBind.erased,
            SocketOption.ipMulticastInterface.erased, SocketOption.ipMulticastLoop.erased,
            SocketOption.ipMulticastTimeToLive.erased, SocketOption.ipTypeOfService.erased,
            SocketOption.ipTimeToLive.erased,
            // IPPROTO_IPV6
            SocketOption.ipv6JoinGroup.erased, SocketOption.ipv6LeaveGroup.erased,
            SocketOption.ipv6MulticastHops.erased, SocketOption.ipv6MulticastLoop.erased,
            SocketOption.ipv6TrafficClass.erased, SocketOption.ipv6UnicastHops.erased, SocketOption.ipv6Only.erased,
        ]
    }
}
