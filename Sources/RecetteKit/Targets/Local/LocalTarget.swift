import Foundation
import RecetteWorld

/// The `local` target: recette's own PostgreSQL cluster under `local.directory`.
public struct LocalTarget: Target {
    public var context: RecetteContext
    public var kind: RestoreTargetKind { .local }

    var database: String { context.configuration.text(.localDatabase) }

    public func restorePlan(file: URL, options: RestoreOptions) async throws -> [String] {
        try swapRestorePlan(LocalDestination(cluster: context.localCluster, jobs: options.jobs), database: database, file: file,
                            options: options, configuration: context.configuration)
    }

    public func restore(file: URL, options: RestoreOptions, confirmReset: (ComposeResetPlan) throws -> Void) async throws -> RestoreOutcome {
        try await LocalRestore(context: context, database: database, options: options).restore(archiveFile: file)
    }

    public func resetDatabase(waitTimeout: Duration, confirm: (String, String) throws -> Void) async throws -> [String] {
        let reset = LocalDatabaseReset(context: context)
        if context.dryRun { return reset.lines }
        try confirm(reset.question, "drop database '\(reset.database)'")
        return ["DATABASE_URL=\(try await reset.run())"]
    }

    public func templateServer(for what: String, cms: CMSAroundSwap) async throws -> (server: any PristineServer, database: String) {
        (try LibpqPristineServer(LocalDestination(cluster: context.localCluster, jobs: RestoreOptions().jobs), configuration: context.configuration), database)
    }

    public func searchRows() async throws -> any SearchRowSource {
        let cluster = context.localCluster
        let status = try await cluster.status()
        guard status.running, let port = status.port else {
            throw RecetteFailure("recette's local PostgreSQL is not running: restore a backup first ('recette restore FILE') or 'recette local start'")
        }
        let url = cluster.url(database: database, port: port)
        return LibpqRowSource(connectionString: url, display: url)
    }
}
