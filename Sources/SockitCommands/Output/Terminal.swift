import Sockit

/// Writes a line to standard error.
func printError(_ line: String) {
    var text = line
    text += "\n"
    text.withUTF8 { buffer in Sys.writeAll(2, UnsafeRawBufferPointer(buffer)) }
}

/// `line` and a newline on stdout, through the same buffer as `print` but without its dynamic
/// casts: each first cast looks through every protocol conformance in the binary, a measurable
/// part of a command that answers in a few milliseconds.
func printLine(_ line: String) {
    var text = line
    text += "\n"
    text.withUTF8 { buffer in Sys.writeBufferedStandardOutput(UnsafeRawBufferPointer(buffer)) }
}

/// Writes text to standard error without a newline (a progress line redrawn with `\r`).
func printErrorPartial(_ text: String) {
    var text = text
    text.withUTF8 { buffer in Sys.writeAll(2, UnsafeRawBufferPointer(buffer)) }
}

/// Flushes stdout (Swift's `print` is buffered when stdout is not a terminal).
func flushStandardStreams() {
    Sys.flushOutputStreams()
}

/// Colours for a terminal; plain text when stdout is a pipe or file, or NO_COLOR is set.
enum Terminal {
    static let isColored: Bool = Sys.isTerminal(1) && Sys.environment("NO_COLOR") == nil

    static func bold(_ text: String) -> String { isColored ? "\u{1B}[1m\(text)\u{1B}[0m" : text }
    static func dim(_ text: String) -> String { isColored ? "\u{1B}[2m\(text)\u{1B}[0m" : text }
    static func green(_ text: String) -> String { isColored ? "\u{1B}[32m\(text)\u{1B}[0m" : text }
    static func red(_ text: String) -> String { isColored ? "\u{1B}[31m\(text)\u{1B}[0m" : text }
    static func yellow(_ text: String) -> String { isColored ? "\u{1B}[33m\(text)\u{1B}[0m" : text }

    /// True when standard input is a terminal (for questions such as `sockit free`'s).
    static var inputIsTerminal: Bool { Sys.isTerminal(0) }

    /// The width to fit stdout's lines to: nil when stdout is not a terminal (a pipe or a file
    /// gets whole lines, for grep and scripts). On a terminal, `COLUMNS` when set to a number (as
    /// `ls` does), else the terminal's own width, else 80.
    static var outputWidth: Int? {
        guard Sys.isTerminal(1) else { return nil }
        if let columns = Sys.environment("COLUMNS").flatMap({ Int($0) }), columns > 0 { return columns }
        return Sys.terminalColumns(1) ?? 80
    }

    /// The rows of a screen when stdout is a terminal (`LINES`, else the terminal's own, else
    /// 24); nil when it is a pipe or a file.
    static var outputHeight: Int? {
        guard Sys.isTerminal(1) else { return nil }
        if let lines = Sys.environment("LINES").flatMap({ Int($0) }), lines > 0 { return lines }
        return Sys.terminalRows(1) ?? 24
    }

    /// True when standard error is a terminal (progress lines are redrawn there).
    static var errorIsTerminal: Bool { Sys.isTerminal(2) }
}
