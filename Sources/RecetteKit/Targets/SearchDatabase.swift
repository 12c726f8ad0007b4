import Foundation
import RecetteWorld

/// Where the documents are read from: the database recette restored.
public enum SearchDatabase {
    /// The rows of the target's database. RECETTE_SEARCH_DATABASE_URL wins; otherwise the
    /// target's (`Target.searchRows`): local → recette's cluster, url → DATABASE_URL, compose →
    /// the db service (its published port, or `docker compose exec` when it publishes none;
    /// RECETTE_COMPOSE_DB_ROUTE chooses).
    public static func rows(for context: RecetteContext) async throws -> any SearchRowSource {
        if let url = context.configuration.secret(.searchDatabaseURL), !url.isEmpty {
            return LibpqRowSource(connectionString: url.reveal(), display: Redaction.redactingURLPasswords(in: url.reveal()))
        }
        return try await Targets.resolve(context).searchRows()
    }

    /// The same database by libpq, for what reads it by libpq only (the Strapi schema guard);
    /// a compose db read through the service has no such route.
    public static func libpqConnection(for context: RecetteContext) async throws -> LibpqRowSource {
        guard let rows = try await rows(for: context) as? LibpqRowSource else {
            throw RecetteFailure("the database is read through 'docker compose exec' (its service publishes no port), and this reads it by libpq: publish the db port on 127.0.0.1 or set RECETTE_SEARCH_DATABASE_URL")
        }
        return rows
    }
}
