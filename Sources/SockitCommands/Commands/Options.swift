import ArgumentParser
import CSockit
import Sockit
import SockitPorts

/// `sockit options`: every readable option of a fresh socket, with its level, C name and value.
struct Options: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "options",
        abstract: "List every readable option of a fresh socket: level, C name, value.",
        discussion: """
            Opens a socket of the chosen kind, reads every option sockit knows with getsockopt, \
            and prints the effective values: what the kernel really uses, not what was asked \
            for. Sizes are in bytes, times in seconds. The NOTE column says where the kernel \
            adjusts a value (SO_RCVBUF is doubled, TCP_MAXSEG is negotiated, ...).

            With --pid and --fd it reads a live socket of another process instead, copied with \
            pidfd_getfd (Linux 5.6): that needs ptrace access to the process (the same user with \
            kernel.yama.ptrace_scope 0, or root). The copy is closed after; the socket is untouched.

            --set NAME=VALUE (repeatable) sets options first, through the same typed keys as \
            the library, and prints what the kernel then reports for each: with --pid and --fd \
            on the live socket itself (the copy shares it), so keep-alive or TCP_USER_TIMEOUT \
            can be turned on for a running connection without a restart. NAME is the C name; \
            VALUE is 0 or 1 for a flag, a number for a size or count, seconds for a time (30, \
            0.5, 500ms; none for SO_LINGER and the timeouts). Every --set is checked before \
            any is set: an unknown name, a read-only option or a value of the wrong type sets \
            nothing.

            Examples:
              sockit options                 TCP over IPv4 (the default)
              sockit options --udp6          UDP over IPv6
              sockit options --tcp --json    {"socket":..., "options":[...]}
              sockit options --pid 4242 --fd 3
              sockit options --pid 4242 --fd 7 --set SO_KEEPALIVE=1 --set TCP_KEEPIDLE=30
              sockit options --set SO_RCVBUF=100000      what the kernel makes of it
            """
    )

    enum Kind: String, EnumerableFlag {
        case tcp, udp, tcp6, udp6, unix

        static func help(for value: Kind) -> ArgumentHelp? {
            switch value {
            case .tcp: return "A TCP socket over IPv4 (default)."
            case .udp: return "A UDP socket over IPv4."
            case .tcp6: return "A TCP socket over IPv6."
            case .udp6: return "A UDP socket over IPv6."
            case .unix: return "A Unix stream socket."
            }
        }

        var domain: SocketDomain {
            switch self {
            case .tcp, .udp: return .ipv4
            case .tcp6, .udp6: return .ipv6
            case .unix: return .unix
            }
        }

        var type: SocketType {
            switch self {
            case .udp, .udp6: return .datagram
            default: return .stream
            }
        }
    }

    @Flag(help: "The kind of socket to open (default: --tcp).")
    var kind: Kind?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Read a live socket of this process instead (with --fd).", valueName: "PID"))
    var pid: Int32?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("The descriptor number of that socket in the process (ls -l /proc/PID/fd).", valueName: "FD")
    )
    var fd: Int32?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set an option first (repeatable): SO_KEEPALIVE=1, TCP_KEEPIDLE=30.", valueName: "NAME=VALUE"))
    var assignments: [String] = []

    @OptionGroup var output: OutputOptions

    func validate() throws {
        for assignment in assignments {
            do {
                _ = try SocketOptionAssignment(assignment)
            } catch {
                throw ValidationError(
                    ([error.summary] + error.explanation).joined(separator: "; ") + "; nothing was set")
            }
        }
        if (pid == nil) != (fd == nil) {
            throw ValidationError("--pid and --fd go together: sockit options --pid PID --fd FD")
        }
        if let pid, pid < 1 { throw ValidationError("--pid takes a process id of 1 or more, not \(pid)") }
        if let fd, fd < 0 { throw ValidationError("--fd takes a descriptor number of 0 or more, not \(fd)") }
        if pid != nil && kind != nil {
            throw ValidationError("--pid reads the socket as it is: leave out --\(kind!.rawValue)")
        }
    }

    func run() async throws {
        let kind = self.kind ?? .tcp
        let socket: Socket
        var description: JSON = .string(kind.rawValue)
        if let pid, let fd {
            do {
                socket = try Socket.duplicate(fd: fd, ofProcess: pid)
            } catch let error as SocketError where error.errno == .notSocket {
                throw CommandFailure.error(
                    "descriptor \(fd) of pid \(pid) is not a socket (ls -l /proc/\(pid)/fd/\(fd))")
            }
            description = .object([
                ("pid", .int(Int(pid))), ("fd", .int(Int(fd))), ("domain", .string(socket.domain.description)),
                ("type", .string(socket.type.description)),
                ("local", (try? socket.localAddress()).map { .string("\($0)") } ?? .null),
                ("remote", (try? socket.remoteAddress()).map { .string("\($0)") } ?? .null),
            ])
            if !output.json {
                let local = (try? socket.localAddress()).map { " on \($0)" } ?? ""
                print(Terminal.dim("pid \(pid) fd \(fd): \(socket.domain) \(socket.type) socket\(local)"))
            }
        } else {
            socket = try Socket(kind.domain, kind.type)
        }
        // Checked in validate(): each parses, so nothing is set unless every one can be.
        let parsed = assignments.compactMap { try? SocketOptionAssignment($0) }
        var applied: [SocketOptionAssignment] = []
        for assignment in parsed {
            do {
                try assignment.apply(to: socket)
                applied.append(assignment)
            } catch {
                let done = applied.map { "\($0.option.cName)=\($0.value)" }
                throw CommandFailure.error(
                    "cannot set \(assignment.option.cName) to \(assignment.value): \(error.summary)"
                        + (done.isEmpty ? "; nothing was set" : "; set before it: \(done.joined(separator: ", "))"),
                    remedies: error.remedies)
            }
        }
        let listing = OptionListing.read(socket)
        if output.json {
            listing.json(socket: description, applied: applied).print()
        } else if !applied.isEmpty {
            // What was asked and what the kernel now reports: the effective value.
            var table = Table(["NAME", "SET", "NOW", "NOTE"])
            table.wrapping = [3]
            for assignment in applied {
                let entry = listing.entries.first { $0.option.cName == assignment.option.cName }
                table.append([
                    assignment.option.cName, assignment.value, entry?.text ?? "?", assignment.option.note ?? "",
                ])
            }
            print(table.render(width: Terminal.outputWidth))
        } else {
            let width = Terminal.outputWidth
            print(listing.table(width: width))
            if !listing.unsupported.isEmpty {
                let line = "not supported on this socket: " + listing.unsupported.map(\.cName).joined(separator: ", ")
                let lines = width.map { Table.wrap(line, to: $0 - 2) } ?? [line]
                print(Terminal.dim(lines.joined(separator: "\n  ")))
            }
        }
    }
}

/// The options of one socket, read once: what `sockit options` prints as a table or JSON.
struct OptionListing {
    struct Entry {
        var option: AnySocketOption
        var value: SocketOptionValue
        /// The value as the table shows it (`131072 bytes`, `SOCK_STREAM`).
        var text: String
    }

    var entries: [Entry] = []
    /// Options the kernel refused to report for this socket (a TCP option on a UDP socket).
    var unsupported: [AnySocketOption] = []

    static func read(_ socket: Socket) -> OptionListing {
        var listing = OptionListing()
        for option in SocketOptionCatalog.readable {
            do {
                let (value, text) = try option.valueAndText(of: socket)
                listing.entries.append(Entry(option: option, value: value, text: text))
            } catch {
                listing.unsupported.append(option)
            }
        }
        return listing
    }

    /// The table; with a `width`, fitted to it: a struct's fields and long notes continue on the
    /// next lines.
    func table(width: Int? = nil) -> String {
        var table = Table(["LEVEL", "NAME", "VALUE", "NOTE"])
        table.wrapping = [2, 3]
        for entry in entries {
            table.append([entry.option.levelName, entry.option.cName, entry.text, entry.option.note ?? ""])
        }
        return table.render(width: width)
    }

    func json(socket: JSON, applied: [SocketOptionAssignment] = []) -> JSON {
        .object([
            ("socket", socket),
            (
                "set",
                .array(
                    applied.map { assignment in
                        .object([
                            ("name", .string(assignment.option.cName)), ("asked", .string(assignment.value)),
                            (
                                "value",
                                entries.first { $0.option.cName == assignment.option.cName }.map { Self.json($0.value) }
                                    ?? .null
                            ),
                        ])
                    })
            ),
            (
                "options",
                .array(
                    entries.map { entry in
                        var members: [(String, JSON)] = [
                            ("level", .string(entry.option.levelName)),
                            ("name", .string(entry.option.cName)),
                            ("value", Self.json(entry.value)),
                            ("c_type", .string(entry.option.cType)),
                            ("access", .string(entry.option.access.rawValue)),
                        ]
                        if let note = entry.option.note { members.append(("note", .string(note))) }
                        return .object(members)
                    })
            ),
            ("unsupported", .array(unsupported.map { .string($0.cName) })),
        ])
    }

    static func json(_ value: SocketOptionValue) -> JSON {
        switch value {
        case .bool(let value): return .bool(value)
        case .integer(let value): return .int(value)
        case .seconds(let value): return .double(value)
        case .string(let value): return .string(value)
        case .none: return .null
        case .fields(let fields): return .object(fields.map { ($0.name, json($0.value)) })
        }
    }
}
