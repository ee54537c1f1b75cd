// swift-tools-version:6.2
import PackageDescription

// SOCKIT_PORTABLE=1 (Scripts/package.sh): a release binary for the distributions people run. It
// leaves out DT_RELR packed relocations, which need glibc 2.36 (GLIBC_ABI_DT_RELR): without them
// it starts on Ubuntu 22.04 (glibc 2.35) too. README, "Install", says what each choice costs.
let portable = Context.environment["SOCKIT_PORTABLE"] == "1"

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
        .library(name: "SockitPorts", targets: ["SockitPorts"]),
        .library(name: "SockitCommands", targets: ["SockitCommands"]),
        .executable(name: "sockit", targets: ["SockitCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // Plugin only (`swift package generate-documentation`, Scripts/docs.sh): no target depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CSockit"),
        .target(name: "Sockit", dependencies: ["CSockit"], swiftSettings: strict),
        .target(
            name: "SockitServer",
            dependencies: [
                "Sockit",
                "CSockit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(name: "SockitPorts", dependencies: ["Sockit", "CSockit"], swiftSettings: strict),
        // The command line as a library: the executable below is one line, and the parser can be
        // driven in-process (fuzzing).
        .target(
            name: "SockitCommands",
            dependencies: [
                "CSockit",
                "Sockit",
                "SockitServer",
                "SockitPorts",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "SockitCLI",
            dependencies: ["SockitCommands"],
            swiftSettings: strict,
            // The release CLI links the Swift runtime statically (and FoundationEssentials, which
            // ArgumentParser imports, with its two helper libraries): no dozen shared libraries to
            // load and relocate at start-up, so `sockit who` answers in milliseconds. lld packs the
            // relative relocations (DT_RELR, glibc 2.36+) and, unlike gold, does not warn about
            // glibc's mktemp inside FoundationEssentials. On Linux the C++ runtime and the unwinder
            // the Swift runtime needs are linked in too (Scripts/linker: -lstdc++ and -lgcc_s find
            // linker scripts naming libstdc++.a and libgcc_eh.a), which saves about 1 ms of every
            // start; glibc stays shared, so user names still come from NSS (a static glibc crashes
            // loading an NSS module such as libnss_systemd).
            linkerSettings: [
                .unsafeFlags(
                    ["-static-stdlib", "-l_FoundationCollections", "-l_FoundationCShims", "-use-ld=lld"]
                        + (portable ? [] : ["-Xlinker", "-z", "-Xlinker", "pack-relative-relocs"]),
                    .when(configuration: .release)),
                .unsafeFlags(
                    ["-Xclang-linker", "-L\(Context.packageDirectory)/Scripts/linker"],
                    .when(platforms: [.linux], configuration: .release)),
            ]
        ),
        .target(name: "SockitTestSupport", dependencies: ["Sockit", "CSockit"], swiftSettings: strict),
        .testTarget(name: "SockitTests", dependencies: ["Sockit", "SockitTestSupport"], swiftSettings: strict),
        // The tests that run the `sockit` binary as a real process. Depends on the executable
        // target so that `swift test` alone builds `sockit`.
        .testTarget(
            name: "SockitCLITests",
            dependencies: ["CSockit", "Sockit", "SockitPorts", "SockitTestSupport", "SockitCLI", "SockitCommands"],
            swiftSettings: strict),
        .testTarget(
            name: "SockitPortsTests", dependencies: ["Sockit", "SockitPorts", "SockitTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "SockitServerTests",
            dependencies: [
                "CSockit", "Sockit", "SockitServer", "SockitTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
