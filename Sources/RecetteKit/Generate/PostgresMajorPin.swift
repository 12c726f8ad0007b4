import Foundation
import RecetteWorld

/// `recette generate`'s PostgreSQL major when `postgres.major` is not in `recette.yml`: the
/// major the newest downloaded backup was dumped from, written into `recette.yml` so that the
/// committed file says it and every machine (CI's `generate --check` included) renders the
/// same compose file. Without a downloaded backup the default stays, and is said.
public struct PostgresMajorPin: Sendable {
    public var context: RecetteContext

    public init(context: RecetteContext) { self.context = context }

    /// What was written (or, with `dryRun`, would be), for the command to print; nil when
    /// `recette.yml` already sets it, or when no backup is downloaded (then logged).
    public func pinIfUnset(dryRun: Bool = false) async throws -> String? {
        let committed = try Configuration.committed(projectDirectory: context.projectDirectory)
        if committed.resolved(.postgresMajor)?.source == .configFile { return nil }
        guard let archive = newestDownloadedArchive() else {
            context.logger.info("postgres.major is not set in recette.yml and no backup is downloaded: the compose file pins postgres:\(Setting.postgresMajor.defaultValue ?? "?") (run 'recette download' then 'recette generate' to take the backups' major, or set postgres.major)")
            return nil
        }
        let work = try WorkDirectory.create(in: context.stateDirectory, prefix: "generate")
        defer { work.remove() }
        let (_, toc) = try await BackupVerification(context: context).verify(archive, workDirectory: work.url)
        guard let major = PostgresImagePin.major(ofServerVersion: toc.sourceServerVersion) else {
            throw RecetteFailure("'\(archive.lastPathComponent)' does not say which PostgreSQL it was dumped from: set postgres.major in recette.yml")
        }
        if dryRun { return "would write postgres.major: \(major) to recette.yml, from '\(archive.lastPathComponent)'" }
        try write(major: major)
        return "postgres.major: \(major) written to recette.yml, from '\(archive.lastPathComponent)' (dumped from PostgreSQL \(toc.sourceServerVersion ?? "?"))"
    }

    /// The most recently written archive of the download cache (`.recette/backups/<id>/…`).
    func newestDownloadedArchive() -> URL? {
        let backups = context.stateDirectory.appendingPathComponent("backups")
        let files = FileManager.default.filesTwoLevelsDown(backups).filter { $0.lastPathComponent.hasSuffix(".tar.gz") }
        return files.max { modified($0) < modified($1) }
    }

    private func modified(_ url: URL) -> Date {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.modificationDate] as? Date) ?? .distantPast
    }

    /// Appends `postgres: {major: N}` to `recette.yml` (created if absent). A `postgres:` block
    /// without `major` is the user's to complete: recette does not rewrite their YAML.
    func write(major: Int) throws {
        let file = context.projectDirectory.appendingPathComponent("recette.yml")
        var text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
        if text.split(separator: "\n").contains(where: { $0 == "postgres:" || $0.hasPrefix("postgres: ") || $0.hasPrefix("postgres:\t") }) {
            throw RecetteFailure("recette.yml has a 'postgres:' block without 'major': add 'major: \(major)' to it (the major the newest backup was dumped from), then run recette generate")
        }
        if !text.isEmpty && !text.hasSuffix("\n") { text += "\n" }
        text += "# The PostgreSQL major of the recette app's backups (set by `recette generate` from the newest\n# downloaded backup): the generated compose file's db image.\npostgres:\n  major: \(major)\n"
        try Data(text.utf8).write(to: file, options: .atomic)
    }
}

private extension FileManager {
    /// Regular files under `directory`, two levels deep at most (the cache's layout).
    func filesTwoLevelsDown(_ directory: URL) -> [URL] {
        guard let ids = try? contentsOfDirectory(at: directory, includingPropertiesForKeys: nil) else { return [] }
        return ids.flatMap { (try? contentsOfDirectory(at: $0, includingPropertiesForKeys: nil)) ?? [] }
    }
}
