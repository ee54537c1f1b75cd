import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Reads a `/proc` directory with `getdents64` into one reusable buffer: per directory an
/// `openat`, usually one `getdents64`, and a `close` (`opendir`/`readdir` add an `fstat`, an
/// `fcntl` and a last empty `getdents64`). Scanning `/proc/PID/fd` of every process is most of
/// what `sockit who` costs on a busy machine.
struct ProcDirectory: ~Copyable {
    private let buffer: UnsafeMutableRawBufferPointer

    init(capacity: Int = 32 * 1024) {
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 8)
    }

    deinit { buffer.deallocate() }

    /// Calls `body` with each entry's name (NUL-terminated, valid only during the call) and
    /// type (`DT_*`), "." and ".." left out, until `body` returns false. Reads the open directory
    /// `fd`, which the caller closes. Returns why the directory could not be read (`EIO` for
    /// a malformed entry), or nil.
    @discardableResult
    func forEach(_ fd: CInt, _ body: (UnsafePointer<CChar>, UInt8) -> Bool) -> Errno? {
        // struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name.
        let nameOffset = 19
        while true {
            let count: Int
            switch PortSys.directoryEntries(fd, buffer.baseAddress!, buffer.count) {
            case .success(let read): count = read
            case .failure(let error): return error
            }
            if count == 0 { return nil }
            var offset = 0
            while offset + nameOffset < count {
                let length = Int(buffer.load(fromByteOffset: offset + 16, as: UInt16.self))
                guard length > nameOffset, offset + length <= count else { return Errno(rawValue: EIO) }  // malformed
                let type = buffer[offset + 18]
                let name = (buffer.baseAddress! + offset + nameOffset).assumingMemoryBound(to: CChar.self)
                let isDot = name[0] == 0x2e && (name[1] == 0 || (name[1] == 0x2e && name[2] == 0))
                if !isDot && !body(name, type) { return nil }
                offset += length
            }
            // procfs fills the buffer as far as entries fit: a read that left room for another
            // entry was the last one, and the empty read that would confirm it is skipped.
            if count + 512 <= buffer.count { return nil }
        }
    }
}
