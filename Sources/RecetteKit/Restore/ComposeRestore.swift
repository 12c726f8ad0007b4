import Foundation
import Logging

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

    static let dumpPathInContainer = "/tmp/recette-restore.pgsql"
    static let listPathInContainer = "/tmp/recette-restore.list"

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
        let startedAt = Date()
        let timer = PhaseTimer()
        func timed<T>(_ phase: String, _ work: () async throws -> T) async throws -> T { try await timer.time(phase, work) }
        let project = reset.project
        let service = reset.service

        // 1. Nothing is destroyed before the backup is known good.
        let preparePhase = try PreparePhase(options: options, configuration: context.configuration, target: "compose")
        let work = try WorkDirectory.create(in: context.stateDirectory)
        defer { work.remove() }
        let workDirectory = work.url
        let plan = try await reset.plan()
        let (user, database) = (plan.databaseUser, plan.databaseName)
        // The image's tag is judged before anything runs it: an unpinned one would be pulled
        // (`latest`) just to ask its pg_restore's version.
        let image = try await project.resolve().services[service]?.image
        let unpinned = PostgresImagePin.refusal(image: image, service: service, archiveMajor: nil) != nil
        let (dump, toc) = try await timed("verify") {
            let major = unpinned ? nil : try await containerPgRestoreMajor()
            return try await BackupVerification(context: context).verify(archiveFile, workDirectory: workDirectory, restoringMajor: major)
        }
        if let refusal = PostgresImagePin.refusal(image: image, service: service,
                                                  archiveMajor: PostgresImagePin.major(ofServerVersion: toc.sourceServerVersion)) {
            throw RecetteFailure(refusal + "; nothing was reset")
        }
        try confirm(plan)

        // 2. Reset only the db service's volume, then restore inside the container.
        _ = try await timed("reset db volume") { try await reset.run(plan) }
        let dependencies = options.excludedTables.isEmpty ? [:] : try PgRestoreRun.dependencies(of: dump)
        let (list, foreignKeys) = PgRestoreRun.mainList(toc: toc, options: options, dependencies: dependencies)
        let listFile = workDirectory.appendingPathComponent("restore.list")
        try (list.joined(separator: "\n") + "\n").write(to: listFile, atomically: true, encoding: .utf8)
        func pgRestore(sections: [String]) -> [String] {
            ["pg_restore"] + PgRestoreRun.arguments(options: options, listPath: Self.listPathInContainer, sections: sections)
                + ["--username=\(user)", "--dbname=\(database)", Self.dumpPathInContainer]
        }
        // The volume was just created: a throwaway server. It loads with the bulk-load
        // settings (ALTER SYSTEM, reload), put back to normal however the restore ends.
        let applied = try await timed("bulk-load settings") { try await applyBulkLoadSettings(database: database, user: user) }
        let progress = RestoreProgress(toc: toc, dataSizes: ArchiveDataSizes.read(from: dump),
                                       bar: ProgressBar(label: "restoring", enabled: context.showsProgress, showsBytes: false))
        defer { progress.finish() }
        let log = PgRestoreLog(toc: toc, onItemFinished: progress.finished)
        logger.info("restoring inside the '\(service)' container with \(options.jobs) job(s)")
        func run(_ arguments: [String]) async throws {
            do {
                _ = try await context.runner.run(project.command(["exec", "-T", service] + arguments), input: nil, output: .discard,
                                                 onStandardErrorLine: log.lineHandler(logging: logger), acceptedExitStatuses: [0])
            } catch let error as ProcessError {
                log.finish()
                throw RecetteFailure("pg_restore failed in the '\(service)' container on '\(archiveFile.lastPathComponent)': \(PgRestoreFailure(errors: log.restoreErrors, processError: error)); the database is partial: run the restore again")
            }
            log.finish()
        }
        var addedNotValid = 0
        var prepared: [PrepareAction] = []
        do {
            try await timed("copy dump") { try await copyIntoContainer(dump: dump, list: listFile) }
            if options.unlogged && !options.schemaOnly {
                try await timed("pg_restore (pre-data)") { try await run(pgRestore(sections: ["pre-data"])) }
                try await timed("SET UNLOGGED") {
                    _ = try await psql(["-v", "ON_ERROR_STOP=1", "--quiet"], database: database, user: user, input: Data(PgRestoreRun.setUnloggedSQL.utf8))
                }
                try await timed("pg_restore (data, post-data)") { try await run(pgRestore(sections: ["data", "post-data"])) }
            } else {
                try await timed("pg_restore") { try await run(pgRestore(sections: [])) }
            }
            if !foreignKeys.isEmpty && !options.schemaOnly {
                try await timed("foreign keys (NOT VALID)") {
                    let (rewritten, count) = try await PgRestoreRun.foreignKeysNotValidSQL(
                        pgRestore: try context.postgresTools.require(.pgRestore), runner: context.runner, dump: dump, foreignKeys: foreignKeys,
                        keepOwners: options.keepOwners, workDirectory: workDirectory)
                    try await psql(["-v", "ON_ERROR_STOP=1", "--quiet"], database: database, user: user, input: Data(rewritten.utf8))
                    addedNotValid = count
                }
            }
            _ = try await timed("analyze") { try await psql(["-c", "ANALYZE"], database: database, user: user) }
            // Before the CMS can start on it: staging's Meilisearch and webhooks cut.
            if preparePhase.runs {
                prepared = try await timed("prepare") {
                    try await preparePhase.run { sql in
                        try await psql(["-v", "ON_ERROR_STOP=1", "--no-align", "--tuples-only", "--field-separator=\t", "-c", sql], database: database, user: user)
                            .outputText.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map { String($0) } }
                    }
                }
                for action in prepared { logger.info("prepare: \(action.action): \(action.detail)") }
            }
        } catch {
            // Runs even when the task was cancelled (Ctrl-C): a fresh task is not cancelled.
            await Task {
                try? await endRestoreSessions(database: database, user: user)
                try? await resetSettings(applied, database: database, user: user)
                await removeCopiesFromContainer()
            }.value
            if Task.isCancelled || error is CancellationError {
                logger.error("stopped during the restore: database '\(database)' of the '\(service)' service is partial; run the restore again")
            }
            throw error
        }
        await removeCopiesFromContainer()
        if !applied.settings.isEmpty {
            try await timed("normal settings") { try await resetSettings(applied, database: database, user: user) }
        }

        let counts = try await timed("count rows") { try await rowCounts(database: database, user: user) }
        let report = RestoreReport(
            archive: archiveFile.lastPathComponent, target: "compose", database: database, startedAt: startedAt, jobs: options.jobs,
            settings: applied.settings.map { "\($0.0)=\($0.1)" }, totalSeconds: Date().timeIntervalSince(startedAt), phases: timer.phases, pgRestorePhases: [],
            kinds: RestoreReport.kinds(from: log.itemTimings), errors: log.restoreErrors,
            foreignKeysAddedNotValid: addedNotValid, rowCounts: counts, prepare: preparePhase.runs ? prepared : nil)
        let reportFile = try? report.write(stateDirectory: context.stateDirectory)
        return RestoreOutcome(database: database, url: "compose service '\(service)', database '\(database)'", tableOfContents: toc,
                              rowCounts: counts, report: report, reportFile: reportFile, previousDatabase: nil)
    }

    /// `docker compose cp` keeps the host file's mode (0600, root's): readable for pg_restore
    /// only when the service's user is root. Inside the container the dump is the db server's
    /// own data, so it is made readable there (as root, whatever the service's `user:`).
    private func copyIntoContainer(dump: URL, list: URL) async throws {
        let paths = [Self.dumpPathInContainer, Self.listPathInContainer]
        try await reset.project.copy(file: dump, toService: reset.service, path: paths[0])
        try await reset.project.copy(file: list, toService: reset.service, path: paths[1])
        _ = try await context.runner.run(reset.project.command(["exec", "-T", "--user", "0", reset.service, "chmod", "0644"] + paths))
    }

    /// The copies in the container go however the restore ended: a dump left in the db
    /// container's /tmp would outlive the run (and the next reset keeps no trace of it).
    private func removeCopiesFromContainer() async {
        let paths = [Self.dumpPathInContainer, Self.listPathInContainer]
        do {
            try await reset.project.exec(service: reset.service, argv: ["rm", "-f"] + paths)
        } catch {
            context.logger.warning("could not remove the dump copied into the '\(reset.service)' container (\(error)); remove it with: docker compose exec \(reset.service) rm -f \(paths.joined(separator: " "))")
        }
    }

    /// Settings applied for a restore, and the fsync value to come back to.
    struct AppliedSettings: Sendable {
        var settings: [(String, String)] = []
        var fsyncBefore = "on"
    }

    /// LocalCluster's bulk-load settings through ALTER SYSTEM (the server's own user is a
    /// superuser in the postgres image; for another, nothing is changed and the log says so),
    /// then a reload, waited for. `wal_level=minimal` would need a restart: not applied.
    private func applyBulkLoadSettings(database: String, user: String) async throws -> AppliedSettings {
        let settings = LocalCluster.bulkLoadSettings(jobs: options.jobs)
        let state = try await psql(["--no-align", "--tuples-only", "--field-separator=|", "-c",
                                    "SELECT rolsuper, current_setting('fsync') FROM pg_roles WHERE rolname = current_user"],
                                   database: database, user: user).outputText.trimmingCharacters(in: .whitespacesAndNewlines)
        let fields = state.split(separator: "|").map(String.init)
        guard fields.count == 2, fields[0] == "t" else {
            context.logger.info("'\(user)' is not a superuser: the db service keeps its settings during the restore")
            return AppliedSettings()
        }
        // One statement at a time from standard input: ALTER SYSTEM refuses a transaction block.
        let sql = settings.map { "ALTER SYSTEM SET \($0.0) = '\($0.1)';" }.joined(separator: "\n") + "\nSELECT pg_reload_conf();\n"
        try await psql(["-v", "ON_ERROR_STOP=1", "--quiet"], database: database, user: user, input: Data(sql.utf8))
        try await awaitSetting("fsync", "off", database: database, user: user)
        return AppliedSettings(settings: settings, fsyncBefore: fields[1])
    }

    /// Back to the server's own values, waited for on fsync.
    private func resetSettings(_ applied: AppliedSettings, database: String, user: String) async throws {
        guard !applied.settings.isEmpty else { return }
        let sql = applied.settings.map { "ALTER SYSTEM RESET \($0.0);" }.joined(separator: "\n") + "\nSELECT pg_reload_conf();\n"
        try await psql(["-v", "ON_ERROR_STOP=1", "--quiet"], database: database, user: user, input: Data(sql.utf8))
        try await awaitSetting("fsync", applied.fsyncBefore, database: database, user: user)
    }

    /// Stopping `docker compose exec` on the host does not stop what it started in the
    /// container: after Ctrl-C, pg_restore (and a psql step) would go on loading. Their server
    /// sessions are ended instead; pg_restore (--exit-on-error) then exits on its own.
    private func endRestoreSessions(database: String, user: String) async throws {
        let sql = """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = '\(database.replacingOccurrences(of: "'", with: "''"))' AND pid <> pg_backend_pid()
              AND application_name IN ('pg_restore', 'psql')
            """
        let ended = try await psql(["--no-align", "--tuples-only", "-c", sql], database: database, user: user)
        context.logger.info("ended \(ended.outputText.trimmingCharacters(in: .whitespacesAndNewlines)) pg_restore/psql session(s) left in the '\(reset.service)' container")
    }

    /// A reload is asynchronous: sessions started before the postmaster read the file keep the
    /// old values. Polls new sessions, bounded (10 s).
    private func awaitSetting(_ name: String, _ expected: String, database: String, user: String) async throws {
        for _ in 0..<50 {
            let value = try await psql(["--no-align", "--tuples-only", "-c", "SHOW \(name)"], database: database, user: user)
                .outputText.trimmingCharacters(in: .whitespacesAndNewlines)
            if value == expected { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw RecetteFailure("the '\(reset.service)' server did not take \(name)=\(expected) within 10 s; see 'docker compose logs \(reset.service)'")
    }

    @discardableResult
    private func psql(_ arguments: [String], database: String, user: String, input: Data? = nil) async throws -> ProcessResult {
        try await reset.project.exec(service: reset.service, argv: ["psql", "--no-psqlrc", "--username=\(user)", "--dbname=\(database)"] + arguments, input: input)
    }

    /// Exact counts of every table in one query (query_to_xml runs a count per table).
    private func rowCounts(database: String, user: String) async throws -> [TableRowCount] {
        let sql = """
            SELECT n.nspname, c.relname,
                   (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            ORDER BY 1, 2
            """
        let output = try await psql(["--no-align", "--tuples-only", "--field-separator=\t", "-c", sql], database: database, user: user).outputText
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, let rows = Int(fields[2]) else { return nil }
            return TableRowCount(schema: fields[0], table: fields[1], rows: rows)
        }
    }
}
