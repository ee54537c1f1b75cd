import Sockit

#if canImport(Glibc)
import Glibc
#endif

/// Signal names and numbers: `TERM`, `SIGTERM`, `15`.
public enum SignalName {
    static let known: [(String, Int32)] = [
        ("HUP", SIGHUP), ("INT", SIGINT), ("QUIT", SIGQUIT), ("KILL", SIGKILL), ("USR1", SIGUSR1),
        ("USR2", SIGUSR2), ("TERM", SIGTERM), ("STOP", SIGSTOP), ("CONT", SIGCONT),
    ]

    /// The signal number for `TERM`, `SIGTERM`, `term` or `15`; nil when unknown.
    public static func parse(_ text: String) -> Int32? {
        if let number = Int32(text), number > 0, number < 65 { return number }
        var name = text.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        return known.first { $0.0 == name }?.1
    }

    /// `SIGTERM` for 15; `signal 40` for one without a name here.
    public static func name(_ signal: Int32) -> String {
        known.first { $0.1 == signal }.map { "SIG" + $0.0 } ?? "signal \(signal)"
    }
}
