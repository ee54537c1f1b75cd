/// A plain text table: a header row and aligned columns, two spaces apart. The header is bold
/// on a terminal.
struct Table {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (numbers).
    var rightAligned: Set<Int> = []

    init(_ headers: [String], rightAligned: Set<Int> = []) {
        self.headers = headers
        self.rightAligned = rightAligned
    }

    /// Lines of text between rows (a sub-heading), by the row index they come before.
    var sections: [(before: Int, title: String)] = []

    mutating func append(_ row: [String]) { rows.append(row) }

    /// A line of text before the next row, outside the columns.
    mutating func appendSection(_ title: String) { sections.append((rows.count, title)) }

    /// Columns whose cells may wrap at spaces onto continuation lines when the table is fitted
    /// to a width (a struct's fields, a note).
    var wrapping: Set<Int> = []

    /// The table as text. With a `width` (a terminal's), the `wrapping` columns share what the
    /// others leave, each up to what it needs, and their cells continue on the next lines; a
    /// word longer than its column stays whole. Without one, every row is one line.
    func render(width: Int? = nil) -> String {
        let widths = columnWidths(fitting: width)
        func cellLines(_ cell: String, _ index: Int) -> [String] {
            guard width != nil, wrapping.contains(index), Self.width(cell) > widths[index] else { return [cell] }
            return Self.wrap(cell, to: widths[index])
        }
        func lines(_ cells: [String]) -> [String] {
            let wrapped = cells.enumerated().map { cellLines($1, $0) }
            let height = wrapped.map(\.count).max() ?? 1
            return (0..<height).map { row in
                line(wrapped.map { row < $0.count ? $0[row] : "" }, widths)
            }
        }
        var output = [Terminal.bold(line(headers, widths))]
        for (index, row) in rows.enumerated() {
            for section in sections where section.before == index { output.append(section.title) }
            output += lines(row)
        }
        return output.joined(separator: "\n")
    }

    private func line(_ cells: [String], _ widths: [Int]) -> String {
        var parts: [String] = []
        for (index, cell) in cells.enumerated() {
            let pad = String(repeating: " ", count: max(0, widths[index] - Self.width(cell)))
            if index == cells.count - 1 && !rightAligned.contains(index) {
                parts.append(cell)
            } else {
                parts.append(rightAligned.contains(index) ? pad + cell : cell + pad)
            }
        }
        var text = parts.joined(separator: "  ")
        while text.last == " " { text.removeLast() }
        return text
    }

    /// Each column's width: what its widest cell needs, or with `width`, the wrapping columns
    /// narrowed so that a line fits (water-filling: a column that needs less than an equal share
    /// keeps its width and leaves the rest to the others; none narrower than its longest word).
    func columnWidths(fitting width: Int?) -> [Int] {
        var widths = headers.map(Self.width)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], Self.width(cell))
            }
        }
        let wrap = wrapping.filter { $0 < widths.count }
        guard let width, !wrap.isEmpty else { return widths }
        let fixed = widths.indices.filter { !wrap.contains($0) }.reduce(2 * (widths.count - 1)) { $0 + widths[$1] }
        let left = width - fixed
        guard wrap.reduce(0, { $0 + widths[$1] }) > left else { return widths }
        var minimum: [Int: Int] = [:]
        for column in wrap {
            let words = rows.compactMap { column < $0.count ? $0[column] : nil }.flatMap { $0.split(separator: " ") }
            minimum[column] = max(headers[column].count, words.map(\.count).max() ?? 0)
        }
        // The widest level L at which the columns, each clamped to [its longest word, what it
        // needs], fit in what is left; the remainder goes to the widest column.
        let columns = wrap.sorted()
        func clamped(_ column: Int, at level: Int) -> Int { min(widths[column], max(minimum[column] ?? 1, level)) }
        var level = left
        while level > 0 && columns.reduce(0, { $0 + clamped($1, at: level) }) > left { level -= 1 }
        var fitted = columns.map { clamped($0, at: level) }
        if let widest = fitted.indices.max(by: { fitted[$0] < fitted[$1] }) {
            let spare = left - fitted.reduce(0, +)
            if spare > 0 { fitted[widest] = min(widths[columns[widest]], fitted[widest] + spare) }
        }
        for (offset, column) in columns.enumerated() { widths[column] = fitted[offset] }
        return widths
    }

    /// The columns `text` takes: its Unicode scalars (the cells are ASCII, but for an ellipsis),
    /// cheaper than `count`'s grapheme breaking, which a table of a few hundred rows felt.
    static func width(_ text: String) -> Int { text.unicodeScalars.count }

    /// `text` in lines of at most `width` characters, broken at spaces (greedy).
    static func wrap(_ text: String, to width: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if current.isEmpty {
                current = String(word)
            } else if current.count + 1 + word.count <= width {
                current += " " + word
            } else {
                lines.append(current)
                current = String(word)
            }
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }
}
