import Foundation
import RecetteWorld

/// Step 3, `cms`: the Strapi schema guard first (`Strapi/`: nothing the boot sync would drop),
/// then the target's CMS started (compose: its service) and waited for on its health URL; a
/// target without one skips it.
extension Populate {
    func cmsPlan(_ target: any Target) async throws -> [String] {
        guard target.runsCMS else { return ["  nothing to start: the \(target.kind.rawValue) target runs no CMS"] }
        // The guard's list first: it stands even when the CMS service cannot be worked out.
        let guardLines = try await schemaGuardPlan()
        do {
            guard let starter = try await target.cms() else { return guardLines }
            return guardLines + ["  run: docker compose up --detach --wait \(starter.service), then poll \(starter.healthURL.absoluteString) (up to \(Int(starter.timeout.seconds))s)"]
        } catch {
            return guardLines + ["  would fail: \(Redaction.redacting(context.configuration.secrets, in: String(describing: error)))"]
        }
    }

    func cmsStep(_ run: inout PopulateRun, _ record: inout PopulateStepRecord) async throws {
        let target = try Targets.resolve(context)
        guard target.runsCMS else {
            record.status = .skipped
            record.detail = "the \(run.report.target) target runs no CMS"
            return
        }
        // The guard first: a refusal runs nothing, not even the compose file's detection.
        let guardNote = try await guardSchema()
        guard let starter = try await target.cms() else { return }
        try await starter.start()
        record.detail = "\(starter.service) answers \(starter.healthURL.absoluteString)" + guardNote
    }

    /// What the guard reads: the sync's changes, or why the database could not be read. A CMS
    /// source that cannot be read is an error either way.
    private enum SchemaGuardReading {
        case changes(StrapiSchemaChanges)
        case unreadable(String)
    }

    private func readSchemaGuard(_ project: StrapiProject) async throws -> SchemaGuardReading {
        do {
            let database = try await SearchDatabase.libpqConnection(for: context)
            return .changes(try await StrapiSchemaGuard.check(project: project, connectionString: database.connectionString).changes)
        } catch let error as StrapiProjectError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return .unreadable(Redaction.redacting(context.configuration.secrets, in: String(describing: error)))
        }
    }

    /// Strapi's boot sync drops tracked tables and columns the branch's code no longer has:
    /// check before the CMS can start. Returns a note for the step's detail.
    private func guardSchema() async throws -> String {
        guard let project = try StrapiProject.configured(context.configuration) else { return "" }
        switch try await readSchemaGuard(project) {
        case .unreadable(let reason):
            // Unchecked is not safe: the CMS starts only when asked to go on regardless.
            guard options.allowSchemaDrops else {
                throw RecetteFailure("the CMS was not started: the Strapi schema guard cannot read the restored database (\(reason)); make it readable (RECETTE_SEARCH_DATABASE_URL), or pass --allow-schema-drops to start the CMS unchecked")
            }
            context.logger.warning("--allow-schema-drops: starting the CMS unchecked, the schema guard cannot read the database (\(reason))")
            return "; schema guard: not run (database unreadable, --allow-schema-drops)"
        case .changes(let changes):
            for line in changes.lines { context.logger.info("strapi schema guard: \(line)") }
            guard changes.dropsSomething else { return "; schema guard: nothing dropped" }
            guard options.allowSchemaDrops else {
                throw RecetteFailure("the CMS was not started: Strapi's boot sync would drop \(changes.dropSummary) (its source \(project.directory.path) no longer has them); \(StrapiSchemaGuard.fix)")
            }
            context.logger.warning("--allow-schema-drops: starting the CMS although its boot sync drops \(changes.dropSummary)")
            return "; schema guard: drops allowed (\(changes.dropSummary))"
        }
    }

    /// The guard's list for `--dry-run`, on the database as it is now (the restore has not run).
    private func schemaGuardPlan() async throws -> [String] {
        guard let project = try StrapiProject.configured(context.configuration) else {
            return ["  schema guard: no Strapi source (strapi.project), not checked"]
        }
        switch try await readSchemaGuard(project) {
        case .unreadable(let reason):
            return ["  schema guard: check \(project.directory.path) against the restored database (the current one cannot be read: \(reason))"]
        case .changes(let changes):
            let stops = changes.dropsSomething && !options.allowSchemaDrops ? " (the cms step stops: \(StrapiSchemaGuard.fix))" : ""
            return ["  schema guard: \(project.directory.path) against the current database\(stops):"] + changes.lines.map { "    " + $0 }
        }
    }
}
