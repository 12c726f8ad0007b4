import Foundation
import RecetteWorld

/// Where a restore's time went, for people (text) and machines (`.recette/runs/*.json`).
public struct RestoreReport: Sendable, Codable {
    public struct Phase: Sendable, Codable, Equatable {
        public var name: String
        public var seconds: Double
    }

    public struct Kind: Sendable, Codable, Equatable {
        public var type: String
        public var count: Int
        /// Summed over parallel workers: can exceed wall time.
        public var seconds: Double
        public var slowest: [ItemTiming]
    }

    public var archive: String
    public var target: String
    public var database: String
    public var startedAt: Date
    public var jobs: Int
    public var settings: [String]
    public var totalSeconds: Double
    public var phases: [Phase]
    /// Inside the pg_restore phase: pg_restore itself, then the foreign keys step.
    public var pgRestorePhases: [Phase]
    public var kinds: [Kind]
    public var errors: [RestoreError]
    public var foreignKeysAddedNotValid: Int
    public var rowCounts: [TableRowCount]
    /// The pristine template made (or used) by this restore.
    public var pristine: PristineUse?
    /// What the prepare phase did (nil: it did not run, `--keep-wiring`).
    public var prepare: [PrepareAction]?

    public struct PristineUse: Sendable, Codable, Equatable {
        public var database: String
        public var bytes: Int64
        public var seconds: Double
        /// The restore cloned the template instead of running pg_restore.
        public var cloned: Bool
    }

    /// The kinds pg_restore spends its time on, in this order; others are summed as "other".
    static let reportedKinds = ["TABLE DATA", "INDEX", "CONSTRAINT", "FK CONSTRAINT", "SEQUENCE SET"]

    public static func kinds(from items: [ItemTiming]) -> [Kind] {
        let grouped = Dictionary(grouping: items) { reportedKinds.contains($0.type) ? $0.type : "other" }
        return (reportedKinds + ["other"]).compactMap { type in
            guard let items = grouped[type], !items.isEmpty else { return nil }
            return Kind(type: type, count: items.count, seconds: items.reduce(0) { $0 + $1.seconds },
                        slowest: Array(items.sorted { $0.seconds > $1.seconds }.prefix(3)))
        }
    }

    public func textLines() -> [String] {
        func format(_ seconds: Double) -> String { String(format: "%.1fs", seconds) }
        var lines = ["restore of \(archive) into \(target) '\(database)': \(format(totalSeconds)) with \(jobs) job(s)"]
        lines.append("  phases: " + phases.map { "\($0.name) \(format($0.seconds))" }.joined(separator: ", "))
        if pgRestorePhases.count > 1 {
            lines.append("  pg_restore phase: " + pgRestorePhases.map { "\($0.name) \(format($0.seconds))" }.joined(separator: ", "))
        }
        for kind in kinds {
            let slowest = kind.slowest.map { "\($0.name) \(format($0.seconds))" }.joined(separator: ", ")
            lines.append("  \(kind.type): \(kind.count) items, \(format(kind.seconds)) summed; slowest: \(slowest)")
        }
        if foreignKeysAddedNotValid > 0 {
            lines.append("  \(foreignKeysAddedNotValid) foreign keys added NOT VALID (new writes are checked; existing rows came from a valid source)")
        }
        for action in prepare ?? [] {
            lines.append("  prepare: \(action.action): \(action.detail)")
        }
        if let pristine {
            let size = ByteCountFormatter.string(fromByteCount: pristine.bytes, countStyle: .binary)
            lines.append(pristine.cloned
                ? "  cloned from the pristine template '\(pristine.database)' (\(size)) in \(format(pristine.seconds)): same backup, same settings (--fresh restores anyway)"
                : "  pristine template '\(pristine.database)' kept: \(size), made in \(format(pristine.seconds)) ('recette reset --pristine' goes back to it)")
        }
        for error in errors {
            lines.append("  error ignored by pg_restore: \(error.tocEntry.map { "item \($0): " } ?? "")\(error.message)")
        }
        return lines
    }

    /// Writes `.recette/runs/restore-<timestamp>.json` and returns its URL.
    public func write(stateDirectory: URL) throws -> URL {
        try RunReportFile.write(self, kind: "restore", startedAt: startedAt, stateDirectory: stateDirectory)
    }
}

/// Times the phases of one restore, in order, for its report.
final class PhaseTimer {
    private let clock = ContinuousClock()
    private(set) var phases: [RestoreReport.Phase] = []

    func time<T>(_ phase: String, _ work: () async throws -> T) async throws -> T {
        let start = clock.now
        defer { phases.append(.init(name: phase, seconds: (clock.now - start).seconds)) }
        return try await work()
    }
}
