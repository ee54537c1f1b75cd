import Sockit

#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// A copy of another process's socket descriptor, to read its options: `pidfd_open` and
    /// `pidfd_getfd`. Closing the copy leaves the process's socket open.
    ///
    /// - Throws: `ProcessError` when the process or descriptor does not exist or access is
    ///   refused; `SocketError` with `ENOTSOCK` when the descriptor is not a socket.
    public static func duplicate(fd: CInt, ofProcess pid: Int32) throws -> Socket {
        let handle = try ProcessHandle(pid: pid)
        let copy = try handle.duplicateDescriptor(fd)
        do {
            return try Socket(adopting: copy)
        } catch {
            Sys.close(copy)
            throw error
        }
    }
}
