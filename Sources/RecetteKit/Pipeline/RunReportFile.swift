import Foundation

/// Writes a run report as JSON to `.recette/runs/<kind>-<UTC timestamp>.json`.
public enum RunReportFile {
    public static func write<Report: Encodable>(_ report: Report, kind: String, startedAt: Date, stateDirectory: URL) throws -> URL {
        let directory = stateDirectory.appendingPathComponent("runs")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let file = directory.appendingPathComponent("\(kind)-\(formatter.string(from: startedAt)).json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(report).write(to: file, options: .atomic)
        return file
    }
}
