import CSockit

#if canImport(Glibc)
import Glibc
#endif

// Sending always passes MSG_NOSIGNAL: a write to a connection the peer has closed returns EPIPE
// instead of raising SIGPIPE, which would kill the process by default.

extension Socket {
    /// Sends bytes, returning how many the kernel took (possibly fewer than given).
    /// The corresponding C function is `send` with `MSG_NOSIGNAL`.
    public func send(_ buffer: UnsafeRawBufferPointer, flags: CInt = 0) throws(SocketError) -> Int {
        switch try sendNonBlocking(buffer, flags: flags) {
        case .processed(let count): return count
        case .wouldBlock: throw SocketError(syscall: "send", errno: .wouldBlock)
        }
    }

    /// Sends bytes on a non-blocking socket: `.wouldBlock` when the send buffer is full.
    public func sendNonBlocking(_ buffer: UnsafeRawBufferPointer, flags: CInt = 0) throws(SocketError) -> IOResult<Int>
    {
        try withDescriptor("send") { fd throws(SocketError) in
            try Sys.send(fd, buffer.baseAddress, buffer.count, flags)
                .orThrow { SocketError(syscall: "send", errno: $0, socketType: type) }
        }
    }

    /// Sends every byte, looping over partial sends (blocking sockets).
    public func sendAll(_ bytes: some Sequence<UInt8>) throws(SocketError) {
        let array = Array(bytes)
        var offset = 0
        while offset < array.count {
            let result = array.withUnsafeBytes { raw in
                Result { () throws(SocketError) in try send(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            offset += try result.get()
        }
    }

    /// Receives into `buffer`, returning the count; 0 means the peer closed (end-of-file).
    /// The corresponding C function is `recv`.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, flags: CInt = 0) throws(SocketError) -> Int {
        switch try receiveNonBlocking(into: buffer, flags: flags) {
        case .processed(let count): return count
        case .wouldBlock:
            throw SocketError(
                syscall: "recv", errno: .wouldBlock, explanation: ["SO_RCVTIMEO expired, or the socket is non-blocking"]
            )
        }
    }

    /// Receives on a non-blocking socket: `.wouldBlock` when nothing is there yet.
    public func receiveNonBlocking(
        into buffer: UnsafeMutableRawBufferPointer, flags: CInt = 0
    ) throws(SocketError)
        -> IOResult<Int>
    {
        try withDescriptor("recv") { fd throws(SocketError) in
            try Sys.recv(fd, buffer.baseAddress, buffer.count, flags)
                .orThrow { SocketError(syscall: "recv", errno: $0, socketType: type) }
        }
    }

    /// Receives up to `maxBytes`; an empty array means end-of-file.
    public func receive(maxBytes: Int = 65536) throws(SocketError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: maxBytes)
        let result = bytes.withUnsafeMutableBytes { raw in Result { () throws(SocketError) in try receive(into: raw) } }
        let count = try result.get()
        bytes.removeSubrange(count...)
        return bytes
    }

    /// Receives until end-of-file or `limit` bytes.
    public func receiveAll(limit: Int = .max) throws(SocketError) -> [UInt8] {
        var result: [UInt8] = []
        while result.count < limit {
            let chunk = try receive(maxBytes: min(65536, limit - result.count))
            if chunk.isEmpty { break }
            result += chunk
        }
        return result
    }

    /// Sends a datagram to `address`. The corresponding C function is `sendto` with `MSG_NOSIGNAL`.
    ///
    /// - Throws: `SocketError`; `EACCES` to a broadcast address without `SocketOption.broadcast`
    ///   says so.
    @discardableResult
    public func send(
        _ bytes: some Collection<UInt8>, to address: SocketAddress, flags: CInt = 0
    ) throws(SocketError) -> Int {
        let array = Array(bytes)
        return try withDescriptor("sendto") { fd throws(SocketError) in
            let result = array.withUnsafeBytes { raw in
                address.withSockAddr { pointer, length in
                    Sys.sendto(fd, raw.baseAddress, raw.count, flags, pointer, length)
                }
            }
            switch result {
            case .success(.processed(let count)): return count
            case .success(.wouldBlock):
                throw SocketError(syscall: "sendto", errno: .wouldBlock, address: address, socketType: type)
            case .failure(let errno):
                throw SocketError(syscall: "sendto", errno: errno, address: address, socketType: type)
            }
        }
    }

    /// Waits up to `timeout` (nil: for ever) for a datagram, and receives it with its sender;
    /// nil when none arrived in time. A datagram larger than `maxBytes` is truncated.
    /// The corresponding C functions are `poll` and `recvfrom`.
    public func receiveFrom(
        maxBytes: Int = 65536, timeout: Duration?
    ) throws(SocketError)
        -> (bytes: [UInt8], sender: SocketAddress?)?
    {
        guard try poll(for: Int16(POLLIN), timeout: timeout) else { return nil }
        let (bytes, sender) = try receiveFrom(maxBytes: maxBytes)
        return (bytes, sender)
    }

    /// Receives one datagram and its sender (nil for an unnamed Unix peer). A datagram larger
    /// than `maxBytes` is truncated. The corresponding C function is `recvfrom`.
    public func receiveFrom(maxBytes: Int = 65536, flags: CInt = 0) throws(SocketError) -> ([UInt8], SocketAddress?) {
        try withDescriptor("recvfrom") { fd throws(SocketError) in
            var bytes = [UInt8](repeating: 0, count: maxBytes)
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let result = bytes.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &storage) { pointer in
                    pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                        Sys.recvfrom(fd, raw.baseAddress, raw.count, flags, address, &length)
                    }
                }
            }
            switch result {
            case .success(.wouldBlock):
                throw SocketError(syscall: "recvfrom", errno: .wouldBlock, socketType: type)
            case .success(.processed(let count)):
                bytes.removeSubrange(count...)
                return (bytes, length > 0 ? SocketAddress(storage: storage, length: length) : nil)
            case .failure(let errno):
                throw SocketError(syscall: "recvfrom", errno: errno, socketType: type)
            }
        }
    }
}
