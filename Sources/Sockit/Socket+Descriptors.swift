import CSockit

#if canImport(Glibc)
import Glibc
#endif

// Passing descriptors between processes over Unix sockets (SCM_RIGHTS), and the peer's
// credentials (SO_PEERCRED): what a hitless restart hands a listening socket over with.

/// The process at the other end of a Unix socket, as the kernel recorded it at `connect`
/// (or `socketpair`). The corresponding C type is `struct ucred`.
public struct PeerCredentials: Sendable, Hashable {
    /// The peer's process id (`pid`), as of `connect`; the process may have exited since.
    public var pid: Int32
    /// The peer's effective user id (`uid`).
    public var uid: UInt32
    /// The peer's effective group id (`gid`).
    public var gid: UInt32
}

extension Socket {
    /// The credentials of the peer of a connected Unix socket. The kernel fills them in; the
    /// peer cannot lie about them. The corresponding C option is `SO_PEERCRED`.
    public func peerCredentials() throws(SocketError) -> PeerCredentials {
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit fields (a GNU type the
        // Glibc module does not export).
        let bytes = try getRawOption(level: SOL_SOCKET, name: SO_PEERCRED, capacity: 12, cName: "SO_PEERCRED")
        guard bytes.count >= 12 else {
            throw SocketError(syscall: "getsockopt", errno: .invalidArgument, option: "SO_PEERCRED")
        }
        return bytes.withUnsafeBytes { raw in
            PeerCredentials(
                pid: raw.loadUnaligned(fromByteOffset: 0, as: Int32.self),
                uid: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self),
                gid: raw.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        }
    }

    /// Sends `bytes` (at least one byte: a stream needs something to carry the control data)
    /// with duplicates of `descriptors` attached. The descriptors stay open here; the receiver
    /// gets new numbers for the same open sockets. The corresponding C call is `sendmsg` with
    /// an `SCM_RIGHTS` control message.
    public func send(_ bytes: [UInt8], descriptors: [CInt]) throws(SocketError) {
        precondition(!bytes.isEmpty, "SCM_RIGHTS needs at least one byte of data")
        let result: Result<IOResult<Int>, Errno> = try withDescriptor("sendmsg") { fd throws(SocketError) in
            var payload = bytes
            let controlLength = descriptors.isEmpty ? 0 : sockit_cmsg_space(MemoryLayout<CInt>.size * descriptors.count)
            var control = [UInt8](repeating: 0, count: max(controlLength, 1))
            return payload.withUnsafeMutableBytes { payloadBuffer in
                control.withUnsafeMutableBytes { controlBuffer in
                    var vector = iovec(iov_base: payloadBuffer.baseAddress, iov_len: payloadBuffer.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        if !descriptors.isEmpty {
                            message.msg_control = controlBuffer.baseAddress
                            message.msg_controllen = controlLength
                            if let header = sockit_cmsg_firsthdr(&message) {
                                header.pointee.cmsg_level = SOL_SOCKET
                                header.pointee.cmsg_type = CInt(SOCKIT_SCM_RIGHTS)
                                header.pointee.cmsg_len = sockit_cmsg_len(MemoryLayout<CInt>.size * descriptors.count)
                                let data = UnsafeMutableRawPointer(sockit_cmsg_data(header))
                                for (index, descriptor) in descriptors.enumerated() {
                                    data.storeBytes(
                                        of: descriptor, toByteOffset: index * MemoryLayout<CInt>.size, as: CInt.self)
                                }
                            }
                        }
                        return Sys.sendmsg(fd, &message, 0)
                    }
                }
            }
        }
        let sent: Int
        switch result {
        case .success(.processed(let count)): sent = count
        case .success(.wouldBlock): throw SocketError(syscall: "sendmsg", errno: .wouldBlock, socketType: type)
        case .failure(let errno): throw SocketError(syscall: "sendmsg", errno: errno, socketType: type)
        }
        if sent < bytes.count {
            // The descriptors went with the first part; the rest is plain data.
            try sendAll(bytes[sent...])
        }
    }

    /// Receives up to `maxBytes` and any descriptors attached (with `MSG_CMSG_CLOEXEC`, so they
    /// are not inherited by children). The caller owns the descriptors: adopt them with
    /// `Socket(adopting:)` or close them. An empty `bytes` means end-of-file.
    /// The corresponding C call is `recvmsg`.
    public func receiveWithDescriptors(
        maxBytes: Int = 4096, maxDescriptors: Int = 16
    ) throws(SocketError) -> (
        bytes: [UInt8], descriptors: [CInt]
    ) {
        try withDescriptor("recvmsg") { fd throws(SocketError) in
            var payload = [UInt8](repeating: 0, count: maxBytes)
            let controlLength = sockit_cmsg_space(MemoryLayout<CInt>.size * maxDescriptors)
            var control = [UInt8](repeating: 0, count: controlLength)
            var descriptors: [CInt] = []
            var truncated = false
            let result = payload.withUnsafeMutableBytes { payloadBuffer in
                control.withUnsafeMutableBytes { controlBuffer in
                    var vector = iovec(iov_base: payloadBuffer.baseAddress, iov_len: payloadBuffer.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer -> Result<IOResult<Int>, Errno> in
                        var message = msghdr()
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = controlBuffer.baseAddress
                        message.msg_controllen = controlLength
                        let received = Sys.recvmsg(fd, &message, CInt(SOCKIT_MSG_CMSG_CLOEXEC))
                        guard case .success = received else { return received }
                        truncated = message.msg_flags & CInt(SOCKIT_MSG_CTRUNC) != 0
                        var header = sockit_cmsg_firsthdr(&message)
                        while let current = header {
                            if current.pointee.cmsg_level == SOL_SOCKET
                                && current.pointee.cmsg_type == CInt(SOCKIT_SCM_RIGHTS)
                            {
                                let dataLength = Int(current.pointee.cmsg_len) - sockit_cmsg_len(0)
                                let data = UnsafeRawPointer(sockit_cmsg_data(current))
                                for index in 0..<(dataLength / MemoryLayout<CInt>.size) {
                                    descriptors.append(
                                        data.loadUnaligned(
                                            fromByteOffset: index * MemoryLayout<CInt>.size, as: CInt.self))
                                }
                            }
                            header = sockit_cmsg_nxthdr(&message, current)
                        }
                        return received
                    }
                }
            }
            let count: Int
            switch result {
            case .success(.processed(let received)): count = received
            case .success(.wouldBlock): throw SocketError(syscall: "recvmsg", errno: .wouldBlock, socketType: type)
            case .failure(let errno): throw SocketError(syscall: "recvmsg", errno: errno, socketType: type)
            }
            if truncated {
                for descriptor in descriptors { Sys.close(descriptor) }
                throw SocketError(
                    syscall: "recvmsg", errno: .messageTooLong,
                    explanation: ["more descriptors arrived than the \(maxDescriptors) expected; all were closed"])
            }
            payload.removeSubrange(count...)
            return (payload, descriptors)
        }
    }
}
