#if os(Linux)
import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Whether this kernel lets the echo server use io_uring the way `URingEchoLoop` does, found out
/// once per process by doing it: a ring with `SINGLE_ISSUER | DEFER_TASKRUN`, a provided-buffer
/// ring, and a multishot receive on a socket pair that must deliver a byte and stay armed.
enum URingSupport {
    /// The setup flags every ring of the backend uses.
    static let setupFlags = UInt32(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL)

    /// Set in the environment (to anything), io_uring counts as refused: how the tests show the
    /// fallback to epoll on a kernel that has io_uring.
    static let refuseVariable = "SOCKIT_TEST_REFUSE_IO_URING"

    private static let verdict = Locked<String??>(nil)

    /// nil when io_uring is usable; else why not (for the debug log).
    static func unavailableReason() -> String? {
        verdict.withLock { cached in
            if let cached { return cached }
            let reason = probe()
            cached = .some(reason)
            return reason
        }
    }

    private static func probe() -> String? {
        if ServerSys.environmentVariable(refuseVariable) != nil {
            return "refused by \(refuseVariable) in the environment"
        }
        let ring = UnsafeMutablePointer<sockit_uring>.allocate(capacity: 1)
        defer { ring.deallocate() }
        let setup = ServerSys.uringInit(ring, entries: 8, completions: 16, flags: setupFlags)
        if setup != 0 {
            let errno = Errno(rawValue: setup)
            switch setup {
            case ENOSYS: return "io_uring_setup: \(errno): the kernel has no io_uring"
            case EPERM: return "io_uring_setup: \(errno): refused (seccomp, or kernel.io_uring_disabled)"
            case EINVAL: return "io_uring_setup: \(errno): no SINGLE_ISSUER/DEFER_TASKRUN (Linux 6.1+)"
            default: return "io_uring_setup: \(errno)"
            }
        }
        defer { ServerSys.uringExit(ring) }
        let buffers = ServerSys.uringSetupBuffers(ring, entries: 2, group: 1)
        if buffers != 0 { return "no provided-buffer rings (Linux 5.19+): \(Errno(rawValue: buffers))" }
        guard let (reader, writer) = ServerSys.socketPair() else { return "socketpair failed" }
        defer {
            ServerSys.closeConnection(reader)
            ServerSys.closeConnection(writer)
        }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        defer { storage.deallocate() }
        ServerSys.uringGiveBuffer(ring, storage, 32, id: 0)
        ServerSys.uringGiveBuffer(ring, storage + 32, 32, id: 1)
        ServerSys.uringPublishBuffers(ring)
        ServerSys.uringPrepareReceive(ServerSys.uringSQE(ring), reader, group: 1, 7)
        guard ServerSys.writeBytes(writer, [42]) else { return "write to a socket pair failed" }
        if case .failure(let errno) = ServerSys.uringSubmitAndWait(ring, 1) { return "io_uring_enter: \(errno)" }
        let (first, count) = ServerSys.uringReady(ring)
        guard count > 0 else { return "no completion for a multishot receive" }
        let cqe = ServerSys.uringCompletion(ring, first)
        ServerSys.uringAdvance(ring, count)
        if cqe.res < 0 { return "multishot receive (Linux 6.0+): \(Errno(rawValue: -cqe.res))" }
        if cqe.res != 1 || cqe.flags & UInt32(IORING_CQE_F_MORE) == 0 {
            return "a multishot receive did not stay armed (res \(cqe.res), flags \(cqe.flags))"
        }
        return nil
    }
}
#endif
