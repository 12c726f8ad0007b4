import Foundation
import Logging

/// What a restore produced.
public struct RestoreOutcome: Sendable {
    public var database: String
    /// URL of the restored database, without secrets.
    public var url: String
    public var tableOfContents: TableOfContents
    public var rowCounts: [TableRowCount]
    public var seconds: [String: Double]
}

/// Restores a backup into the `local` target.
///
/// Nothing existing is touched until the new copy is complete: the dump goes into a fresh
/// database, which then takes the place of the old one by renaming. A bad archive or a failed
/// pg_restore leaves the previous database exactly as it was.
public struct LocalRestore: Sendable {
    public var context: RecetteContext
    public var database: String
    public var jobs: Int

    public init(context: RecetteContext, database: String? = nil, jobs: Int? = nil) {
        self.context = context
        self.database = database ?? context.configuration[.localDatabase] ?? "recette"
        self.jobs = jobs ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    public func restore(archiveFile: URL) async throws -> RestoreOutcome {
        let logger = context.logger
        let runner = context.runner
        let clock = ContinuousClock()
        var seconds: [String: Double] = [:]
        func timed<T>(_ phase: String, _ work: () async throws -> T) async throws -> T {
            let start = clock.now
            defer { seconds[phase] = (clock.now - start).seconds }
            return try await work()
        }

        // 1. Everything about the input is checked before the target is touched.
        logger.info("checking \(archiveFile.path)")
        let archive = try await timed("verify") { try await BackupArchive.inspect(archiveFile, runner: runner) }
        let workDirectory = context.stateDirectory.appendingPathComponent("work").appendingPathComponent(UUID().uuidString)
        defer { try? FileManager.default.removeItem(at: workDirectory) }
        let pgRestore = try context.postgresTools.require(.pgRestore)
        let (dump, toc) = try await timed("extract") { () async throws -> (URL, TableOfContents) in
            let dump = try await archive.dumpFile(extractingInto: workDirectory, runner: runner)
            let name = archive.kind == .customDump ? "'\(archiveFile.path)'" : "'\(dump.lastPathComponent)' in '\(archiveFile.path)'"
            let toc = try await DumpReader(pgRestore: pgRestore, runner: runner).tableOfContents(of: dump, describedAs: name)
            return (dump, toc)
        }
        logger.info("dump: \(toc.entries.count) items, from PostgreSQL \(toc.sourceServerVersion ?? "?"), pg_dump \(toc.pgDumpVersion ?? "?")")

        // 2. Restore into a new database.
        let cluster = context.localCluster
        let status = try await timed("start") { try await cluster.start() }
        guard let port = status.port else { throw RecetteFailure("the local PostgreSQL server runs but its port is unknown; run 'recette local stop' then retry") }
        let incoming = "\(database)__recette_incoming"
        let previous = "\(database)__recette_previous"
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        try admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(incoming)) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(incoming))")
        logger.info("restoring into a new database with \(jobs) job(s)")
        do {
            _ = try await timed("restore") {
                try await runner.run(
                    Command(pgRestore, ["--no-owner", "--no-privileges", "--exit-on-error", "--jobs=\(jobs)", "--dbname=\(incoming)", dump.path],
                            environment: cluster.clientEnvironment(database: incoming, port: port)),
                    input: nil, output: .discard,
                    onStandardErrorLine: { line in logger.debug("\(line)") },
                    acceptedExitStatuses: [0]
                )
            }
        } catch {
            // The half-restored copy goes; the previous database was never touched.
            try? admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(incoming)) WITH (FORCE)")
            if let error = error as? ProcessError {
                // pg_restore names the cause first; later lines are consequences
                // ("a worker process died unexpectedly").
                let line = error.standardErrorTail.first(where: { $0.contains("error:") })?
                    .replacingOccurrences(of: "pg_restore: error: ", with: "") ?? error.description
                throw RecetteFailure("pg_restore failed on '\(archiveFile.lastPathComponent)': \(line); the existing '\(database)' database was left as it was")
            }
            throw error
        }

        // 3. Swap: the old copy is dropped only once the new one is in place.
        try await timed("swap") {
            let exists = try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).rows.isEmpty == false
            try admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(previous)) WITH (FORCE)")
            if exists {
                try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database])
                try admin.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(database)) RENAME TO \(PostgresConnection.quoteIdentifier(previous))")
            }
            try admin.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(incoming)) RENAME TO \(PostgresConnection.quoteIdentifier(database))")
            if exists {
                try admin.execute("DROP DATABASE \(PostgresConnection.quoteIdentifier(previous)) WITH (FORCE)")
            }
        }

        let url = cluster.url(database: database, port: port)
        let counts = try await timed("count") { try TableRowCount.all(in: PostgresConnection(url: url)) }
        return RestoreOutcome(database: database, url: url, tableOfContents: toc, rowCounts: counts, seconds: seconds)
    }
}

extension Duration {
    public var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
