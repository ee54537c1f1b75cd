// swift-tools-version:6.2
import PackageDescription

/// Settings shared by every target of ours: Swift 6 language mode and no warnings.
/// `treatAllWarnings(as: .error)` applies to our targets only, never to dependencies.
let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "sockit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sockit", targets: ["Sockit"]),
        .library(name: "SockitServer", targets: ["SockitServer"]),
        .executable(name: "sockit", targets: ["SockitCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2")
    ],
    targets: [
        .target(name: "CSockit"),
        .target(name: "Sockit", dependencies: ["CSockit"], swiftSettings: strict),
        .target(name: "SockitServer", dependencies: ["Sockit"], swiftSettings: strict),
        .executableTarget(
            name: "SockitCLI",
            dependencies: [
                "Sockit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .target(name: "SockitTestSupport", dependencies: ["Sockit"], swiftSettings: strict),
        .testTarget(name: "SockitTests", dependencies: ["Sockit", "SockitTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "SockitServerTests", dependencies: ["SockitServer", "Sockit", "SockitTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "SockitCLITests", dependencies: ["Sockit", "SockitTestSupport", "SockitCLI"], swiftSettings: strict),
    ]
)
