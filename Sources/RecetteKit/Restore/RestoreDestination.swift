import Foundation
import RecetteWorld

/// A PostgreSQL server a restore goes to, and how it treats the database it replaces.
public protocol RestoreDestination: Sendable {
    /// `local`, `url`… for reports.
    var targetName: String { get }
    /// For messages: `the local server`, `127.0.0.1:10000`.
    var serverDescription: String { get }
    /// Makes the server reachable (starts the local cluster…).
    func prepare() async throws
    /// A libpq connection string for `database` (secrets stay in it, never printed).
    func connectionString(database: String) throws -> String
    /// libpq environment for child programs (pg_restore) to reach `database`.
    func clientEnvironment(database: String) throws -> [String: String]
    /// The database to connect to for CREATE/ALTER/DROP DATABASE.
    var maintenanceDatabase: String { get }
    /// Bulk-load settings to apply during the restore (empty: leave the server alone).
    var bulkLoadSettings: [(String, String)] { get }
    func applySettings(_ settings: [(String, String)]) throws
    func resetSettings(_ names: [String]) throws
    /// Keep the replaced database under a dated name (until the next run) instead of dropping it.
    var keepsPreviousDatabase: Bool { get }
    /// URL of the restored database, for people: no secret in it.
    func displayURL(database: String) throws -> String
    /// A copy nobody minds losing to a server crash (recette's own cluster): `--unlogged` is
    /// allowed.
    var holdsThrowawayCopies: Bool { get }
}

extension RestoreDestination {
    /// `--unlogged` trades crash safety for speed: only on throwaway copies.
    func check(_ options: RestoreOptions) throws {
        if options.unlogged && !holdsThrowawayCopies {
            throw RecetteFailure("--unlogged is for throwaway copies (local, compose targets): a crash of \(serverDescription) would empty unlogged tables; restore into the \(targetName) target without it")
        }
    }
}

/// The `local` target: recette's own cluster.
public struct LocalDestination: RestoreDestination {
    public let cluster: LocalCluster
    public let jobs: Int
    public let bulkLoad: Bool
    private let port: LockedValue<Int?> = LockedValue(nil)
    private let bulkLoadHold: LockedValue<LocalCluster.BulkLoadHold?> = LockedValue(nil)

    public init(cluster: LocalCluster, jobs: Int, bulkLoad: Bool = true) {
        self.cluster = cluster
        self.jobs = jobs
        self.bulkLoad = bulkLoad
    }

    public var targetName: String { "local" }
    public var serverDescription: String { "the local server" }
    public var maintenanceDatabase: String { "postgres" }
    public var keepsPreviousDatabase: Bool { false }
    public var holdsThrowawayCopies: Bool { true }
    public var bulkLoadSettings: [(String, String)] { bulkLoad ? LocalCluster.bulkLoadSettings(jobs: jobs) : [] }

    public func prepare() async throws {
        let status = try await cluster.start()
        guard let port = status.port else { throw RecetteFailure("the local PostgreSQL server runs but its port is unknown; run 'recette local stop' then retry") }
        self.port.set(port)
    }

    private func requirePort() throws -> Int {
        guard let port = port.get() else { throw RecetteFailure("the local server was not prepared") }
        return port
    }

    public func connectionString(database: String) throws -> String { cluster.url(database: database, port: try requirePort()) }
    public func displayURL(database: String) throws -> String { cluster.url(database: database, port: try requirePort()) }
    public func clientEnvironment(database: String) throws -> [String: String] { cluster.clientEnvironment(database: database, port: try requirePort()) }
    public func applySettings(_ settings: [(String, String)]) throws {
        bulkLoadHold.set(try cluster.beginBulkLoad(settings, port: try requirePort()))
    }

    /// Once per restore, whichever path it ends by; the last restore into the cluster resets.
    public func resetSettings(_ names: [String]) throws {
        var hold: LocalCluster.BulkLoadHold?
        bulkLoadHold.mutate { hold = $0; $0 = nil }
        guard let hold else { return }
        try cluster.endBulkLoad(hold, resetting: names, port: try requirePort())
    }
}

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
    public var bulkLoadSettings: [(String, String)] { [] }

    /// Before anything is created or dropped: the target is not the recette app's own database,
    /// however either URL spells the host (`localhost`, `127.0.0.1`, a tunnel's port).
    public func prepare() async throws {
        guard let source else { return }
        try SourceDatabaseGuard.check(target: self, source: URLDestination(target: source, dropPrevious: false))
    }

    public func applySettings(_ settings: [(String, String)]) throws {}
    public func resetSettings(_ names: [String]) throws {}

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

/// A `postgresql://user:password@host:port/database?params` URL, password kept as a Secret.
public struct PostgresURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var database: String
    public var user: String?
    public var password: Secret?
    public var parameters: [String: String]

    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let host = components.host, !host.isEmpty else {
            throw RecetteFailure("'\(Redaction.redactingURLPasswords(in: text))' is not a PostgreSQL URL; expected postgresql://user:password@host:port/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw RecetteFailure("'\(Redaction.redactingURLPasswords(in: text))' names no database; add /DATABASE after the host")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.database = database.removingPercentEncoding ?? database
        self.user = components.user?.removingPercentEncoding
        self.password = components.password.map { Secret($0.removingPercentEncoding ?? $0) }
        self.parameters = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
    }

    public func display(database: String) -> String {
        "postgresql://\(user.map { "\($0)@" } ?? "")\(host):\(port)/\(database)"
    }

    /// Same spelling of server and database (the password does not matter).
    public func isSameDatabase(as other: PostgresURL) -> Bool {
        host.lowercased() == other.host.lowercased() && port == other.port && database == other.database
    }
}

/// The url target's guard: a restore replaces a whole database, so a server that is not this
/// machine needs the URL named on the command line and a confirmation, and the recette app's
/// own database (the source of the backups) is never a target.
public enum URLTargetGuard {
    public enum Confirmation: Sendable {
        case assumeYes
        /// Ask on the terminal; the closure returns what the user typed.
        case ask(@Sendable (String) -> String?)
        case impossible
    }

    public static func check(target: PostgresURL, namedOnCommandLine: Bool, source: PostgresURL?, confirmation: Confirmation,
                             resolver: HostResolver = .system) throws {
        // Same text: refused at once. Other spellings of the same database are caught once
        // connected (SourceDatabaseGuard), before anything is changed.
        if let source, target.isSameDatabase(as: source) {
            throw SourceDatabaseGuard.refusal(target)
        }
        guard !resolver.isThisMachine(target.host) else { return }
        guard namedOnCommandLine else {
            throw RecetteFailure("DATABASE_URL points at \(target.host), which is not this machine; to replace database '\(target.database)' there, name it with --target-url and confirm (or reach it through 'scalingo db-tunnel', which listens on 127.0.0.1)")
        }
        switch confirmation {
        case .assumeYes:
            return
        case .impossible:
            throw RecetteFailure("replacing database '\(target.database)' on \(target.host):\(target.port) needs confirmation: pass --yes")
        case .ask(let prompt):
            let answer = prompt("This replaces database '\(target.database)' on \(target.host):\(target.port) with the backup. Type the database name to go on: ")
            guard answer?.trimmingCharacters(in: .whitespaces) == target.database else {
                throw RecetteFailure("not confirmed; nothing was changed on \(target.host)")
            }
        }
    }
}

/// The recette app's own database is never a target. Whether two URLs reach the same database
/// is asked of the servers: the same running server (its start time, and its system identifier
/// where the role may read it) and the same database oid.
public enum SourceDatabaseGuard {
    struct Identity: Equatable {
        var serverStarted: String
        var systemIdentifier: String?
        var databaseOID: String

        func isSame(as other: Identity) -> Bool {
            serverStarted == other.serverStarted && databaseOID == other.databaseOID
                && (systemIdentifier == nil || other.systemIdentifier == nil || systemIdentifier == other.systemIdentifier)
        }
    }

    static func refusal(_ target: PostgresURL) -> RecetteFailure {
        RecetteFailure("the target \(target.display(database: target.database)) is the recette app's own database (SCALINGO_POSTGRESQL_URL); recette never restores over the source of its backups")
    }

    static func identity(of database: String, on connection: PostgresConnection) throws -> Identity? {
        let server = try connection.query("SELECT pg_postmaster_start_time()::text").scalar ?? ""
        // pg_control_system() may be closed to ordinary roles: then the start time decides.
        let system = try? connection.query("SELECT system_identifier::text FROM pg_control_system()").scalar
        guard let oid = try connection.query("SELECT oid::text FROM pg_database WHERE datname = $1", [database]).scalar else { return nil }
        return Identity(serverStarted: server, systemIdentifier: system ?? nil, databaseOID: oid)
    }

    public static func check(target: URLDestination, source: URLDestination) throws {
        let targetServer = try PostgresConnection(url: try target.connectionString(database: target.maintenanceDatabase))
        guard let targetIdentity = try identity(of: target.target.database, on: targetServer) else {
            return  // a database that does not exist yet is nobody's source
        }
        let sourceServer: PostgresConnection
        do {
            var environment = try source.clientEnvironment(database: source.target.database)
            environment["PGCONNECT_TIMEOUT"] = "5"
            sourceServer = try PostgresConnection(url: PostgresConnection.connectionString(libpqEnvironment: environment, database: source.target.database))
        } catch {
            // Unreachable from here (no tunnel open): the servers cannot be compared, so a target
            // named like the source is refused rather than trusted.
            if source.target.database == target.target.database {
                throw RecetteFailure("cannot reach SCALINGO_POSTGRESQL_URL (\(source.serverDescription)) to make sure the target is not the recette app's own database, and both are named '\(target.target.database)'; open a tunnel to it and set SCALINGO_POSTGRESQL_URL to the tunnel, or restore into a differently named database")
            }
            return
        }
        guard let sourceIdentity = try identity(of: source.target.database, on: sourceServer) else { return }
        if targetIdentity.isSame(as: sourceIdentity) { throw refusal(target.target) }
    }
}
