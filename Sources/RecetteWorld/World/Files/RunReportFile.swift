import Foundation

/// Writes a run report as JSON to `.recette/runs/<kind>-<UTC timestamp>.json`.
public enum RunReportFile {
    public static func write<Report: Encodable>(_ report: Report, kind: String, startedAt: Date, stateDirectory: URL) throws -> URL {
        let directory = stateDirectory.appendingPathComponent("runs")
        try PrivateDirectory.make(directory)
        let file = directory.appendingPathComponent("\(kind)-\(UTCStamp.string(from: startedAt, pattern: "yyyyMMdd'T'HHmmss'Z'")).json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        try encoder.encode(report).write(to: file, options: .atomic)
        return file
    }
}
