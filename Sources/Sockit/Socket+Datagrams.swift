import CSockit

#if canImport(Glibc)
import Glibc
#endif

// Batches of datagrams: one `recvmmsg` or `sendmmsg` for many datagrams, each with its own
// address (a reply goes to its datagram's sender) and its own truncation flag.

extension Socket {
    /// Receives up to `maxCount` datagrams in one call, each with its sender and whether it was
    /// truncated to `maxBytes`. On a blocking socket it waits for the first one only (up to
    /// `SO_RCVTIMEO`); the others are those already queued. The corresponding C function is
    /// `recvmmsg`, with `MSG_WAITFORONE`.
    ///
    /// - Parameters:
    ///   - maxCount: the most datagrams to return, 1 to 1,024 (the kernel's `UIO_MAXIOV`, beyond
    ///     which `recvmmsg` takes no more in one call).
    ///   - maxBytes: the room for each datagram, up to 4 MiB; a larger one is cut to it and marked
    ///     `truncated` (65,536 holds any UDP datagram).
    ///   - flags: `MSG_DONTWAIT` for one call that does not wait, and other `recvmmsg` flags.
    /// - Returns: at least one datagram, in the order they arrived.
    /// - Throws: `SocketError`; `EAGAIN` (`Errno.wouldBlock`) when nothing is queued on a
    ///   non-blocking socket, or when `SO_RCVTIMEO` expired.
    public func receiveDatagrams(
        maxCount: Int = 32, maxBytes: Int = 65536, flags: CInt = 0
    ) throws(SocketError) -> [Datagram] {
        // Bounded, so that count * room cannot overflow and one call cannot ask for more
        // than the kernel takes.
        let count = min(max(1, maxCount), 1024)
        let room = min(max(0, maxBytes), 4 << 20)
        return try withDescriptor("recvmmsg") { fd throws(SocketError) in
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * room), alignment: 16)
            let messages = UnsafeMutablePointer<sockit_mmsghdr>.allocate(capacity: count)
            let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: count)
            let addresses = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: count)
            defer {
                buffer.deallocate()
                messages.deallocate()
                vectors.deallocate()
                addresses.deallocate()
            }
            addresses.initialize(repeating: sockaddr_storage(), count: count)
            for index in 0..<count {
                vectors[index] = iovec(iov_base: buffer + index * room, iov_len: room)
                var header = msghdr()
                header.msg_name = UnsafeMutableRawPointer(addresses + index)
                header.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                header.msg_iov = vectors + index
                header.msg_iovlen = 1
                messages[index] = sockit_mmsghdr(msg_hdr: header, msg_len: 0)
            }
            let received: Int
            // Without MSG_WAITFORONE a blocking recvmmsg waits until all `count` have come.
            switch Sys.recvmmsg(fd, messages, count, flags | CInt(SOCKIT_MSG_WAITFORONE)) {
            case .success(.processed(let number)): received = number
            case .success(.wouldBlock): throw SocketError(syscall: "recvmmsg", errno: .wouldBlock, socketType: type)
            case .failure(let errno): throw SocketError(syscall: "recvmmsg", errno: errno, socketType: type)
            }
            return (0..<received).map { index in
                let header = messages[index].msg_hdr
                let length = min(Int(messages[index].msg_len), room)
                let start = UnsafeRawPointer(buffer + index * room)
                let bytes = [UInt8](UnsafeRawBufferPointer(start: start, count: length))
                let sender =
                    header.msg_namelen > 0
                    ? SocketAddress(storage: addresses[index], length: header.msg_namelen) : nil
                return Datagram(bytes, address: sender, truncated: header.msg_flags & CInt(SOCKIT_MSG_TRUNC) != 0)
            }
        }
    }

    /// Sends datagrams in one call, each to its own `address`, and returns how many were sent
    /// from the start of `datagrams`: fewer than all when the send buffer filled (non-blocking)
    /// or when the next one failed (send the rest again to see its error). The corresponding C
    /// function is `sendmmsg` with `MSG_NOSIGNAL`.
    ///
    /// - Parameters:
    ///   - datagrams: what to send; on a connected socket an `address` may be nil.
    ///   - flags: `MSG_DONTWAIT` for one call that does not wait, and other `sendmmsg` flags.
    /// - Returns: the number sent, at least 1 unless `datagrams` is empty.
    /// - Throws: `SocketError` when the first datagram could not be sent: `EAGAIN`
    ///   (`Errno.wouldBlock`) when the send buffer is full on a non-blocking socket, `EMSGSIZE`
    ///   for one too large, `EACCES` for a broadcast without `SO_BROADCAST`, …
    public func sendDatagrams(_ datagrams: [Datagram], flags: CInt = 0) throws(SocketError) -> Int {
        guard !datagrams.isEmpty else { return 0 }
        let count = datagrams.count
        return try withDescriptor("sendmmsg") { fd throws(SocketError) in
            let messages = UnsafeMutablePointer<sockit_mmsghdr>.allocate(capacity: count)
            let vectors = UnsafeMutablePointer<iovec>.allocate(capacity: count)
            let addresses = UnsafeMutablePointer<sockaddr_storage>.allocate(capacity: count)
            defer {
                messages.deallocate()
                vectors.deallocate()
                addresses.deallocate()
            }
            addresses.initialize(repeating: sockaddr_storage(), count: count)
            // The payloads, copied once into one buffer that outlives the call.
            let total = datagrams.reduce(0) { $0 + $1.bytes.count }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, total), alignment: 16)
            defer { buffer.deallocate() }
            var offset = 0
            for (index, datagram) in datagrams.enumerated() {
                datagram.bytes.withUnsafeBytes { raw in
                    if let base = raw.baseAddress { (buffer + offset).copyMemory(from: base, byteCount: raw.count) }
                }
                vectors[index] = iovec(iov_base: buffer + offset, iov_len: datagram.bytes.count)
                offset += datagram.bytes.count
                var header = msghdr()
                if let address = datagram.address {
                    header.msg_name = UnsafeMutableRawPointer(addresses + index)
                    header.msg_namelen = address.fill(&addresses[index])
                }
                header.msg_iov = vectors + index
                header.msg_iovlen = 1
                messages[index] = sockit_mmsghdr(msg_hdr: header, msg_len: 0)
            }
            switch Sys.sendmmsg(fd, messages, count, flags) {
            case .success(.processed(let sent)): return sent
            case .success(.wouldBlock):
                throw SocketError(
                    syscall: "sendmmsg", errno: .wouldBlock, address: datagrams[0].address, socketType: type)
            case .failure(let errno):
                throw SocketError(syscall: "sendmmsg", errno: errno, address: datagrams[0].address, socketType: type)
            }
        }
    }
}
