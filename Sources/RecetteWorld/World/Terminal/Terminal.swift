import Foundation

/// What we know about where output goes: a terminal (progress bars, colour) or a pipe/file
/// (one plain line per step).
public struct Terminal: Sendable {
    public var standardOutputIsTTY: Bool
    public var standardErrorIsTTY: Bool
    public var colorEnabled: Bool

    public init(standardOutputIsTTY: Bool, standardErrorIsTTY: Bool, colorEnabled: Bool) {
        self.standardOutputIsTTY = standardOutputIsTTY
        self.standardErrorIsTTY = standardErrorIsTTY
        self.colorEnabled = colorEnabled
    }

    /// Reads the real process state. Colour needs a TTY and no `NO_COLOR` (https://no-color.org).
    public static func detect(environment: [String: String]) -> Terminal {
        let errorTTY = isatty(STDERR_FILENO) == 1
        let noColor = environment["NO_COLOR"].map { !$0.isEmpty } ?? false
        let dumb = environment["TERM"] == "dumb"
        return Terminal(
            standardOutputIsTTY: isatty(STDOUT_FILENO) == 1,
            standardErrorIsTTY: errorTTY,
            colorEnabled: errorTTY && !noColor && !dumb
        )
    }

    public func paint(_ text: String, _ color: Color) -> String {
        colorEnabled ? "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m" : text
    }

    public enum Color: String, Sendable { case red = "31", green = "32", yellow = "33", dim = "2", bold = "1" }
}

/// Where results (tables, URLs, reports) are printed: standard output, or a buffer in tests.
public protocol OutputSink: Sendable {
    func write(_ line: String)
}

public struct StandardOutputSink: OutputSink {
    public init() {}
    public func write(_ line: String) {
        StandardStream.output(line + "\n")
    }
}

/// Formats rows as aligned columns.
public enum TextTable {
    public static func render(header: [String], rows: [[String]], rightAligned: Set<Int> = []) -> [String] {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: max(0, widths[column] - cell.count))
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}
