import Foundation
import RecetteWorld

/// Rows through the compose db service itself: `docker compose exec -T <service> psql`, for a
/// service that publishes no port (a team's file often keeps the db on an internal network).
/// The password travels as `-e PGPASSWORD`, its value in docker compose's own environment,
/// never on a command line. Stopping `docker compose exec` does not stop the psql it started:
/// a read-only query that nobody reads any more ends on its own when its output is gone.
public struct ComposeServiceRowSource: SearchRowSource {
    public var project: ComposeProject
    public var service: String
    public var user: String
    public var database: String
    public var password: Secret?

    public init(project: ComposeProject, service: String, user: String, database: String, password: Secret?) {
        self.project = project
        self.service = service
        self.user = user
        self.database = database
        self.password = password
    }

    public var display: String {
        "database '\(database)' of the compose service '\(service)' (as \(user), through docker compose exec)"
    }

    /// What a query's CSV may hold: ids and timestamps of every row of an index.
    static let queryOutputLimit = 1 << 30

    public func query(_ sql: String) async throws -> QueryResult {
        // CSV with a header: column names, quoting and NULL (an unquoted empty field) as libpq gives them.
        let script = "COPY (\(sql)) TO STDOUT WITH (FORMAT csv, HEADER true);\n"
        let result = try await psql(script: script, output: .collect(limit: Self.queryOutputLimit))
        return try PostgresCSV.parse(result.standardOutput)
    }

    public func countAndCopy(countSQL: String, copySQL: String,
                             row: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) async throws -> (count: Int, copied: Int) {
        // One session, one snapshot: the count comes out first, as one line, then the rows.
        let script = """
            BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
            COPY (\(countSQL)) TO STDOUT;
            \(copySQL);
            COMMIT;

            """
        let reader = CopyLineReader(label: "recette.copy-lines", handler: CopyLines(row: row))
        // The stream goes through `docker exec` on the service's container rather than
        // `docker compose exec`: the same path into the container without compose loading the
        // project again (a second or so on a busy machine, for every rebuild).
        let container = try await project.runningContainer(of: service)
        var arguments = ["exec", "-i"]
        if password != nil { arguments += ["-e", "PGPASSWORD"] }
        let command = Command("docker", arguments + [container] + psqlArgv, environment: project.environment.merging(passwordEnvironment) { $1 },
                              workingDirectory: project.workingDirectory.path)
        do {
            _ = try await project.runner.run(command, input: Data(script.utf8), output: .chunks { chunk in try await reader.feed(chunk) },
                                             onStandardErrorLine: nil, acceptedExitStatuses: [0])
        } catch let error as ProcessError {
            throw failure(error)
        }
        try await reader.finish()
        return try reader.handler.result()
    }

    private var psqlArgv: [String] {
        ["psql", "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--username=\(user)", "--dbname=\(database)"]
    }

    /// Read by docker from its own environment (`-e PGPASSWORD`): never on a command line.
    private var passwordEnvironment: [String: String] {
        password.map { ["PGPASSWORD": $0.reveal()] } ?? [:]
    }

    private func failure(_ error: ProcessError) -> RecetteFailure {
        RecetteFailure("reading database '\(database)' of the compose service '\(service)' with psql failed: \(ComposeProject.lastLine(of: error)); is the service running? ('docker compose up -d \(service)')")
    }

    private func psql(script: String, output: StandardOutputHandling) async throws -> ProcessResult {
        do {
            return try await project.exec(service: service, argv: psqlArgv, environment: passwordEnvironment, input: Data(script.utf8), output: output)
        } catch let error as ProcessError {
            throw failure(error)
        }
    }
}
