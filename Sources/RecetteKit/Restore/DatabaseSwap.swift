import Foundation
import Logging

/// Puts a complete new database in the place of another, by renaming: the url target's way
/// (and the local one's) of replacing a database without ever being without one. The new
/// database is built under `<name>__recette_incoming`; the replaced one is dropped, or kept as
/// `<name>__recette_previous_<timestamp>` until the next swap, which drops older copies.
public struct DatabaseSwap: Sendable {
    /// libpq connection string of the server's maintenance database (`postgres`).
    public var maintenanceConnection: String
    public var database: String
    public var keepsPrevious: Bool
    public var logger: Logger

    public init(maintenanceConnection: String, database: String, keepsPrevious: Bool, logger: Logger) {
        self.maintenanceConnection = maintenanceConnection
        self.database = database
        self.keepsPrevious = keepsPrevious
        self.logger = logger
    }

    public var incoming: String { "\(database)__recette_incoming" }
    var previousPrefix: String { "\(database)__recette_previous" }

    public func previousName(at date: Date) -> String {
        "\(previousPrefix)_\(UTCStamp.string(from: date, pattern: "yyyyMMdd'T'HHmmss"))"
    }

    /// Drops a leftover incoming database (an earlier run that was killed) and creates it empty.
    public func createIncoming(serverDescription: String) throws {
        let quoted = PostgresConnection.quoteIdentifier
        let admin = try PostgresConnection(url: maintenanceConnection)
        try admin.execute("DROP DATABASE IF EXISTS \(quoted(incoming)) WITH (FORCE)")
        do {
            try admin.execute("CREATE DATABASE \(quoted(incoming))")
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw RecetteFailure("\(serverDescription) does not let this user create a database (\(error.message)); recette builds a new database and swaps it in: use a role with CREATEDB")
        }
    }

    /// Removes the incoming database (after a failure); the database in place is not touched.
    public func dropIncoming() throws {
        let admin = try PostgresConnection(url: maintenanceConnection)
        try admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(incoming)) WITH (FORCE)")
    }

    /// Renames the incoming database into place. Returns the name the replaced one is kept
    /// under, or nil (there was none, or it was dropped).
    public func run(startedAt: Date) throws -> String? {
        let quoted = PostgresConnection.quoteIdentifier
        let admin = try PostgresConnection(url: maintenanceConnection)
        let previous = previousName(at: startedAt)
        let olderCopies = try admin.query("SELECT datname FROM pg_database WHERE datname LIKE $1 ESCAPE '\\'",
                                          [previousPrefix.replacingOccurrences(of: "_", with: "\\_") + "%"]).column("datname").compactMap { $0 }
        for name in olderCopies {
            try admin.execute("DROP DATABASE \(quoted(name)) WITH (FORCE)")
        }
        let exists = !(try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).rows.isEmpty)
        if exists {
            try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", [database])
            try admin.execute("ALTER DATABASE \(quoted(database)) RENAME TO \(quoted(previous))")
        }
        try admin.execute("ALTER DATABASE \(quoted(incoming)) RENAME TO \(quoted(database))")
        guard exists else { return nil }
        if keepsPrevious {
            logger.info("the previous database is kept as '\(previous)' until the next run")
            return previous
        }
        try admin.execute("DROP DATABASE \(quoted(previous)) WITH (FORCE)")
        return nil
    }
}
