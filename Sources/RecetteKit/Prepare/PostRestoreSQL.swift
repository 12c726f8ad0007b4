import Foundation
import RecetteWorld

/// The prepare phase's last action: the project's own SQL files (`post_restore:` in
/// `recette.yml`, or `RECETTE_POST_RESTORE`, ':'-separated), run in order in the new database
/// before it is swapped in — the enrichment step of pix-db-replication (test accounts, feature
/// flags, a smaller data set). Each is timed in the report; a failing one drops the new
/// database, names the file, and leaves the previous database as it was.
///
/// Files are plain SQL (no psql meta-commands: the local and url targets send them through
/// libpq) and run inside the prepare phase's transaction, so they must not COMMIT, nor use
/// what cannot run in a transaction (`CREATE INDEX CONCURRENTLY`, `VACUUM`).
public struct PostRestoreSQL: Sendable {
    public struct File: Sendable {
        /// As `recette.yml` names it, for the log and errors.
        public var name: String
        public var sql: String
    }

    public var files: [File]

    /// Every file is read now, before anything is touched: a missing or unreadable one stops
    /// the restore before it starts.
    public init(_ configuration: Configuration) throws {
        let names = (configuration[.postRestore] ?? "").split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        files = try names.map { name in
            let url = name.hasPrefix("/") ? URL(fileURLWithPath: name) : configuration.projectDirectory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path), let sql = String(data: data, encoding: .utf8) else {
                throw RecetteFailure("post_restore file '\(name)' cannot be read (\(url.path)): fix the path in recette.yml (post_restore) or RECETTE_POST_RESTORE")
            }
            return File(name: name, sql: sql)
        }
    }

    /// The fingerprint part a pristine template records: the files and a digest of their text,
    /// so that an edited file makes a new template.
    public var setting: String? {
        files.isEmpty ? nil : "post_restore=" + files.map { "\($0.name)@\(Self.digest($0.sql))" }.joined(separator: ",")
    }

    public var planLines: [String] {
        files.isEmpty ? [] : ["prepare: run the post_restore SQL files in order: " + files.map(\.name).joined(separator: ", ")]
    }

    /// FNV-1a 64: a change detector, not a security measure.
    static func digest(_ text: String) -> String {
        var hash: UInt64 = 0xcbf29ce484222325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
        return String(hash, radix: 16)
    }

    /// `script` runs one file's statements in the new database.
    public func apply(script: (String) async throws -> Void) async throws -> [PrepareAction] {
        var actions: [PrepareAction] = []
        let clock = ContinuousClock()
        for file in files {
            let start = clock.now
            do {
                try await script(file.sql)
            } catch {
                throw PrepareFailure(action: "post_restore \(file.name)", cause: "\(error)", skip: "fix the file, or take it out of post_restore in recette.yml")
            }
            let seconds = (clock.now - start).seconds
            actions.append(PrepareAction(action: "post_restore \(file.name)", detail: "ran in \(String(format: "%.2f", seconds))s", seconds: seconds))
        }
        return actions
    }
}
