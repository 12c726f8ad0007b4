import Foundation
import RecetteWorld

/// Step 1, `backup`: the archive from a file, Scalingo's API (cached by backup id) or the
/// `scalingo` CLI.
extension Populate {
    func backupPlan() -> [String] {
        switch options.origin {
        case .file(let url): return ["  use \(url.path)"]
        case .scalingoAPI(let choice):
            let app = context.configuration[.scalingoApp] ?? "(SCALINGO_APP not set)"
            return ["  download the \(choice) backup of app \(app), addon \(context.configuration.text(.addonName)), through Scalingo's API into \(context.stateDirectory.appendingPathComponent("backups").path) (cached by backup id)"]
        case .scalingoCLI(let id):
            return ["  run: scalingo --app APP --addon ADDON backups-download" + (id.map { " --backup \($0)" } ?? "") + " (token in its environment)"]
        }
    }

    func backupStep(_ run: inout PopulateRun, _ record: inout PopulateStepRecord) async throws {
        let archive = try await obtainBackup()
        run.archive = archive
        record.detail = archive.lastPathComponent
    }

    private func obtainBackup() async throws -> URL {
        switch options.origin {
        case .file(let url):
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw RecetteFailure("--backup \(url.path): no such file")
            }
            return url
        case .scalingoAPI(let choice):
            return try await ScalingoBackupSource(context: context).download(choice).file
        case .scalingoCLI(let id):
            return try await ScalingoCLI(context: context).download(backupID: id)
        }
    }

    /// The most recently downloaded archive under `.recette/backups/`, for `--from restore`.
    func cachedArchive() -> URL? {
        let root = context.stateDirectory.appendingPathComponent("backups")
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.contentModificationDateKey]) else { return nil }
        var newest: (URL, Date)?
        for case let url as URL in walker where url.lastPathComponent.hasSuffix(".tar.gz") {
            let date = (try? url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            if newest == nil || date > newest!.1 { newest = (url, date) }
        }
        return newest?.0
    }
}
