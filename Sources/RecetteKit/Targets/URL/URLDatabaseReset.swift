import Foundation
import Logging
import RecetteWorld

/// Resets the database of the `url` target (a review app through `scalingo db-tunnel`…) the way
/// a restore replaces it: an empty database is created beside it and renamed into its place.
/// The replaced one is kept under a dated name until the next run (or dropped with
/// `--drop-previous`), so a reset by mistake can be undone with two renames.
public struct URLDatabaseReset: Sendable {
    public var destination: URLDestination
    public var logger: Logger

    public init(destination: URLDestination, logger: Logger) {
        self.destination = destination
        self.logger = logger
    }

    public var database: String { destination.target.database }
    var server: String { destination.serverDescription }

    private var swap: DatabaseSwap {
        get throws {
            try DatabaseSwap(maintenanceConnection: try destination.connectionString(database: destination.maintenanceDatabase),
                         database: database, keepsPrevious: destination.keepsPreviousDatabase, logger: logger)
        }
    }

    /// The plan as shown by `--dry-run` (no connection is made).
    public func lines(at date: Date) throws -> [String] {
        let quoted = PostgresConnection.quoteIdentifier
        let swap = try swap
        let previous = swap.previousName(at: date)
        return ["would, on \(server) (\(destination.target.display(database: database))):",
                "  DROP DATABASE IF EXISTS \(quoted(swap.incoming)) WITH (FORCE)",
                "  CREATE DATABASE \(quoted(swap.incoming))",
                "  DROP DATABASE each older copy kept as \(quoted(swap.names.previousForDisplay))",
                "  ALTER DATABASE \(quoted(database)) RENAME TO \(quoted(previous))  (its sessions ended first)",
                "  ALTER DATABASE \(quoted(swap.incoming)) RENAME TO \(quoted(database))"]
            + (destination.keepsPreviousDatabase
               ? ["and keep '\(previous)' until the next run (--drop-previous drops it now)"]
               : ["  DROP DATABASE \(quoted(previous)) WITH (FORCE)"])
    }

    public var question: String {
        "Replace database '\(database)' on \(server) with an empty one" + (destination.keepsPreviousDatabase ? " (the current one kept under a dated name)?" : ", dropping the current one?")
    }

    /// Returns where the replaced database is kept, if it existed and is kept.
    public func run(startedAt: Date = Date()) async throws -> String? {
        try await destination.prepare()
        let swap = try swap
        let claim = try await swap.claim(serverDescription: server, at: startedAt)
        defer { claim.release() }
        try await swap.createIncoming(claim, serverDescription: server)
        do {
            return try await swap.run(claim, startedAt: startedAt)
        } catch {
            try? await swap.dropIncoming(claim)
            throw error
        }
    }
}
