import Foundation
import Logging
import RecetteWorld

/// The `compose` target's placement: the project's db service.
///
/// The backup is checked first (also against the pg_restore inside the service's image);
/// only then is the db service's container and volume reset — other volumes stay — and the
/// dump restored *inside* the container, so client and server match and no port needs to be
/// published. Queries here go through `psql` in the container for the same reason.
struct ComposeVolumePlacement: RestorePlacement {
    var context: RecetteContext
    var reset: ComposeDatabaseReset
    /// The reset as it will run (the volume, the containers, the service's user and database).
    var plan: ComposeResetPlan
    let serviceServer: ComposeServiceServer
    let composePristineServer: ComposePristineServer

    init(context: RecetteContext, reset: ComposeDatabaseReset) async throws {
        self.context = context
        self.reset = reset
        plan = try await reset.plan()
        serviceServer = ComposeServiceServer(project: reset.project, service: reset.service, user: plan.databaseUser, runner: context.runner,
                                             logger: context.logger)
        // The CMS's sessions are ended at a clone's rename, as the volume reset would end them.
        composePristineServer = ComposePristineServer(server: serviceServer, cmsService: "", cms: .endSessions, waitsForHealthcheck: plan.waitsForHealthcheck,
                                                      keepsSpare: try PristineSpare.isWanted(context.configuration, byDefault: true))
    }

    var targetName: String { "compose" }
    var database: String { plan.databaseName }
    var service: String { reset.service }
    var server: any RestoreServer { serviceServer }
    var pristineServer: any PristineServer { composePristineServer }
    /// The template lives in the db service's volume, which the reset deletes: a clone keeps it.
    var work: String { "resetting the '\(service)' volume and restoring" }

    /// The bulk-load settings applied, and the fsync value to come back to.
    struct Held: Sendable {
        var fsyncBefore = "on"
    }

    /// A stopped db service still holds its template in its volume: it is started to read it
    /// (a restore that then resets the volume loses nothing by that). Otherwise nothing: the
    /// volume reset starts it.
    func prepareServer(readingTemplate: Bool) async throws {
        if readingTemplate, !plan.containers.isEmpty { try? await composePristineServer.prepare() }
    }

    /// A db service that does not answer holds no template recette can use.
    func templateState(_ pristine: PristineTemplate) async throws -> PristineTemplate.State? {
        try? await pristine.state(on: try await composePristineServer.maintenance())
    }

    /// The image's tag is judged before anything runs it: an unpinned one would be pulled
    /// (`latest`) just to ask its pg_restore's version.
    func verify(_ archiveFile: URL, workDirectory: URL) async throws -> (dump: URL, toc: TableOfContents) {
        let unpinned = PostgresImagePin.refusal(image: plan.image, service: service, archiveMajor: nil) != nil
        let major = unpinned ? nil : try await containerPgRestoreMajor()
        return try await BackupVerification(context: context).verify(archiveFile, workDirectory: workDirectory, restoringMajor: major)
    }

    /// The pg_restore major version of the service's image (a throwaway `run`, the running
    /// container and its volume untouched).
    func containerPgRestoreMajor() async throws -> Int? {
        let command = reset.project.command(["run", "--rm", "--no-deps", "-T", "--entrypoint", "pg_restore", service, "--version"])
        let result = try? await context.runner.run(command)
        return result.flatMap { PostgresTools.majorVersion(fromVersionOutput: $0.outputText) }
    }

    /// Reset only the db service's volume (once `confirm` agrees), then the throwaway server
    /// loads with the bulk-load settings.
    func open(kept: KeptTables, toc: TableOfContents, options: RestoreOptions, startedAt: Date,
                     confirm: (ComposeResetPlan) throws -> Void, timer: PhaseTimer) async throws -> OpenedRestore<Held> {
        if let refusal = PostgresImagePin.refusal(image: plan.image, service: service,
                                                  archiveMajor: PostgresImagePin.major(ofServerVersion: toc.sourceServerVersion)) {
            throw RecetteFailure(refusal + "; nothing was reset")
        }
        let previous = try await keptRows(kept, toc: toc)
        try confirm(plan)
        _ = try await timer.time("reset db volume") { try await reset.run(plan) }
        let (settings, held) = try await timer.time("bulk-load settings") { try await applyBulkLoadSettings(jobs: options.jobs) }
        return OpenedRestore(database: database, settings: settings, previous: { previous }, held: held)
    }

    /// Stopping `docker compose exec` stops nothing in the container: the restore's sessions
    /// are ended, and the volume said to be partial.
    func abandon(_ opened: OpenedRestore<Held>, error: any Error, archive: String) async -> any Error {
        let logger = context.logger
        if let ended = try? await serviceServer.endRestoreSessions(database: database) {
            logger.info("ended \(ended) pg_restore/psql session(s) left in the '\(service)' container")
        }
        try? await resetSettings(opened)
        if Task.isCancelled || error is CancellationError {
            logger.error("stopped during the restore: database '\(database)' of the '\(service)' service is partial; run the restore again")
        }
        if let failure = error as? PgRestoreFailure {
            return RecetteFailure("pg_restore failed in the '\(service)' container on '\(archive)': \(failure); the database is partial: run the restore again")
        }
        return error
    }

    func maintenance(_ opened: OpenedRestore<Held>) async throws -> SQLSession { try await composePristineServer.maintenance() }

    /// The database is in place already: only the normal settings come back.
    func putInPlace(_ opened: OpenedRestore<Held>, startedAt: Date, timer: PhaseTimer) async throws -> String? {
        if !opened.settings.isEmpty {
            try await timer.time("normal settings") { try await resetSettings(opened) }
        }
        return nil
    }

    func displayURL() throws -> String { "compose service '\(service)', database '\(database)'" }

    /// The kept tables' rows, read from the database being replaced before the reset removes
    /// its volume (into memory, as JSON: keep is for small local state). No running db
    /// service or no such database: nothing to carry over, the rows come from the backup.
    private func keptRows(_ kept: KeptTables, toc: TableOfContents) async throws -> SQLSession? {
        guard !kept.tables.isEmpty else { return nil }
        let (server, database) = (serviceServer, database)
        guard (try? await server.query("SELECT 1", database: database)) != nil else {
            _ = try await kept.check(toc: toc, previous: nil, database: database)
            context.logger.warning("keep in recette.yml: no '\(database)' database is running in the '\(service)' service to carry \(kept.tables.joined(separator: ", ")) over from; their rows come from the backup")
            return nil
        }
        let previous: (String) async throws -> [[String?]] = { sql in try await server.query(sql, database: database) }
        if let warning = try await kept.check(toc: toc, previous: previous, database: database) { context.logger.warning("\(warning)") }
        let rows = try await kept.snapshot(previous: previous)
        let read: @Sendable (String) async throws -> [[String?]] = { sql in
            guard let answer = rows[sql] else { throw RecetteFailure("keep: the rows of the replaced database were read before its reset, not for: \(sql)") }
            return answer
        }
        return SQLSession(query: read, script: { _ in throw RecetteFailure("keep: the replaced database is gone (the volume was reset)") })
    }

    /// LocalCluster's bulk-load settings through ALTER SYSTEM (the server's own user is a
    /// superuser in the postgres image; for another, nothing is changed and the log says so),
    /// then a reload, waited for. `wal_level=minimal` would need a restart: not applied.
    private func applyBulkLoadSettings(jobs: Int) async throws -> ([(String, String)], Held) {
        let settings = LocalCluster.bulkLoadSettings(jobs: jobs)
        let state = try await serviceServer.query("SELECT rolsuper, current_setting('fsync') FROM pg_roles WHERE rolname = current_user", database: database)
        guard let row = state.first, row.count == 2, row[0] == "t", let fsync = row[1] else {
            context.logger.info("'\(serviceServer.user)' is not a superuser: the db service keeps its settings during the restore")
            return ([], Held())
        }
        let sql = settings.map { "ALTER SYSTEM SET \($0.0) = '\($0.1)';" }.joined(separator: "\n") + "\nSELECT pg_reload_conf();\n"
        try await serviceServer.execute(sql, database: database)
        try await awaitSetting("fsync", "off")
        return (settings, Held(fsyncBefore: fsync))
    }

    /// Back to the server's own values, waited for on fsync.
    private func resetSettings(_ opened: OpenedRestore<Held>) async throws {
        guard !opened.settings.isEmpty else { return }
        let sql = opened.settings.map { "ALTER SYSTEM RESET \($0.0);" }.joined(separator: "\n") + "\nSELECT pg_reload_conf();\n"
        try await serviceServer.execute(sql, database: database)
        try await awaitSetting("fsync", opened.held.fsyncBefore)
    }

    /// A reload is asynchronous: sessions started before the postmaster read the file keep the
    /// old values. Polls new sessions, bounded (10 s).
    private func awaitSetting(_ name: String, _ expected: String) async throws {
        let (server, database) = (serviceServer, database)
        let taken = try await Polling(first: .milliseconds(200), longest: .milliseconds(200)).poll(timeout: .seconds(10)) { () -> Bool? in
            try await server.query("SHOW \(name)", database: database).first?.first ?? nil == expected ? true : nil
        }
        if taken == true { return }
        throw RecetteFailure("the '\(service)' server did not take \(name)=\(expected) within 10 s; see 'docker compose logs \(service)'")
    }
}
