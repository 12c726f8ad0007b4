import Foundation
import Logging
import RecetteWorld

/// Puts a complete new database in the place of another, by renaming: the url target's way
/// (and the local one's) of replacing a database without ever being without one. The new
/// database is built under `names.incoming`; the replaced one is dropped, or kept as
/// `names.previous(at:)` until the next swap, which drops older copies.
///
/// Another run may be building the same incoming database on the same server (two checkouts
/// sharing a local cluster, two people restoring one review app). A run first *claims* the
/// incoming name with a session-level advisory lock, which the server releases however the
/// run ends (its connection closes, even after `kill -9`). An incoming database is a leftover
/// to drop only while nobody holds its claim, and only when it is recette's (its marker
/// comment, or none at all), never by its name alone.
public struct DatabaseSwap: Sendable {
    /// libpq connection string of the server's maintenance database (`postgres`); nil for a
    /// server reached otherwise (the compose db service), whose claims are unlocked.
    public var maintenanceConnection: String?
    public var names: DerivedDatabaseNames
    public var keepsPrevious: Bool
    public var logger: Logger

    public init(maintenanceConnection: String?, database: String, keepsPrevious: Bool, logger: Logger) throws {
        self.maintenanceConnection = maintenanceConnection
        self.names = try DerivedDatabaseNames(base: database)
        self.keepsPrevious = keepsPrevious
        self.logger = logger
    }

    public var database: String { names.base }
    public var incoming: String { names.incoming }

    public func previousName(at date: Date) -> String { names.previous(at: date) }

    /// The comment an incoming database carries while it is built: recette's, for this base.
    var incomingMarker: String { "recette: incoming copy of \"\(database)\"" }

    /// Takes this run's claim on the incoming name and checks, before anything is changed, that
    /// none of the names this run will create is someone else's database. Hold the claim until
    /// the swap is done.
    public func claim(serverDescription: String, at date: Date) async throws -> IncomingClaim {
        guard let maintenanceConnection else {
            throw RecetteFailure("no connection to \(serverDescription) to claim '\(names.incoming)' on")
        }
        let claim = try IncomingClaim(maintenanceConnection: maintenanceConnection, incoming: incoming,
                                      description: "recette restore of '\(database)', pid \(getpid()) on \(ProcessInfo.processInfo.hostName)")
        try claim.acquire(serverDescription: serverDescription)
        try await checkNames(claim.session, serverDescription: serverDescription, at: date)
        return claim
    }

    /// A claim without a lock of its own, for a server only this project uses (the compose db
    /// service): the project's run lock (`.recette/lock`) already keeps a second run out, and
    /// psql through `docker compose exec` holds no session between statements. The names are
    /// checked as for a locked claim.
    public func claim(on session: SQLSession, serverDescription: String, at date: Date) async throws -> IncomingClaim {
        try await checkNames(session, serverDescription: serverDescription, at: date)
        return IncomingClaim(unlocked: session)
    }

    private func checkNames(_ session: SQLSession, serverDescription: String, at date: Date) async throws {
        let literal = PostgresConnection.quoteLiteral
        let existing = try await session.query("""
            SELECT datname, shobj_description(oid, 'pg_database') AS marker FROM pg_database
            WHERE datname IN (\(literal(incoming)), \(literal(previousName(at: date))))
            """)
        for row in existing {
            let name = (row.first ?? nil) ?? ""
            // psql in a container prints NULL as "": no database carries an empty comment.
            let marker = row.count > 1 ? row[1].flatMap { $0.isEmpty ? nil : $0 } : nil
            if name == incoming, marker == nil || marker?.hasPrefix(incomingMarker) == true { continue }
            throw RecetteFailure("database '\(name)' already exists on \(serverDescription) and is not a leftover of recette for '\(database)'; recette would have used that name for its own copy: rename or drop it, or restore into another database (RECETTE_DATABASE)")
        }
    }

    /// Drops this name's leftover incoming database (the claim proved its run is gone) and
    /// creates it empty, marked as recette's.
    /// With `template`, the new database is a file copy of it (`reset --pristine`).
    public func createIncoming(_ claim: IncomingClaim, serverDescription: String, from template: PristineTemplate? = nil) async throws {
        let quoted = PostgresConnection.quoteIdentifier
        let session = claim.session
        var create = "CREATE DATABASE \(quoted(incoming))"
        if let template { create += " " + (try await template.templateClause(template.name, on: session)) }
        do {
            try await session.statements(["DROP DATABASE IF EXISTS \(quoted(incoming)) WITH (FORCE)", create,
                                          "COMMENT ON DATABASE \(quoted(incoming)) IS \(PostgresConnection.quoteLiteral(incomingMarker))"])
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw RecetteFailure("\(serverDescription) does not let this user create a database (\(error.message)); recette builds a new database and swaps it in: use a role with CREATEDB")
        }
    }

    /// Removes the incoming database (after a failure); the database in place is not touched.
    public func dropIncoming(_ claim: IncomingClaim) async throws {
        try await claim.session.script("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(incoming)) WITH (FORCE)")
    }

    /// Renames the incoming database into place. Returns the name the replaced one is kept
    /// under, or nil (there was none, or it was dropped).
    public func run(_ claim: IncomingClaim, startedAt: Date) async throws -> String? {
        let quoted = PostgresConnection.quoteIdentifier
        let session = claim.session
        let previous = previousName(at: startedAt)
        let names = try await session.query("SELECT datname FROM pg_database").compactMap { $0.first ?? nil }
        try await session.statements(names.filter(self.names.isPrevious).map { "DROP DATABASE \(quoted($0)) WITH (FORCE)" })
        let exists = names.contains(database)
        // One transaction, sent at once: a client that reconnects (a CMS's pool) has no round
        // trip to slip in between the sessions' end and the rename, and a rename that fails
        // leaves both names as they were.
        let rename = exists ? """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(PostgresConnection.quoteLiteral(database)) AND pid <> pg_backend_pid();
            ALTER DATABASE \(quoted(database)) RENAME TO \(quoted(previous));

            """ : ""
        try await session.script("""
            BEGIN;
            \(rename)ALTER DATABASE \(quoted(incoming)) RENAME TO \(quoted(database));
            COMMENT ON DATABASE \(quoted(database)) IS NULL;
            COMMIT;
            """)
        guard exists else { return nil }
        if keepsPrevious {
            logger.info("the previous database is kept as '\(previous)' until the next run")
            return previous
        }
        try await session.script("DROP DATABASE \(quoted(previous)) WITH (FORCE)")
        return nil
    }
}

/// A run's claim on an incoming database name: a session-level advisory lock held on its own
/// connection to the maintenance database for as long as the run builds and swaps. The server
/// releases it when that connection ends, however the run ends.
public final class IncomingClaim: Sendable {
    /// The session holding the lock; nil for an unlocked claim.
    let connection: PostgresConnection?
    /// Where the swap's statements run: the claim's own session when it holds a lock.
    let session: SQLSession
    let key: Int64

    init(maintenanceConnection: String, incoming: String, description: String) throws {
        let connection = try PostgresConnection(url: maintenanceConnection)
        self.connection = connection
        session = SQLSession(connection)
        key = Self.lockKey(for: incoming)
        try connection.query("SELECT set_config('application_name', $1, false)", [String(description.prefix(63))])
    }

    init(unlocked session: SQLSession) {
        connection = nil
        self.session = session
        key = 0
    }

    func acquire(serverDescription: String) throws {
        guard let connection else { return }
        guard try connection.query("SELECT pg_try_advisory_lock($1::bigint)", [String(key)]).scalar == "t" else {
            throw RecetteFailure("another restore is building the same database on \(serverDescription) (\(try holder())); wait for it to finish, then run this again")
        }
    }

    /// Who holds the claim, as far as this user may see (pg_stat_activity hides other roles'
    /// application names from non-superusers).
    private func holder() throws -> String {
        guard let connection else { return "another run" }
        let bits = UInt64(bitPattern: key)
        let row = try connection.query("""
            SELECT a.application_name, to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
            FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1
            """, [String(bits >> 32), String(bits & 0xffff_ffff)]).rows.first
        guard let name = row?[0] ?? nil, !name.isEmpty else { return "a session of another user" }
        return "\(name), since \(row?[1] ?? nil ?? "?")"
    }

    /// Ends the claim now (it also ends when the object goes away).
    public func release() {
        _ = try? connection?.query("SELECT pg_advisory_unlock($1::bigint)", [String(key)])
    }

    static func lockKey(for incoming: String) -> Int64 {
        Int64(bitPattern: DerivedDatabaseNames.fnv1a("recette incoming \(incoming)"))
    }
}
