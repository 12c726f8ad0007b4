import Foundation
import RecetteWorld

/// Where the documents are read from: the database recette restored.
public enum SearchDatabase {
    /// A libpq connection string (it may hold a password: never print it) and a display name.
    /// RECETTE_SEARCH_DATABASE_URL wins; otherwise the target's database: local → recette's
    /// cluster, url → DATABASE_URL, compose → the db service's published port.
    public static func connection(for context: RecetteContext) async throws -> (connectionString: String, display: String) {
        let configuration = context.configuration
        if let url = configuration.secret(.searchDatabaseURL), !url.isEmpty {
            return (url.reveal(), Redaction.redactingURLPasswords(in: url.reveal()))
        }
        let target = configuration[.target] ?? "local"
        switch target {
        case "local":
            let cluster = context.localCluster
            let status = try await cluster.status()
            guard status.running, let port = status.port else {
                throw RecetteFailure("recette's local PostgreSQL is not running: restore a backup first ('recette restore FILE') or 'recette local start'")
            }
            let database = configuration[.localDatabase] ?? "recette"
            let url = cluster.url(database: database, port: port)
            return (url, url)
        case "url":
            guard let url = configuration.secret(.databaseURL), !url.isEmpty else {
                throw RecetteFailure("the url target needs DATABASE_URL to read the documents from (or set RECETTE_SEARCH_DATABASE_URL)")
            }
            return (url.reveal(), Redaction.redactingURLPasswords(in: url.reveal()))
        case "compose":
            return try await composeConnection(context)
        default:
            throw RecetteFailure("RECETTE_TARGET='\(target)' is not a target; use local, compose or url")
        }
    }

    private static func composeConnection(_ context: RecetteContext) async throws -> (connectionString: String, display: String) {
        let project = try ComposeProject.configured(by: context)
        let service = context.configuration[.composeDBService] ?? "db"
        let resolved = try await project.resolve()
        let environment = resolved.services[service]?.environment ?? [:]
        let user = (environment["POSTGRES_USER"] ?? nil).flatMap { $0.isEmpty ? nil : $0 } ?? "postgres"
        let database = (environment["POSTGRES_DB"] ?? nil).flatMap { $0.isEmpty ? nil : $0 } ?? user
        let password = environment["POSTGRES_PASSWORD"] ?? nil
        let result = try await context.runner.run(project.command(["port", service, "5432"]), input: nil, output: .collect(),
                                                  onStandardErrorLine: nil, acceptedExitStatuses: Set(0...255))
        let published = result.outputText.split(separator: "\n").first.map(String.init) ?? ""
        guard result.exitStatus == 0, let colon = published.lastIndex(of: ":"), let port = Int(published[published.index(after: colon)...]) else {
            throw RecetteFailure("""
                the compose service '\(service)' publishes no PostgreSQL port, so recette cannot read the documents: \
                publish it on this machine only (ports: ["127.0.0.1:5432:5432"]) or set RECETTE_SEARCH_DATABASE_URL
                """)
        }
        var host = String(published[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "0.0.0.0" || host == "::" || host.isEmpty { host = "127.0.0.1" }
        var environmentForLibpq = ["PGHOST": host, "PGPORT": String(port), "PGUSER": user]
        if let password { environmentForLibpq["PGPASSWORD"] = password }
        let connectionString = PostgresConnection.connectionString(libpqEnvironment: environmentForLibpq, database: database)
        return (connectionString, "postgresql://\(user)@\(host):\(port)/\(database)")
    }
}
