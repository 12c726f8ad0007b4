import Foundation
import RecetteWorld

/// Where the documents are read from: the database recette restored.
public enum SearchDatabase {
    /// A libpq connection string (it may hold a password: never print it) and a display name.
    /// RECETTE_SEARCH_DATABASE_URL wins; otherwise the target's database: local → recette's
    /// cluster, url → DATABASE_URL, compose → the db service's published port (each `Target` says).
    public static func connection(for context: RecetteContext) async throws -> (connectionString: String, display: String) {
        let configuration = context.configuration
        if let url = configuration.secret(.searchDatabaseURL), !url.isEmpty {
            return (url.reveal(), Redaction.redactingURLPasswords(in: url.reveal()))
        }
        return try await Targets.resolve(context).searchDatabase()
    }
}
