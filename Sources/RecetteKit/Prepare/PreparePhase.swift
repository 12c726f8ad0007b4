import Foundation
import RecetteWorld

/// The prepare phase of one restore: which actions run in the new database, decided once from
/// the flags and settings, then run through whichever way the target reaches its server.
public struct PreparePhase: Sendable {
    public var localWiring: Bool
    public var anonymize: Bool
    public var adminEmail: String?
    /// The configured admin made to log in (both STRAPI_ADMIN_EMAIL and _PASSWORD set).
    public var adminAccess: AdminAccess?
    public var postRestore: PostRestoreSQL
    /// recette.yml's rules per column, applied when the anonymisation runs.
    public var rules: AnonymizationRules
    public var kept: KeptTables

    public init(localWiring: Bool, configuration: Configuration, target: String) throws {
        self.localWiring = localWiring
        anonymize = try PersonalDataPreset.isEnabled(configuration, target: target)
        adminEmail = configuration[.strapiAdminEmail]
        adminAccess = AdminAccess(configuration)
        postRestore = try PostRestoreSQL(configuration)
        rules = try AnonymizationRules(configuration)
        kept = KeptTables(configuration)
    }

    public var runs: Bool { localWiring || anonymize || adminAccess != nil || !postRestore.files.isEmpty || !kept.tables.isEmpty }

    /// The rules' tables and columns against the backup, before anything is touched.
    public func checkRules(against dump: URL, context: RecetteContext) async throws {
        guard anonymize else { return }
        try await rules.checkAgainstDump(dump, pgRestore: try context.postgresTools.require(.pgRestore), runner: context.runner)
    }

    /// What `--dry-run` lists.
    public var planLines: [String] {
        (localWiring ? LocalWiring.planLines : []) + (anonymize ? PersonalDataPreset.planLines + rules.planLines : [])
            + kept.planLines + (adminAccess?.planLines ?? []) + postRestore.planLines
    }

    /// `query` runs one SQL statement in the new database and returns its rows as text;
    /// `script` runs a file of statements. The admin comes after the anonymisation (which
    /// leaves the configured admin alone anyway), the project's own SQL last: it sees the copy
    /// as recette made it.
    /// `previous` queries the database being replaced (nil: there is none, or the target
    /// cannot reach it): the kept tables' rows come from there, after the anonymisation (kept
    /// rows are the developer's own) and before the admin access.
    public func run(query: (String) async throws -> [[String?]], script: (String) async throws -> Void,
                    previous: ((String) async throws -> [[String?]])? = nil) async throws -> [PrepareAction] {
        var actions = localWiring ? try await LocalWiring.apply(query: query) : []
        if anonymize {
            actions += try await PersonalDataPreset.apply(keepingAdmin: adminEmail, overridden: Set(rules.rules.map { "\($0.table).\($0.column)" }), query: query)
            actions += try await rules.apply(keepingAdmin: adminEmail, query: query)
        }
        if let previous { actions += try await kept.apply(previous: previous, query: query) }
        if let adminAccess { actions.append(try await adminAccess.apply(query: query)) }
        return actions + (try await postRestore.apply(script: script))
    }
}
