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

    func render() -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
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
        var lines = [Terminal.bold(line(headers))]
        for (index, row) in rows.enumerated() {
            for section in sections where section.before == index { lines.append(section.title) }
            lines.append(line(row))
        }
        return lines.joined(separator: "\n")
    }
}
