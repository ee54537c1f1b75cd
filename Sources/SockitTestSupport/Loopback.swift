import Sockit

// Loopback sockets for tests: clients with timeouts, payloads, a free port.

/// A blocking client socket with a receive timeout, so that no read in a test waits forever.
public func connectClient(_ address: SocketAddress, timeout: Duration = .seconds(10)) throws(SocketError) -> Socket {
    let socket = try Socket(for: address, .stream)
    try socket.connect(to: address, timeout: timeout)
    try socket.setOption(.receiveTimeout, timeout)
    try socket.setOption(.sendTimeout, timeout)
    return socket
}

/// Receives exactly `count` bytes (or fewer at end-of-file).
public func receiveExactly(_ socket: Socket, _ count: Int) throws(SocketError) -> [UInt8] {
    var bytes: [UInt8] = []
    while bytes.count < count {
        let chunk = try socket.receive(maxBytes: min(65536, count - bytes.count))
        if chunk.isEmpty { break }
        bytes += chunk
    }
    return bytes
}

/// A deterministic pseudo-random payload with every byte value.
public func payload(_ count: Int, seed: UInt64 = 42) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

/// An ephemeral port free right now (bound on port 0 and released).
public func freePort() throws -> UInt16 {
    let socket = try Socket(.ipv4, .stream)
    try socket.bind(to: .ipv4(.loopback(port: 0)))
    let port = try socket.localAddress().port!
    try socket.close()
    return port
}
