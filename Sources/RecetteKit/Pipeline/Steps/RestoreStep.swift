import Foundation
import RecetteWorld

/// Step 2, `restore`: the backup checked, the target's database reset, the dump restored and
/// made a local copy (the prepare phase), by the target (`Targets/`) and the restore engine
/// (`Restore/`).
extension Populate {
    func restorePlan(_ target: any Target) async throws -> [String] {
        let file: URL
        switch options.origin {
        case .file(let url): file = url
        default: file = cachedArchive() ?? context.stateDirectory.appendingPathComponent("backups/<downloaded>.tar.gz")
        }
        return try await target.restorePlan(file: file, options: options.restore).map { "  " + $0 }
    }

    func restoreStep(_ run: inout PopulateRun, _ record: inout PopulateStepRecord) async throws {
        guard let file = run.archive ?? cachedArchive() else {
            throw RecetteFailure("no backup to restore: run populate from the 'backup' step, or give --backup FILE")
        }
        let outcome = try await Targets.resolve(context).restore(file: file, options: options.restore, confirmReset: run.confirmReset)
        let rows = outcome.rowCounts.reduce(0) { $0 + $1.rows }
        record.detail = "\(file.lastPathComponent): \(outcome.rowCounts.count) tables, \(rows) rows into '\(outcome.database)'"
        record.phases = outcome.report.phases
        run.report.restoreReport = outcome.reportFile?.path
        run.report.backup = file.path
    }
}
