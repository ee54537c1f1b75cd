import ArgumentParser
import Sockit
import SockitPorts

/// A port, or an address with a port: `8080`, `127.0.0.1:8080`, `[::1]:8080`.
struct PortArgument: ExpressibleByArgument, Equatable, Sendable {
    var port: UInt16
    /// The address, when one was given (the bind verdict is then for it).
    var address: SocketAddress?

    init?(argument: String) {
        guard let parsed = try? Self.parse(argument) else { return nil }
        self = parsed
    }

    private init(port: UInt16, address: SocketAddress?) {
        self.port = port
        self.address = address
    }

    /// Parses, with a message that says what is wrong.
    static func parse(_ text: String) throws -> PortArgument {
        if let number = Int(text) {
            guard (1...65535).contains(number) else {
                throw ValidationError("invalid port \(text): a port is a number from 1 to 65535")
            }
            return PortArgument(port: UInt16(number), address: nil)
        }
        if text.allSatisfy({ $0.isNumber || $0 == "-" || $0 == "+" }) || !text.contains(":") {
            throw ValidationError(
                "invalid port \"\(text)\": give a number from 1 to 65535, or an address such as 127.0.0.1:8080")
        }
        let address: SocketAddress
        do {
            address = try SocketAddress(text)
        } catch {
            throw ValidationError(error.description)
        }
        guard let port = address.port, port != 0 else {
            throw ValidationError("invalid address \"\(text)\": it needs a port from 1 to 65535")
        }
        return PortArgument(port: port, address: address)
    }

    /// The address a bind verdict is for: the one given, else every IPv4 address (`0.0.0.0:PORT`,
    /// what most servers bind, and the strictest test).
    var verdictAddress: SocketAddress { address ?? .ipv4(.any(port: port)) }
}

/// `--tcp` / `--udp` for the port commands.
enum TransportFlag: String, EnumerableFlag {
    case tcp, udp

    static func help(for value: TransportFlag) -> ArgumentHelp? {
        switch value {
        case .tcp: return "TCP sockets only."
        case .udp: return "UDP sockets only."
        }
    }

    var transport: TransportProtocol { self == .tcp ? .tcp : .udp }
}

extension Optional where Wrapped == TransportProtocol {
    /// The transports to look at: the one asked for, else both.
    var transports: TransportSet { map { [$0] } ?? [.tcp, .udp] }

    /// The transport a bind verdict is for: the one asked for, else UDP when only UDP sockets
    /// hold the port in `report`, else TCP.
    func verdictTransport(for report: PortReport) -> TransportProtocol {
        report.verdictTransport(within: transports)
    }
}
