import Foundation
import Logging
import RecetteWorld

/// Restores into the `compose` target: the project's db service.
///
/// The backup is checked first (also against the pg_restore inside the service's image);
/// only then is the db service's container and volume reset — other volumes stay — and the
/// dump restored *inside* the container, so client and server match and no port needs to be
/// published. Queries here go through `psql` in the container for the same reason.
public struct ComposeRestore: Sendable {
    public var context: RecetteContext
    public var reset: ComposeDatabaseReset
    public var options: RestoreOptions

    public init(context: RecetteContext, reset: ComposeDatabaseReset, options: RestoreOptions) {
        self.context = context
        self.reset = reset
        self.options = options
    }

    /// The pg_restore major version of the service's image (a throwaway `run`, the running
    /// container and its volume untouched).
    func containerPgRestoreMajor() async throws -> Int? {
        let command = reset.project.command(["run", "--rm", "--no-deps", "-T", "--entrypoint", "pg_restore", reset.service, "--version"])
        let result = try? await context.runner.run(command)
        return result.flatMap { PostgresTools.majorVersion(fromVersionOutput: $0.outputText) }
    }

    /// Checks everything that can be checked, then resets and restores. `confirm` is called
    /// with the reset plan once the backup is known good, before anything is destroyed.
    public func restore(archiveFile: URL, confirm: (ComposeResetPlan) throws -> Void) async throws -> RestoreOutcome {
        let logger = context.logger
        let startedAt = context.now()
        let timer = PhaseTimer()
        func timed<T>(_ phase: String, _ work: () async throws -> T) async throws -> T { try await timer.time(phase, work) }
        let project = reset.project
        let service = reset.service

        // 1. Nothing is destroyed before the backup is known good.
        let preparePhase = try PreparePhase(localWiring: options.localWiring, configuration: context.configuration, target: "compose")
        let work = try WorkDirectory.create(in: context.stateDirectory)
        defer { work.remove() }
        let workDirectory = work.url
        let plan = try await reset.plan()
        let (user, database) = (plan.databaseUser, plan.databaseName)
        let server = ComposeServiceServer(project: project, service: service, user: user, runner: context.runner, logger: logger)

        // The template lives in the db service's volume, which the reset below deletes: a
        // backup it already holds (same checksum, today's prepare settings and content flags)
        // is cloned from it instead, no volume reset, no pg_restore. The CMS's sessions are
        // ended at the rename, as the volume reset would have ended them.
        let pristine = try PristineTemplate(database: database)
        let pristineServer = ComposePristineServer(server: server, cmsService: "", cms: .endSessions, waitsForHealthcheck: plan.waitsForHealthcheck,
                                                   keepsSpare: try PristineSpare.isWanted(context.configuration, byDefault: true))
        let prepare = try PristineTemplate.prepareSettings(context.configuration, localWiring: options.localWiring, target: "compose")
        let checksum = options.pristine && FileManager.default.isReadableFile(atPath: archiveFile.path)
            ? try await timed("checksum") { try await PristineTemplate.checksum(of: archiveFile, runner: context.runner) } : nil
        // A stopped db service still holds its template in its volume: it is started to read
        // it (a restore that then resets the volume loses nothing by that).
        if checksum != nil, !options.fresh, !plan.containers.isEmpty { try? await pristineServer.prepare() }
        if let checksum, !options.fresh,
           // A db service that does not answer holds no template recette can use.
           let state = try? await pristine.state(on: try await pristineServer.maintenance()),
           pristine.holds(state, checksum: checksum, prepare: prepare, options: options) {
            logger.info("the pristine template '\(pristine.name)' holds this backup: cloning it instead of resetting the '\(service)' volume and restoring (--fresh restores anyway)")
            return try await PristineSwap(server: pristineServer, template: pristine, logger: logger)
                .restore(archiveFile: archiveFile, prepare: prepare, options: options, startedAt: startedAt, timer: timer, context: context)
        }
        // The image's tag is judged before anything runs it: an unpinned one would be pulled
        // (`latest`) just to ask its pg_restore's version.
        let image = plan.image
        let unpinned = PostgresImagePin.refusal(image: image, service: service, archiveMajor: nil) != nil
        let (dump, toc) = try await timed("verify") {
            let major = unpinned ? nil : try await containerPgRestoreMajor()
            return try await BackupVerification(context: context).verify(archiveFile, workDirectory: workDirectory, restoringMajor: major)
        }
        if let refusal = PostgresImagePin.refusal(image: image, service: service,
                                                  archiveMajor: PostgresImagePin.major(ofServerVersion: toc.sourceServerVersion)) {
            throw RecetteFailure(refusal + "; nothing was reset")
        }
        try await preparePhase.checkRules(against: dump, context: context)
        let kept = try await keptRows(preparePhase.kept, toc: toc, server: server, database: database)
        try confirm(plan)

        // 2. Reset only the db service's volume, then restore inside the container.
        _ = try await timed("reset db volume") { try await reset.run(plan) }
        // The volume was just created: a throwaway server. It loads with the bulk-load
        // settings (ALTER SYSTEM, reload), put back to normal however the restore ends.
        let applied = try await timed("bulk-load settings") { try await applyBulkLoadSettings(server, database: database) }
        logger.info("restoring inside the '\(service)' container with \(options.jobs) job(s)")
        let outcome: PgRestoreRun.Outcome
        let prepared: [PrepareAction]
        do {
            // The prepare phase runs before the CMS can start on it: staging's Meilisearch and
            // webhooks cut.
            (outcome, prepared) = try await RestoreFinish.load(
                into: database, on: server, pgRestore: try context.postgresTools.require(.pgRestore), context: context, options: options,
                dump: dump, toc: toc, workDirectory: workDirectory, preparePhase: preparePhase, previous: { kept }, timer: timer)
        } catch {
            // Runs even when the task was cancelled (Ctrl-C): a fresh task is not cancelled.
            await Task {
                if let ended = try? await server.endRestoreSessions(database: database) {
                    logger.info("ended \(ended) pg_restore/psql session(s) left in the '\(service)' container")
                }
                try? await resetSettings(applied, on: server, database: database)
            }.value
            if Task.isCancelled || error is CancellationError {
                logger.error("stopped during the restore: database '\(database)' of the '\(service)' service is partial; run the restore again")
            }
            if let failure = error as? PgRestoreFailure {
                throw RecetteFailure("pg_restore failed in the '\(service)' container on '\(archiveFile.lastPathComponent)': \(failure); the database is partial: run the restore again")
            }
            throw error
        }
        // The template is taken while the bulk-load settings still apply (FILE_COPY's
        // checkpoints skip fsync), and before the CMS is started on the database.
        var pristineUse: RestoreReport.PristineUse?
        if let checksum {
            let marker = PristineMarker(database: database, archive: archiveFile.lastPathComponent, checksum: checksum, prepare: prepare,
                                        restoreOptions: PristineTemplate.contentOptions(options), createdAt: startedAt)
            pristineUse = await pristine.keep(from: database, marker: marker, on: try await pristineServer.maintenance(),
                                              serverDescription: server.serverDescription, timer: timer, logger: logger)
        }
        if !applied.settings.isEmpty {
            try await timed("normal settings") { try await resetSettings(applied, on: server, database: database) }
        }

        let counts = try await timed("count rows") { try await RestoreFinish.rowCounts(server, database: database) }
        if pristineUse != nil, pristineServer.keepsSpare {
            await PristineSpare(names: pristine.names).start(on: pristineServer, session: try await pristineServer.maintenance(), logger: logger)
        }
        let report = RestoreReport(
            archive: archiveFile.lastPathComponent, target: "compose", database: database, startedAt: startedAt, jobs: options.jobs,
            settings: applied.settings.map { "\($0.0)=\($0.1)" }, totalSeconds: context.now().timeIntervalSince(startedAt), phases: timer.phases,
            pgRestorePhases: outcome.phases, kinds: RestoreReport.kinds(from: outcome.items), errors: outcome.errors,
            foreignKeysAddedNotValid: outcome.foreignKeysAddedNotValid, rowCounts: counts, pristine: pristineUse,
            prepare: preparePhase.runs ? prepared : nil)
        let reportFile = try? report.write(stateDirectory: context.stateDirectory)
        return RestoreOutcome(database: database, url: "compose service '\(service)', database '\(database)'", tableOfContents: toc,
                              rowCounts: counts, report: report, reportFile: reportFile, previousDatabase: nil)
    }

    /// The kept tables' rows, read from the database being replaced before the reset removes
    /// its volume (into memory, as JSON: keep is for small local state). No running db
    /// service or no such database: nothing to carry over, the rows come from the backup.
    private func keptRows(_ kept: KeptTables, toc: TableOfContents, server: ComposeServiceServer, database: String) async throws -> SQLSession? {
        guard !kept.tables.isEmpty else { return nil }
        guard (try? await server.query("SELECT 1", database: database)) != nil else {
            _ = try await kept.check(toc: toc, previous: nil, database: database)
            context.logger.warning("keep in recette.yml: no '\(database)' database is running in the '\(server.service)' service to carry \(kept.tables.joined(separator: ", ")) over from; their rows come from the backup")
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

    /// Settings applied for a restore, and the fsync value to come back to.
    struct AppliedSettings: Sendable {
        var settings: [(String, String)] = []
        var fsyncBefore = "on"
    }

    /// LocalCluster's bulk-load settings through ALTER SYSTEM (the server's own user is a
    /// superuser in the postgres image; for another, nothing is changed and the log says so),
    /// then a reload, waited for. `wal_level=minimal` would need a restart: not applied.
    private func applyBulkLoadSettings(_ server: ComposeServiceServer, database: String) async throws -> AppliedSettings {
        let settings = LocalCluster.bulkLoadSettings(jobs: options.jobs)
        let state = try await server.query("SELECT rolsuper, current_setting('fsync') FROM pg_roles WHERE rolname = current_user", database: database)
        guard let row = state.first, row.count == 2, row[0] == "t", let fsync = row[1] else {
            context.logger.info("'\(server.user)' is not a superuser: the db service keeps its settings during the restore")
            return AppliedSettings()
        }
        let sql = settings.map { "ALTER SYSTEM SET \($0.0) = '\($0.1)';" }.joined(separator: "\n") + "\nSELECT pg_reload_conf();\n"
        try await server.execute(sql, database: database)
        try await awaitSetting("fsync", "off", on: server, database: database)
        return AppliedSettings(settings: settings, fsyncBefore: fsync)
    }

    /// Back to the server's own values, waited for on fsync.
    private func resetSettings(_ applied: AppliedSettings, on server: ComposeServiceServer, database: String) async throws {
        guard !applied.settings.isEmpty else { return }
        let sql = applied.settings.map { "ALTER SYSTEM RESET \($0.0);" }.joined(separator: "\n") + "\nSELECT pg_reload_conf();\n"
        try await server.execute(sql, database: database)
        try await awaitSetting("fsync", applied.fsyncBefore, on: server, database: database)
    }

    /// A reload is asynchronous: sessions started before the postmaster read the file keep the
    /// old values. Polls new sessions, bounded (10 s).
    private func awaitSetting(_ name: String, _ expected: String, on server: ComposeServiceServer, database: String) async throws {
        let taken = try await Polling(first: .milliseconds(200), longest: .milliseconds(200)).poll(timeout: .seconds(10)) { () -> Bool? in
            try await server.query("SHOW \(name)", database: database).first?.first ?? nil == expected ? true : nil
        }
        if taken == true { return }
        throw RecetteFailure("the '\(reset.service)' server did not take \(name)=\(expected) within 10 s; see 'docker compose logs \(reset.service)'")
    }
}
