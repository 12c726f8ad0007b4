import Foundation
import Logging
import RecetteWorld

/// The compose db service's server, reached inside its container (`docker compose exec -T`):
/// its own psql and pg_restore, so client and server versions match and no port needs to be
/// published. Connections are the server's local socket, as the service's user.
public struct ComposeServiceServer: RestoreServer {
    public var project: ComposeProject
    public var service: String
    public var user: String
    public var runner: any ProcessRunning
    public var logger: Logger

    static let dumpPath = "/tmp/recette-restore.pgsql"
    static let listPath = "/tmp/recette-restore.list"

    public init(project: ComposeProject, service: String, user: String, runner: any ProcessRunning, logger: Logger) {
        self.project = project
        self.service = service
        self.user = user
        self.runner = runner
        self.logger = logger
    }

    public var serverDescription: String { "the '\(service)' service" }

    @discardableResult
    func psql(_ arguments: [String], database: String, input: Data? = nil) async throws -> ProcessResult {
        try await project.exec(service: service, argv: ["psql", "--no-psqlrc", "--username=\(user)", "--dbname=\(database)"] + arguments, input: input)
    }

    /// Rows as psql prints them unaligned, tab-separated: a NULL and an empty string both read
    /// as "" (the callers' queries do not depend on the difference). The SQL goes through
    /// standard input, never argv: it can hold a password's hash.
    public func query(_ sql: String, database: String) async throws -> [[String?]] {
        let output = try await psql(["-v", "ON_ERROR_STOP=1", "--quiet", "--no-align", "--tuples-only", "--field-separator=\t"], database: database,
                                    input: Data(sql.utf8)).outputText
        return output.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map { String($0) } }
    }

    /// From standard input, one statement after the other (ALTER SYSTEM refuses a transaction
    /// block, so no single-transaction wrapping).
    public func execute(_ sql: String, database: String) async throws {
        try await psql(["-v", "ON_ERROR_STOP=1", "--quiet"], database: database, input: Data(sql.utf8))
    }

    /// One psql per statement: no transaction spans them (the reset left no previous database
    /// to protect); each script (a post-restore file) is one transaction of its own.
    public func session<T: Sendable>(database: String, _ body: (SQLSession) async throws -> T) async throws -> T {
        try await body(SQLSession(query: { sql in try await query(sql, database: database) },
                                  script: { sql in try await psql(["-v", "ON_ERROR_STOP=1", "--quiet", "--single-transaction"], database: database, input: Data(sql.utf8)) }))
    }

    /// `docker compose cp` keeps the host file's mode (0600, root's): readable for pg_restore
    /// only when the service's user is root. Inside the container the dump is the db server's
    /// own data, so it is made readable there (as root, whatever the service's `user:`).
    public func stage(dump: URL, list: URL) async throws -> StagedRestoreInput {
        try await project.copy(file: dump, toService: service, path: Self.dumpPath)
        try await project.copy(file: list, toService: service, path: Self.listPath)
        _ = try await runner.run(project.command(["exec", "-T", "--user", "0", service, "chmod", "0644", Self.dumpPath, Self.listPath]))
        return StagedRestoreInput(dumpPath: Self.dumpPath, listPath: Self.listPath)
    }

    /// The copies in the container go however the restore ended: a dump left in the db
    /// container's /tmp would outlive the run (and the next reset keeps no trace of it).
    public func unstage() async {
        do {
            try await project.exec(service: service, argv: ["rm", "-f", Self.dumpPath, Self.listPath])
        } catch {
            logger.warning("could not remove the dump copied into the '\(service)' container (\(error)); remove it with: docker compose exec \(service) rm -f \(Self.dumpPath) \(Self.listPath)")
        }
    }

    public func pgRestore(_ arguments: [String], input: StagedRestoreInput, database: String,
                          onStandardErrorLine: @escaping @Sendable (String) -> Void) async throws {
        let argv = ["pg_restore"] + arguments + ["--username=\(user)", "--dbname=\(database)", input.dumpPath]
        _ = try await runner.run(project.command(["exec", "-T", service] + argv), input: nil, output: .discard,
                                         onStandardErrorLine: onStandardErrorLine, acceptedExitStatuses: [0])
    }

    /// Stopping `docker compose exec` on the host does not stop what it started in the
    /// container: after Ctrl-C, pg_restore (and a psql step) would go on loading. Their server
    /// sessions are ended instead; pg_restore (--exit-on-error) then exits on its own.
    func endRestoreSessions(database: String) async throws -> String {
        let sql = """
            SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
            WHERE datname = '\(database.replacingOccurrences(of: "'", with: "''"))' AND pid <> pg_backend_pid()
              AND application_name IN ('pg_restore', 'psql')
            """
        return try await query(sql, database: database).first?.first??.trimmingCharacters(in: .whitespaces) ?? "0"
    }
}
