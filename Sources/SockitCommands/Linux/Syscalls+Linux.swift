import CSockit
import Sockit

#if canImport(Glibc)
import Glibc
#endif

// MARK: for SockitCommands

/// The syscall layer of SockitCommands (DESIGN.md, "Layers and seams"): the standard streams, the
/// environment and exit. Descriptor reads and writes use Sockit's `Sys.read`/`Sys.write`.
extension Sys {
    /// Writes every byte of `buffer` to `fd` (1, 2), looping over partial writes; stops at the
    /// first error or end (a closed pipe, a non-blocking descriptor that is full).
    static func writeAll(_ fd: CInt, _ buffer: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < buffer.count {
            let result = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            guard case .success(.processed(let written)) = result, written > 0 else { return }
            offset += written
        }
    }

    /// Appends `buffer` to C's buffered stdout (the buffer Swift's `print` fills).
    /// The corresponding C function is `fwrite`.
    static func writeBufferedStandardOutput(_ buffer: UnsafeRawBufferPointer) {
        _ = fwrite(buffer.baseAddress, 1, buffer.count, sockit_stdout())
    }

    /// Flushes every C output stream. The corresponding C function is `fflush(NULL)`.
    static func flushOutputStreams() {
        fflush(nil)
    }

    /// The value of the environment variable `name`, nil when unset.
    /// The corresponding C function is `getenv`.
    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Whether `fd` is a terminal. The corresponding C function is `isatty`.
    static func isTerminal(_ fd: CInt) -> Bool {
        isatty(fd) == 1
    }

    /// The width of the terminal `fd` refers to, in columns; nil when it is not a terminal or
    /// does not say. The corresponding C call is `ioctl(fd, TIOCGWINSZ)`.
    static func terminalColumns(_ fd: CInt) -> Int? {
        let columns = sockit_terminal_columns(fd)
        return columns > 0 ? Int(columns) : nil
    }

    /// The height of the terminal `fd` refers to, in rows; nil when it is not a terminal or does
    /// not say. The corresponding C call is `ioctl(fd, TIOCGWINSZ)`.
    static func terminalRows(_ fd: CInt) -> Int? {
        let rows = sockit_terminal_rows(fd)
        return rows > 0 ? Int(rows) : nil
    }

    /// Ends the process with `status`, flushing C's streams. The corresponding C function is `exit`.
    static func exit(_ status: Int32) -> Never {
        Glibc.exit(status)
    }
}
