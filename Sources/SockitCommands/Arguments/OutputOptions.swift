import ArgumentParser

/// `--json`, shared by every command that prints a result.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON document on stdout and nothing else there.")
    var json = false
}
