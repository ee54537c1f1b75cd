import SockitPorts
import Testing

/// `systemctl list-sockets --all --no-legend --full`, parsed: what each `.socket` unit listens on
/// and what it starts.
@Suite("systemctl list-sockets output")
struct SocketUnitListingTests {
    @Test func parsesListenAddressesUnitsAndTheServicesTheyStart() {
        let text = """
            /run/dbus/system_bus_socket   dbus.socket                    dbus.service
            [::]:22                       sshd.socket                    sshd.service
            0.0.0.0:8080                  app.socket                     app.service
            kobject-uevent 1              systemd-udevd-kernel.socket    systemd-udevd.service
            127.0.0.1:9000                multi.socket                   a.service, b.service
            [::1]:9001                    lines.socket                   c.service
                                                                         d.service
            9002                          bare.socket

            """
        let listings = SocketUnitListing.parse(text)
        #expect(
            listings.map(\.unit) == [
                "dbus.socket", "sshd.socket", "app.socket", "systemd-udevd-kernel.socket", "multi.socket",
                "lines.socket", "bare.socket",
            ])
        #expect(listings[3].listen == "kobject-uevent 1")
        #expect(listings[4].activates == ["a.service", "b.service"])
        #expect(listings[5].activates == ["c.service", "d.service"])
        #expect(listings[6].activates == [])
        #expect(listings.filter { $0.listens(onPort: 8080) }.map(\.unit) == ["app.socket"])
        #expect(listings.filter { $0.listens(onPort: 22) }.map(\.unit) == ["sshd.socket"])
        #expect(listings.filter { $0.listens(onPort: 9001) }.map(\.unit) == ["lines.socket"])
        #expect(listings.filter { $0.listens(onPort: 9002) }.map(\.unit) == ["bare.socket"])
        #expect(listings.filter { $0.listens(onPort: 1) }.isEmpty)
        #expect(listings.filter { $0.listens(onPort: 80) }.isEmpty)
    }
}
