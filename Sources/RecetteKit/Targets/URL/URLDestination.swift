import Foundation
import RecetteWorld

/// The `url` target: any PostgreSQL server (a review app through `scalingo db-tunnel`…).
/// Its settings are not touched; the replaced database is kept under a dated name.
public struct URLDestination: RestoreDestination {
    public let target: PostgresURL
    public let dropPrevious: Bool
    /// The recette app's own database (`SCALINGO_POSTGRESQL_URL`): `prepare()` makes sure,
    /// from both servers' answers, that the target is not it.
    public let source: PostgresURL?

    public init(target: PostgresURL, dropPrevious: Bool, source: PostgresURL? = nil) {
        self.target = target
        self.dropPrevious = dropPrevious
        self.source = source
    }

    /// The configured url target (DATABASE_URL, or --target-url), once its guard passed: never
    /// the source app's database; a server that is not this machine only when named on the
    /// command line and confirmed (a dry run asks nothing: it changes nothing).
    public static func configured(by context: RecetteContext, namedOnCommandLine: Bool, dropPrevious: Bool) throws -> URLDestination {
        guard let text = context.configuration.secret(.databaseURL)?.reveal() else {
            throw RecetteFailure("the url target needs DATABASE_URL (or --target-url): the database to replace, e.g. through 'scalingo db-tunnel' on 127.0.0.1:10000")
        }
        let url = try PostgresURL(text)
        let source = try context.configuration.secret(.sourceDatabaseURL).map { try PostgresURL($0.reveal()) }
        let confirmation: URLTargetGuard.Confirmation = context.assumeYes || context.dryRun ? .assumeYes
            : context.terminal.standardErrorIsTTY && isatty(STDIN_FILENO) == 1 ? .ask { prompt in
                FileHandle.standardError.write(Data(prompt.utf8))
                return readLine()
            } : .impossible
        try URLTargetGuard.check(target: url, namedOnCommandLine: namedOnCommandLine, source: source, confirmation: confirmation)
        return URLDestination(target: url, dropPrevious: dropPrevious, source: source)
    }

    /// Whether the target's host is this machine (from its resolved addresses).
    public var isOnThisMachine: Bool { HostResolver.system.isThisMachine(target.host) }

    public var targetName: String { "url" }
    public var serverDescription: String { "\(target.host):\(target.port)" }
    public var maintenanceDatabase: String { "postgres" }
    public var keepsPreviousDatabase: Bool { !dropPrevious }
    public var holdsThrowawayCopies: Bool { false }
    /// A URL says nothing of where the server's files are, even on this machine.
    public var serverFilesAreHere: Bool { false }
    public var bulkLoadSettings: [(String, String)] { [] }

    /// Before anything is created or dropped: the target is not the recette app's own database,
    /// however either URL spells the host (`localhost`, `127.0.0.1`, a tunnel's port).
    public func prepare() async throws {
        guard let source else { return }
        try SourceDatabaseGuard.check(target: self, source: URLDestination(target: source, dropPrevious: false))
    }

    public func applySettings(_ settings: [(String, String)]) async throws {}
    public func resetSettings(_ names: [String]) async throws {}

    public func connectionString(database: String) throws -> String {
        PostgresConnection.connectionString(libpqEnvironment: try clientEnvironment(database: database), database: database)
    }

    public func clientEnvironment(database: String) throws -> [String: String] {
        var environment = ["PGHOST": target.host, "PGPORT": String(target.port), "PGDATABASE": database]
        if let user = target.user { environment["PGUSER"] = user }
        if let password = target.password { environment["PGPASSWORD"] = password.reveal() }
        for (key, value) in target.parameters {
            switch key {
            case "sslmode": environment["PGSSLMODE"] = value
            case "passfile": environment["PGPASSFILE"] = value
            default: break
            }
        }
        return environment
    }

    public func displayURL(database: String) throws -> String { target.display(database: database) }
}
