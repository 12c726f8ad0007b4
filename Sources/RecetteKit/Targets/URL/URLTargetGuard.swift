import Foundation
import RecetteWorld

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
