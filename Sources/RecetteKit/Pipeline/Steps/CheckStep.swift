import Foundation
import RecetteWorld

/// Step 5, `check`: each index's documents compared with its query's rows; a difference
/// fails the run.
extension Populate {
    func checkPlan() -> [String] {
        let definitions = context.configuration.searchIndexes
        if definitions.isEmpty, (try? SearchSetup(context: context))?.model != nil {
            return ["  count each index's documents against its generated query: the indexes the CMS source's model gives"]
        }
        return [definitions.isEmpty ? "  nothing to compare: no search.indexes in recette.yml"
                : "  count each index's documents against its query: \(definitions.map(\.uid).joined(separator: ", "))"]
    }

    func checkStep(_ run: inout PopulateRun, _ record: inout PopulateStepRecord) async throws {
        let setup = try SearchSetup(context: context)
        guard !setup.definitions.isEmpty || setup.model != nil else {
            record.status = .skipped
            record.detail = "no search.indexes in recette.yml"
            return
        }
        let rows = try await SearchDatabase.rows(for: context)
        let statuses = try await SearchDrift(client: setup.client, rows: rows, drops: setup.transformDrops, logger: context.logger)
            .status(try await setup.resolvedDefinitions(rows: rows, logger: context.logger))
        run.report.search = statuses
        record.detail = statuses.map { "\($0.uid) \($0.state)" }.joined(separator: ", ")
        let drifting = statuses.filter { !$0.isInSync }
        if !drifting.isEmpty {
            throw RecetteFailure("\(drifting.map(\.uid).joined(separator: ", ")) differ from the database after the rebuild: see 'recette search verify'")
        }
    }
}
