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
    func applySettings(_ settings: [(String, String)]) async throws
    func resetSettings(_ names: [String]) async throws
    /// Keep the replaced database under a dated name (until the next run) instead of dropping it.
    var keepsPreviousDatabase: Bool { get }
    /// URL of the restored database, for people: no secret in it.
    func displayURL(database: String) throws -> String
    /// A copy nobody minds losing to a server crash (recette's own cluster): `--unlogged` is
    /// allowed.
    var holdsThrowawayCopies: Bool { get }
    /// The server's files are this machine's, at the paths the server names (recette's own
    /// cluster): they may be read ahead before a clone.
    var serverFilesAreHere: Bool { get }
}

extension RestoreDestination {
    /// `--unlogged` trades crash safety for speed: only on throwaway copies.
    func check(_ options: RestoreOptions) throws {
        if options.unlogged && !holdsThrowawayCopies {
            throw RecetteFailure("--unlogged is for throwaway copies (local, compose targets): a crash of \(serverDescription) would empty unlogged tables; restore into the \(targetName) target without it")
        }
    }
}
