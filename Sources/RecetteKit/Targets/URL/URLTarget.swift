import Foundation
import RecetteWorld

/// The `url` target: any PostgreSQL database (a review app through `scalingo db-tunnel`…).
public struct URLTarget: Target {
    public var context: RecetteContext
    /// The URL came from `--target-url`: needed, with a confirmation, for another machine.
    public var namedOnCommandLine: Bool
    /// Drop the replaced database instead of keeping it under a dated name.
    public var dropPrevious: Bool
    public var kind: RestoreTargetKind { .url }

    func destination() throws -> URLDestination {
        try URLDestination.configured(by: context, namedOnCommandLine: namedOnCommandLine, dropPrevious: dropPrevious)
    }

    public func restorePlan(file: URL, options: RestoreOptions) async throws -> [String] {
        let destination = try destination()
        return try swapRestorePlan(destination, database: destination.target.database, file: file, options: options, configuration: context.configuration)
    }

    public func restore(file: URL, options: RestoreOptions, confirmReset: (ComposeResetPlan) throws -> Void) async throws -> RestoreOutcome {
        let destination = try destination()
        return try await DatabaseRestore(context: context, destination: destination, database: destination.target.database, options: options)
            .restore(archiveFile: file)
    }

    public func resetDatabase(waitTimeout: Duration, confirm: (String, String) throws -> Void) async throws -> [String] {
        let destination = try destination()
        let reset = URLDatabaseReset(destination: destination, logger: context.logger)
        if context.dryRun { return try reset.lines(at: Date()) }
        // A server that is not this machine was confirmed by the guard (database name typed,
        // or --yes); a loopback one is asked here like the other targets.
        if destination.isOnThisMachine { try confirm(reset.question, "replace database '\(reset.database)'") }
        let previous = try await reset.run()
        return (previous.map { ["previous database kept as '\($0)' (dropped by the next run, or now with --drop-previous)"] } ?? [])
            + ["DATABASE_URL=\(try destination.displayURL(database: reset.database))"]
    }

    public func templateServer(for what: String, cms: CMSAroundSwap) async throws -> (server: any PristineServer, database: String) {
        let destination = try destination()
        return (try LibpqPristineServer(destination, asksConfirmation: destination.isOnThisMachine, configuration: context.configuration), destination.target.database)
    }

    public func searchRows() async throws -> any SearchRowSource {
        guard let url = context.configuration.secret(.databaseURL), !url.isEmpty else {
            throw RecetteFailure("the url target needs DATABASE_URL to read the documents from (or set RECETTE_SEARCH_DATABASE_URL)")
        }
        return LibpqRowSource(connectionString: url.reveal(), display: Redaction.redactingURLPasswords(in: url.reveal()))
    }
}
