import Foundation
import Logging

/// What a restore produced.
public struct RestoreOutcome: Sendable {
    public var database: String
    /// URL of the restored database, without secrets.
    public var url: String
    public var tableOfContents: TableOfContents
    public var rowCounts: [TableRowCount]
    public var report: RestoreReport
    /// `.recette/runs/restore-<timestamp>.json`
    public var reportFile: URL?
}

/// Restores a backup into the `local` target.
///
/// Nothing existing is touched until the new copy is complete: every check runs first, the
/// dump goes into a fresh database, which then takes the place of the old one by renaming.
/// A bad archive, a failed or interrupted pg_restore leaves the previous database as it was.
public struct LocalRestore: Sendable {
    public var context: RecetteContext
    public var database: String
    public var options: RestoreOptions
    /// Bulk-load server settings during the restore (reverted afterwards).
    public var bulkLoad = true

    public init(context: RecetteContext, database: String? = nil, jobs: Int? = nil, options: RestoreOptions? = nil) {
        self.context = context
        self.database = database ?? context.configuration[.localDatabase] ?? "recette"
        var options = options ?? RestoreOptions()
        if let jobs { options.jobs = jobs }
        self.options = options
    }

    public var jobs: Int { options.jobs }

    public func restore(archiveFile: URL) async throws -> RestoreOutcome {
        let logger = context.logger
        let runner = context.runner
        let clock = ContinuousClock()
        let startedAt = Date()
        var phases: [RestoreReport.Phase] = []
        func timed<T>(_ phase: String, _ work: () async throws -> T) async throws -> T {
            let start = clock.now
            defer { phases.append(.init(name: phase, seconds: (clock.now - start).seconds)) }
            return try await work()
        }

        // 1. Everything about the input is checked before the target is touched.
        logger.info("checking \(archiveFile.path)")
        let workDirectory = context.stateDirectory.appendingPathComponent("work").appendingPathComponent(UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: workDirectory) }
        let tools = context.postgresTools
        let pgRestore = try tools.require(.pgRestore)
        let (dump, toc) = try await timed("verify") { () async throws -> (URL, TableOfContents) in
            let archive = try await BackupArchive.inspect(archiveFile, runner: runner)
            let dump = try await archive.dumpFile(extractingInto: workDirectory.appendingPathComponent("dump"), runner: runner)
            let name = archive.kind == .customDump ? "'\(archiveFile.path)'" : "'\(dump.lastPathComponent)' in '\(archiveFile.path)'"
            // The version first: an older pg_restore cannot even list a newer archive.
            let version = try ArchiveVersion.read(from: dump)
            let pgRestoreMajor = PostgresTools.majorVersion(fromVersionOutput: try await runner.output(of: Command(pgRestore, ["--version"]))) ?? 0
            try RestorePreflight(pgRestoreMajor: pgRestoreMajor).checkArchiveVersion(version, dumpName: name)
            let toc = try await DumpReader(pgRestore: pgRestore, runner: runner).tableOfContents(of: dump, describedAs: name)
            return (dump, toc)
        }
        logger.info("dump: \(toc.entries.count) items, from PostgreSQL \(toc.sourceServerVersion ?? "?"), pg_dump \(toc.pgDumpVersion ?? "?")")

        let cluster = context.localCluster
        let status = try await timed("start server") { try await cluster.start() }
        guard let port = status.port else { throw RecetteFailure("the local PostgreSQL server runs but its port is unknown; run 'recette local stop' then retry") }
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        try RestorePreflight(pgRestoreMajor: 0).checkExtensions(toc: toc, on: admin, serverDescription: "the local server")

        // 2. Restore into a new database, on bulk-load settings.
        let incoming = "\(database)__recette_incoming"
        let previous = "\(database)__recette_previous"
        try admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(incoming)) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(incoming))")
        let settings = bulkLoad ? LocalCluster.bulkLoadSettings(jobs: options.jobs) : []
        if !settings.isEmpty {
            try await timed("bulk-load settings") { try cluster.applySettings(settings, port: port) }
        }
        logger.info("restoring into a new database with \(options.jobs) job(s)")
        let restoreRun = PgRestoreRun(pgRestore: pgRestore, runner: runner, logger: logger,
                                      environment: cluster.clientEnvironment(database: incoming, port: port),
                                      database: incoming, options: options)
        let outcome: PgRestoreRun.Outcome
        do {
            outcome = try await timed("pg_restore") { try await restoreRun.run(dump: dump, toc: toc, workDirectory: workDirectory) }
            if !settings.isEmpty {
                try await timed("normal settings") { try cluster.resetSettings(settings.map(\.0), port: port) }
            }
        } catch {
            // Runs even when the task was cancelled (Ctrl-C): a fresh task is not cancelled.
            await Task {
                if !settings.isEmpty { try? cluster.resetSettings(settings.map(\.0), port: port) }
                let admin = try? PostgresConnection(url: cluster.url(database: "postgres", port: port))
                try? admin?.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(incoming)) WITH (FORCE)")
            }.value
            if let failure = error as? PgRestoreFailure {
                throw RecetteFailure("pg_restore failed on '\(archiveFile.lastPathComponent)': \(failure); the existing '\(database)' database was left as it was")
            }
            throw error
        }
        try await timed("analyze") {
            let connection = try PostgresConnection(url: cluster.url(database: incoming, port: port))
            try await connection.cancellable { try $0.execute("ANALYZE") }
        }

        // 3. Swap: the old copy is dropped only once the new one is in place.
        let admin2 = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        try await timed("swap") {
            let exists = try admin2.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).rows.isEmpty == false
            try admin2.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(previous)) WITH (FORCE)")
            if exists {
                try admin2.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database])
                try admin2.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(database)) RENAME TO \(PostgresConnection.quoteIdentifier(previous))")
            }
            try admin2.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(incoming)) RENAME TO \(PostgresConnection.quoteIdentifier(database))")
            if exists {
                try admin2.execute("DROP DATABASE \(PostgresConnection.quoteIdentifier(previous)) WITH (FORCE)")
            }
        }

        let url = cluster.url(database: database, port: port)
        let counts = try await timed("count rows") { try TableRowCount.all(in: PostgresConnection(url: url)) }
        let report = RestoreReport(
            archive: archiveFile.lastPathComponent, target: "local", database: database, startedAt: startedAt, jobs: options.jobs,
            settings: settings.map { "\($0.0)=\($0.1)" },
            totalSeconds: Date().timeIntervalSince(startedAt),
            phases: phases, pgRestorePhases: outcome.phases,
            kinds: RestoreReport.kinds(from: outcome.items), errors: outcome.errors,
            foreignKeysAddedNotValid: outcome.foreignKeysAddedNotValid, rowCounts: counts)
        let reportFile = try? report.write(into: context.stateDirectory.appendingPathComponent("runs"))
        return RestoreOutcome(database: database, url: url, tableOfContents: toc, rowCounts: counts, report: report, reportFile: reportFile)
    }
}

extension Duration {
    public var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
