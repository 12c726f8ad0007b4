import Foundation
import RecetteWorld

/// Resets the database of the `local` target: drops it and creates it empty, in recette's own
/// cluster (started first if needed). The cluster's other databases are not touched.
public struct LocalDatabaseReset: Sendable {
    public var cluster: LocalCluster
    public var database: String

    public init(context: RecetteContext, database: String? = nil) {
        self.cluster = context.localCluster
        self.database = database ?? context.configuration.text(.localDatabase)
    }

    /// The plan as shown by `--dry-run`.
    public var lines: [String] {
        ["would start the local cluster in \(cluster.dataDirectory.path) if needed, then:",
         "  DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(database)) WITH (FORCE)",
         "  CREATE DATABASE \(PostgresConnection.quoteIdentifier(database))"]
    }

    public var question: String {
        "Drop database '\(database)' of the local cluster (\(cluster.directory.path)) and create it empty?"
    }

    /// Returns the URL of the new, empty database (it holds no secret).
    public func run() async throws -> String {
        let status = try await cluster.start()
        guard let port = status.port else {
            throw RecetteFailure("the local PostgreSQL server runs but its port is unknown; run 'recette local stop' then retry")
        }
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        // WITH (FORCE) ends the sessions still connected (a CMS left running), as a volume
        // reset would.
        try admin.execute("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(database)) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database))")
        return cluster.url(database: database, port: port)
    }
}
