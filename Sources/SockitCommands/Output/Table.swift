/// A plain text table: a header row and aligned columns, two spaces apart. The header is bold
/// on a terminal.
struct Table {
    var headers: [String]
    var rows: [[String]] = []
    /// Columns aligned to the right (numbers). The column lists are arrays, not sets: a few
    /// indices, and the first use of a `Set` type costs a command more than its lookups.
    var rightAligned: [Int] = []

    init(_ headers: [String], rightAligned: [Int] = []) {
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
    var wrapping: [Int] = []

    /// The table as text. With a `width` (a terminal's), the `wrapping` columns share what the
    /// others leave, each up to what it needs, and their cells continue on the next lines; a
    /// word longer than its column stays whole. Without one, every row is one line.
    func render(width: Int? = nil) -> String {
        let widths = columnWidths(fitting: width)
        let right = widths.indices.map { rightAligned.contains($0) }
        let wraps = width != nil && !wrapping.isEmpty
        func lines(_ cells: [String]) -> [String] {
            let wrapped = cells.enumerated().map { index, cell in
                wrapping.contains(index) && Self.width(cell) > widths[index]
                    ? Self.wrap(cell, to: widths[index]) : [cell]
            }
            let height = wrapped.map(\.count).max() ?? 1
            return (0..<height).map { row in
                line(wrapped.map { row < $0.count ? $0[row] : "" }, widths)
            }
        }
        // Built as bytes: a listing of every socket has hundreds of rows, and a string per cell,
        // pad and line cost more than the rest of `sockit who`.
        var output: [UInt8] = []
        output.reserveCapacity((widths.reduce(0, +) + 2 * widths.count + 1) * (rows.count + 1))
        output.append(contentsOf: Terminal.bold(line(headers, widths)).utf8)
        var section = 0
        for (index, row) in rows.enumerated() {
            while section < sections.count && sections[section].before <= index {
                if sections[section].before == index {
                    output.append(UInt8(ascii: "\n"))
                    output.append(contentsOf: sections[section].title.utf8)
                }
                section += 1
            }
            if wraps && row.indices.contains(where: { wrapping.contains($0) && Self.width(row[$0]) > widths[$0] }) {
                for text in lines(row) {
                    output.append(UInt8(ascii: "\n"))
                    output.append(contentsOf: text.utf8)
                }
            } else {
                output.append(UInt8(ascii: "\n"))
                Self.appendLine(row, widths, right, to: &output)
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// One row's line appended to `output`: the cells padded to `widths` (on the left where
    /// `right` says so), two spaces apart, no padding after the last, no trailing spaces.
    private static func appendLine(_ cells: [String], _ widths: [Int], _ right: [Bool], to output: inout [UInt8]) {
        let start = output.count
        let space = UInt8(ascii: " ")
        for (index, cell) in cells.enumerated() {
            if index > 0 {
                output.append(space)
                output.append(space)
            }
            let pad = max(0, widths[index] - width(cell))
            if right[index] {
                output.append(contentsOf: repeatElement(space, count: pad))
                output.append(contentsOf: cell.utf8)
            } else {
                output.append(contentsOf: cell.utf8)
                if index != cells.count - 1 { output.append(contentsOf: repeatElement(space, count: pad)) }
            }
        }
        while output.count > start && output.last == space { output.removeLast() }
    }

    private func line(_ cells: [String], _ widths: [Int]) -> String {
        var bytes: [UInt8] = []
        Self.appendLine(cells, widths, widths.indices.map { rightAligned.contains($0) }, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
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
    static func width(_ text: String) -> Int {
        // The UTF-8 bytes that start a scalar (not a continuation byte, 0b10xxxxxx), counted in
        // the string's own storage: the view's iterator costs more per byte than the count.
        func scalars(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
            var count = 0
            for byte in bytes where byte & 0xC0 != 0x80 { count += 1 }
            return count
        }
        var text = text
        return text.withUTF8(scalars)
    }

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
