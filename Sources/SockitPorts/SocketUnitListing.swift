/// One `.socket` unit as `systemctl list-sockets` lists it: what it listens on, its name, and
/// the units it starts.
public struct SocketUnitListing: Sendable, Hashable {
    /// `0.0.0.0:8080`, `[::]:22`, `/run/app.sock`, …
    public var listen: String
    /// `app.socket`.
    public var unit: String
    /// `app.service` (several for some sockets; none for an `Accept=yes` socket's template).
    public var activates: [String]

    /// A `.socket` unit `unit` listening on `listen` and starting `activates`.
    public init(listen: String, unit: String, activates: [String]) {
        self.listen = listen
        self.unit = unit
        self.activates = activates
    }

    /// Whether it listens on `port` of an IP address: `0.0.0.0:8080`, `[::]:8080`,
    /// `127.0.0.1:8080`, or a bare `8080`.
    public func listens(onPort port: UInt16) -> Bool {
        if listen == String(port) { return true }
        guard listen.hasSuffix(":\(port)"), let first = listen.first else { return false }
        return first == "[" || first == "*" || first.isNumber
    }

    /// The listings in the output of `systemctl list-sockets --all --no-legend --full`: lines of
    /// `LISTEN UNIT ACTIVATES`, where LISTEN may have a space in it (`kobject-uevent 1`) and the
    /// units a socket starts may be separated by commas or continue on lines of their own.
    public static func parse(_ text: String) -> [SocketUnitListing] {
        var listings: [SocketUnitListing] = []
        for line in text.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            if let index = words.firstIndex(where: { $0.hasSuffix(".socket") && $0.count > 7 }), index > 0 {
                let units = words[(index + 1)...].flatMap { $0.split(separator: ",") }.map(String.init)
                listings.append(
                    SocketUnitListing(
                        listen: words[..<index].joined(separator: " "), unit: words[index],
                        activates: units.filter(isUnitName)))
            } else if !listings.isEmpty, !words.isEmpty {
                let units = words.flatMap { $0.split(separator: ",") }.map(String.init)
                if units.allSatisfy(isUnitName) { listings[listings.count - 1].activates += units }
            }
        }
        return listings
    }

    private static func isUnitName(_ word: String) -> Bool {
        SystemdUnit.isUnitName(Substring(word))
    }
}
