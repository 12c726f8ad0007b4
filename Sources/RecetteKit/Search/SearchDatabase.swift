import Foundation

/// Where the documents are read from: the database recette restored.
public enum SearchDatabase {
    /// The rows of the target's database. RECETTE_SEARCH_DATABASE_URL wins; otherwise local →
    /// recette's cluster, url → DATABASE_URL, compose → the db service (its published port, or
    /// `docker compose exec` when it publishes none; RECETTE_COMPOSE_DB_ROUTE chooses).
    public static func rows(for context: RecetteContext) async throws -> any SearchRowSource {
        let configuration = context.configuration
        if let url = configuration.secret(.searchDatabaseURL), !url.isEmpty {
            return LibpqRowSource(connectionString: url.reveal(), display: Redaction.redactingURLPasswords(in: url.reveal()))
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
            return LibpqRowSource(connectionString: url, display: url)
        case "url":
            guard let url = configuration.secret(.databaseURL), !url.isEmpty else {
                throw RecetteFailure("the url target needs DATABASE_URL to read the documents from (or set RECETTE_SEARCH_DATABASE_URL)")
            }
            return LibpqRowSource(connectionString: url.reveal(), display: Redaction.redactingURLPasswords(in: url.reveal()))
        case "compose":
            return try await composeRows(context)
        default:
            throw RecetteFailure("RECETTE_TARGET='\(target)' is not a target; use local, compose or url")
        }
    }

    private static func composeRows(_ context: RecetteContext) async throws -> any SearchRowSource {
        let route = context.configuration[.composeDBRoute] ?? "auto"
        guard ["auto", "port", "exec"].contains(route) else {
            throw RecetteFailure("RECETTE_COMPOSE_DB_ROUTE='\(route)' is not a route; use auto, port or exec")
        }
        let project = try ComposeProject.configured(by: context)
        let (names, resolved) = try await ComposeNames.resolve(context, project: project)
        let service = names.dbService
        guard let definition = resolved.services[service] else {
            throw ComposeError.unknownService(service: service, available: Array(resolved.services.keys))
        }
        let described = ComposeServiceDetection(resolved).describeDatabase(name: service, service: definition)
        let (user, database) = (described.user, described.database)
        let password = ComposeServiceDetection.value("POSTGRES_PASSWORD", in: definition).map(Secret.init)
        let throughService = ComposeServiceRowSource(project: project, service: service, user: user, database: database, password: password)
        if route == "exec" { return throughService }
        let result = try await context.runner.run(project.command(["port", service, "5432"]), input: nil, output: .collect(),
                                                  onStandardErrorLine: nil, acceptedExitStatuses: Set(0...255))
        let published = result.outputText.split(separator: "\n").first.map(String.init) ?? ""
        guard result.exitStatus == 0, let colon = published.lastIndex(of: ":"), let port = Int(published[published.index(after: colon)...]) else {
            guard route == "auto" else {
                throw RecetteFailure("""
                    the compose service '\(service)' publishes no PostgreSQL port, and RECETTE_COMPOSE_DB_ROUTE=port asks for one: \
                    publish it on this machine only (ports: ["127.0.0.1:5432:5432"]) or set RECETTE_COMPOSE_DB_ROUTE=auto
                    """)
            }
            // Nothing published (a db on an internal network): read through the service itself.
            return throughService
        }
        var host = String(published[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "0.0.0.0" || host == "::" || host.isEmpty { host = "127.0.0.1" }
        var environmentForLibpq = ["PGHOST": host, "PGPORT": String(port), "PGUSER": user]
        if let password { environmentForLibpq["PGPASSWORD"] = password.reveal() }
        let connectionString = PostgresConnection.connectionString(libpqEnvironment: environmentForLibpq, database: database)
        return LibpqRowSource(connectionString: connectionString, display: "postgresql://\(user)@\(host):\(port)/\(database)")
    }
}
