#if os(Linux)
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSockit

/// `pthread_create` with default attributes; `onAnotherCPU`: started on a CPU of the caller's
/// affinity mask other than the caller's own, then given the whole mask
/// (`sockit_thread_create_elsewhere`: Linux would otherwise queue it behind its creator).
func createThread(
    _ thread: inout pthread_t, onAnotherCPU: Bool,
    _ start: @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?, _ argument: UnsafeMutableRawPointer
) -> CInt {
    onAnotherCPU ? sockit_thread_create_elsewhere(&thread, start, argument) : pthread_create(&thread, nil, start, argument)
}
#endif
