// swift-tools-version:6.2
import PackageDescription

// An echo server written on sockit's async API (AsyncTCPListener and AsyncTCPConnection, or
// AsyncUDPSocket), for Benchmarks/compare-echo.sh (ASYNC=1): what a program using the async API
// pays per request on each event-loop backend, beside `sockit echo` and the C references. Kept
// out of the root package, like Fuzz/, so `swift build`, `swift test` and the CLI are untouched.
//
// The root package is a path dependency. A path package's identity is its folder's name, which
// differs between clones, so it is read from the folder here.
let root = String(Context.packageDirectory.split(separator: "/").dropLast(2).last ?? "sockit").lowercased()

let package = Package(
    name: "sockit-async-echo",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "AsyncEcho",
            dependencies: [.product(name: "Sockit", package: root), .product(name: "SockitServer", package: root)],
            swiftSettings: [.swiftLanguageMode(.v6), .treatAllWarnings(as: .error)])
    ]
)
