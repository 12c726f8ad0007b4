import Foundation
import RecetteWorld

/// Step 4, `reindex`: every index rebuilt into a new one and swapped in (`Search/`), or the
/// Strapi plugin asked to (`--via plugin`).
extension Populate {
    func reindexPlan() async throws -> [String] {
        try await SearchReindex(context: context, requested: options.reindexRoute, allowShrink: options.allowShrink).plan().map { "  " + $0 }
    }

    func reindexStep(_ run: inout PopulateRun, _ record: inout PopulateStepRecord) async throws {
        let outcome = try await SearchReindex(context: context, requested: options.reindexRoute, allowShrink: options.allowShrink).run()
        switch outcome {
        case .direct(let reports):
            run.report.reindex = reports
            record.detail = reports.map { "\($0.uid) \($0.documents) docs" }.joined(separator: ", ") + " (direct, swapped in)"
        case .plugin(let reports):
            run.report.pluginReindex = reports
            record.detail = reports.map { "\($0.indexUid) \($0.documents)/\($0.publishedRows)" }.joined(separator: ", ") + " (plugin)"
        }
        if let problem = outcome.problem { throw RecetteFailure(problem) }
    }
}
