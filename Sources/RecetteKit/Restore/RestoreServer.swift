import Foundation
import RecetteWorld

/// The PostgreSQL server a restore talks to, however it is reached: by libpq and a host
/// `pg_restore` (local and url targets), or through `docker compose exec` in the db service
/// (compose target). The restore engine (`PgRestoreRun`, `RestoreFinish`) is written once
/// over this protocol.
public protocol RestoreServer: Sendable {
    /// For messages: `the local server`, `the 'db' service`.
    var serverDescription: String { get }
    /// One SQL statement in `database`; its rows as text (NULL as nil where the route can tell).
    func query(_ sql: String, database: String) async throws -> [[String?]]
    /// Statements run one after the other, stopping at the first error.
    func execute(_ sql: String, database: String) async throws
    /// The prepare phase's session in `database`: one transaction where the route allows it
    /// (libpq), so its actions apply together or not at all.
    func session<T: Sendable>(database: String, _ body: (SQLSession) async throws -> T) async throws -> T
    /// Where pg_restore reads the dump and its `--use-list` (a container needs copies).
    func stage(dump: URL, list: URL) async throws -> StagedRestoreInput
    /// Removes what `stage` copied; runs however the restore ends.
    func unstage() async
    /// pg_restore `arguments` (without `--dbname` and the dump) into `database`. A failure
    /// throws the `ProcessError` of the run; standard error lines go to `onStandardErrorLine`.
    func pgRestore(_ arguments: [String], input: StagedRestoreInput, database: String,
                   onStandardErrorLine: @escaping @Sendable (String) -> Void) async throws
}

/// Statements of one session: `query` returns rows as text, `script` runs many statements.
public struct SQLSession: Sendable {
    public var query: @Sendable (String) async throws -> [[String?]]
    public var script: @Sendable (String) async throws -> Void
    /// Statements that may not share a transaction (CREATE/DROP DATABASE), one after the
    /// other, stopping at the first error: one round trip where the route allows (psql reads
    /// them from one standard input), one `script` each otherwise (libpq would wrap a
    /// multi-statement string in one transaction).
    public var statements: @Sendable ([String]) async throws -> Void

    public init(query: @escaping @Sendable (String) async throws -> [[String?]], script: @escaping @Sendable (String) async throws -> Void,
                statements: (@Sendable ([String]) async throws -> Void)? = nil) {
        self.query = query
        self.script = script
        self.statements = statements ?? { list in
            for statement in list { try await script(statement) }
        }
    }

    /// Each statement on the connection's own thread, never one of the concurrency pool's.
    public init(_ connection: PostgresConnection) {
        self.init(query: { sql in try await connection.onOwnThread { try $0.query(sql).rows } },
                  script: { sql in try await connection.onOwnThread { try $0.execute(sql) } })
    }
}

/// The paths a pg_restore run reads, as that run sees them.
public struct StagedRestoreInput: Sendable {
    public var dumpPath: String
    public var listPath: String
}

/// The steps every target runs the same way, with the same phase names: pg_restore,
/// statistics, the prepare phase, exact row counts.
public enum RestoreFinish {
    /// pg_restore (with the progress bar), ANALYZE, then the prepare phase, into `database`.
    /// `previous` opens the database being replaced, for the kept tables. The caller cleans up
    /// after a failure, in its target's way (an incoming database dropped, a volume left
    /// partial).
    static func load(into database: String, on server: any RestoreServer, pgRestore: String, context: RecetteContext, options: RestoreOptions,
                     dump: URL, toc: TableOfContents, workDirectory: URL, preparePhase: PreparePhase,
                     previous: () throws -> SQLSession?, timer: PhaseTimer) async throws -> (outcome: PgRestoreRun.Outcome, prepared: [PrepareAction]) {
        let progress = RestoreProgress(toc: toc, dataSizes: ArchiveDataSizes.read(from: dump),
                                       bar: ProgressBar(label: "restoring", enabled: context.showsProgress, showsBytes: false))
        defer { progress.finish() }
        let run = PgRestoreRun(server: server, pgRestore: pgRestore, runner: context.runner, logger: context.logger, database: database, options: options)
        let outcome = try await timer.time("pg_restore") {
            try await run.run(dump: dump, toc: toc, workDirectory: workDirectory, onItemFinished: progress.finished)
        }
        try await timer.time("analyze") { try await analyze(server, database: database, jobs: options.jobs) }
        guard preparePhase.runs else { return (outcome, []) }
        let prepared = try await timer.time("prepare") { try await prepare(preparePhase, on: server, database: database, previous: try previous()) }
        for action in prepared { context.logger.info("prepare: \(action.action): \(action.detail)") }
        return (outcome, prepared)
    }

    /// ANALYZE of every table, on `jobs` sessions at once (as `vacuumdb --analyze-only -j`):
    /// the tables go to the sessions largest first, each to the least loaded one. One session
    /// ran 1.5 s of a 21 s restore of the 1M-offer sample while the other core idled.
    /// A database with partitioned tables is analysed whole, in one statement: naming a parent
    /// and its partitions would analyse the partitions twice.
    public static func analyze(_ server: any RestoreServer, database: String, jobs: Int = 1) async throws {
        guard jobs > 1 else { return try await server.execute("ANALYZE", database: database) }
        let tables = try await server.query(analyzedTablesSQL, database: database)
        guard !tables.contains(where: { $0.count > 2 && $0[2] == "p" }) else {
            return try await server.execute("ANALYZE", database: database)
        }
        let groups = balanced(tables.compactMap { row in
            guard row.count > 1, let name = row[0] else { return nil }
            return (name, Int64(row[1] ?? "") ?? 0)
        }, into: jobs)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for tables in groups where !tables.isEmpty {
                group.addTask { try await server.execute("ANALYZE " + tables.joined(separator: ", "), database: database) }
            }
            try await group.waitForAll()
        }
    }

    /// What a plain ANALYZE covers (tables and materialized views, the catalogs included;
    /// TOAST tables are analysed with their table), with their size on disk.
    static let analyzedTablesSQL = """
        SELECT format('%I.%I', n.nspname, c.relname),
               pg_relation_size(c.oid) + coalesce(pg_relation_size(nullif(c.reltoastrelid, 0)), 0), c.relkind
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'm', 'p') AND n.nspname <> 'pg_toast' AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
        ORDER BY 2 DESC, 1
        """

    /// `tables` in `count` groups of about the same total size: largest first, each into the
    /// group holding the least so far.
    static func balanced(_ tables: [(name: String, bytes: Int64)], into count: Int) -> [[String]] {
        var groups = [(bytes: Int64, names: [String])](repeating: (0, []), count: max(1, count))
        for table in tables.sorted(by: { ($0.bytes, $1.name) > ($1.bytes, $0.name) }) {
            let lightest = groups.indices.min { groups[$0].bytes < groups[$1].bytes }!
            groups[lightest].bytes += table.bytes
            groups[lightest].names.append(table.name)
        }
        return groups.map(\.names)
    }

    /// `previous`: the database being replaced, for the kept tables (local and url targets).
    public static func prepare(_ phase: PreparePhase, on server: any RestoreServer, database: String,
                               previous: SQLSession? = nil) async throws -> [PrepareAction] {
        try await server.session(database: database) { session in
            try await phase.run(query: session.query, script: session.script, previous: previous?.query)
        }
    }

    public static func rowCounts(_ server: any RestoreServer, database: String) async throws -> [TableRowCount] {
        TableRowCount.parse(try await server.query(TableRowCount.sql, database: database))
    }
}

/// A server reached by libpq from this machine, with this machine's pg_restore.
public struct LibpqRestoreServer: RestoreServer {
    public var destination: any RestoreDestination
    public var pgRestorePath: String
    public var runner: any ProcessRunning

    public init(destination: any RestoreDestination, pgRestorePath: String, runner: any ProcessRunning) {
        self.destination = destination
        self.pgRestorePath = pgRestorePath
        self.runner = runner
    }

    public var serverDescription: String { destination.serverDescription }

    private func connection(_ database: String) throws -> PostgresConnection {
        try PostgresConnection(url: try destination.connectionString(database: database))
    }

    public func query(_ sql: String, database: String) async throws -> [[String?]] {
        let connection = try connection(database)
        return try await connection.onOwnThread { try $0.query(sql).rows }
    }

    public func execute(_ sql: String, database: String) async throws {
        let connection = try connection(database)
        try await connection.onOwnThread { try $0.execute(sql) }
    }

    public func session<T: Sendable>(database: String, _ body: (SQLSession) async throws -> T) async throws -> T {
        let connection = try connection(database)
        try await connection.onOwnThread { try $0.execute("BEGIN") }
        let result = try await body(SQLSession(connection))
        // Without COMMIT (an error above) the transaction goes with the connection.
        try await connection.onOwnThread { try $0.execute("COMMIT") }
        return result
    }

    /// A session on an existing database, outside any transaction (the one being replaced).
    public func plainSession(database: String) throws -> SQLSession {
        SQLSession(try connection(database))
    }

    public func stage(dump: URL, list: URL) async throws -> StagedRestoreInput {
        StagedRestoreInput(dumpPath: dump.path, listPath: list.path)
    }

    public func unstage() async {}

    public func pgRestore(_ arguments: [String], input: StagedRestoreInput, database: String,
                          onStandardErrorLine: @escaping @Sendable (String) -> Void) async throws {
        let command = Command(pgRestorePath, arguments + ["--dbname=\(database)", input.dumpPath],
                              environment: try destination.clientEnvironment(database: database))
        _ = try await runner.run(command, input: nil, output: .discard, onStandardErrorLine: onStandardErrorLine, acceptedExitStatuses: [0])
    }
}
