// swift-tools-version:6.2
import PackageDescription

// libFuzzer targets for sockit, one executable per target, kept out of the root package so that
// `swift build`, `swift test` and the release CLI are untouched. Build and run them with
// `Scripts/fuzz.sh` (it passes `-sanitize=fuzzer,address`); each target exports
// `LLVMFuzzerTestOneInput` and has a `main` that hands it to libFuzzer's driver (`CFuzz`).
//
// The root package is a path dependency. A path package's identity is its folder's name, which
// differs between clones (`wt-fuzz`, CI's checkout), so it is read from the folder here.
let settings: [SwiftSetting] = [.swiftLanguageMode(.v6), .treatAllWarnings(as: .error)]

let root = String(Context.packageDirectory.split(separator: "/").dropLast().last ?? "sockit").lowercased()
func sockit(_ product: String) -> Target.Dependency { .product(name: product, package: root) }

let package = Package(
    name: "sockit-fuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "CFuzz"),
        .executableTarget(name: "FuzzAddress", dependencies: ["CFuzz", sockit("Sockit")], swiftSettings: settings),
        .executableTarget(name: "FuzzOptions", dependencies: ["CFuzz", sockit("Sockit")], swiftSettings: settings),
        .executableTarget(
            name: "FuzzInetDiag", dependencies: ["CFuzz", sockit("Sockit"), sockit("SockitPorts")],
            swiftSettings: settings),
        .executableTarget(
            name: "FuzzProc", dependencies: ["CFuzz", sockit("Sockit"), sockit("SockitPorts")], swiftSettings: settings),
        .executableTarget(
            name: "FuzzHandoff", dependencies: ["CFuzz", sockit("SockitServer")], swiftSettings: settings),
        .executableTarget(
            name: "FuzzArguments", dependencies: ["CFuzz", sockit("SockitCommands")], swiftSettings: settings),
    ]
)
