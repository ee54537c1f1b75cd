import Sockit

/// How connections reach the loops (`TCPEchoServer` says why the default; README has the measurements).
public enum AcceptStrategy: String, Sendable, CaseIterable {
    /// One listener, accepted on the first loop, connections handed out round robin.
    case oneListenerHandsOut = "handout"
    /// One `SO_REUSEPORT` listener per loop; the kernel spreads connections by hash.
    case listenerPerLoop = "reuseport"
}
