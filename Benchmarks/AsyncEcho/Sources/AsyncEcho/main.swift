// AsyncEcho ADDRESS [epoll|io_uring] [tcp|udp] [pool|loop] [LOOPS]
//
// Echoes on ADDRESS (e.g. 127.0.0.1:0) the way a program using sockit's async API would: a task
// per TCP connection that reads what is there and writes it back, or, for UDP, one task that
// receives a batch of datagrams and sends each back to its sender. The event loops (LOOPS, 1 by
// default) wait with the backend named (default epoll; io_uring falls back to epoll where
// refused, and says so). The tasks run on Swift's cooperative pool (pool, the default), or on
// the event loop of their socket (loop: `Task(executorPreference: connection.eventLoop)`). The
// pool has a thread per core of the machine, whatever CPUs the process may use.
// Prints "listening on ADDRESS backend=..." once it listens; runs until killed.
import Sockit
import SockitServer

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    print("AsyncEcho: \(message)")
    print("usage: AsyncEcho ADDRESS [epoll|io_uring] [tcp|udp] [pool|loop] [LOOPS]")
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let first = arguments.first else { fail("no address") }
let address: SocketAddress
do { address = try SocketAddress(first) } catch { fail("\(error)") }
let backendName = arguments.count > 1 ? arguments[1] : "epoll"
guard let backend = EventLoopBackend(rawValue: backendName) else { fail("no backend \(backendName)") }
let udp = arguments.count > 2 && arguments[2] == "udp"
let onLoop = arguments.count > 3 && arguments[3] == "loop"
let loopCount = arguments.count > 4 ? Int(arguments[4]) ?? 1 : 1

let group = try EventLoopGroup(count: loopCount, backend: backend)
let fallback = group.fallbackReason.map { " (io_uring refused: \($0))" } ?? ""
let tasks = onLoop ? "loop" : "pool"

if udp {
    let socket = try AsyncUDPSocket(bindingTo: address, group: group)
    print("listening on \(socket.localAddress) backend=\(group.backend.rawValue) tasks=\(tasks)\(fallback)")
    fflush(nil)  // every stream: the line must reach a pipe now
    let echo: @Sendable () async throws -> Void = {
        while true {
            let datagrams = try await socket.receive(maxCount: 32)
            try await socket.send(datagrams)
        }
    }
    if onLoop {
        try await Task(executorPreference: socket.eventLoop) { try await echo() }.value
    } else {
        try await Task.detached { try await echo() }.value
    }
} else {
    let listener = try AsyncTCPListener(ListenerConfiguration(address: address), group: group)
    print("listening on \(listener.localAddress) backend=\(group.backend.rawValue) tasks=\(tasks)\(fallback)")
    fflush(nil)  // every stream: the line must reach a pipe now
    for try await connection in listener {
        let serve: @Sendable () async -> Void = {
            do {
                while case let bytes = try await connection.read(), !bytes.isEmpty {
                    try await connection.write(bytes)
                }
            } catch {}
            connection.close()
        }
        if onLoop {
            Task(executorPreference: connection.eventLoop) { await serve() }
        } else {
            Task.detached { await serve() }
        }
    }
}
