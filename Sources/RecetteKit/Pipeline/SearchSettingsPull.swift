import Foundation
import RecetteWorld

/// `recette search settings pull`: each index's settings read from a Meilisearch (the recette
/// app's, most often) and written to `recette.search-settings.yml`, where the rebuild takes
/// them from, so that a fresh local Meilisearch gets the filters the front needs. It only
/// reads from that Meilisearch (GET /indexes/{uid} and GET /indexes/{uid}/settings).
public struct SearchSettingsPull: Sendable {
    public var context: RecetteContext
    public var meilisearch: RemoteMeilisearch
    public var only: [String]

    public init(context: RecetteContext, meilisearch: RemoteMeilisearch, only: [String] = []) {
        self.context = context
        self.meilisearch = meilisearch
        self.only = only
    }

    public var fileURL: URL { context.configuration.projectDirectory.appendingPathComponent(SearchSettingsFile.fileName) }

    /// Reads the settings and, unless a dry run, writes the file; returns what it says.
    public func run() async throws -> [String] {
        let setup = try SearchSetup(context: context, only: only, meilisearch: meilisearch.client)
        try setup.requireDefinitions(for: "search settings pull")
        // The model's indexes are those the plugin indexes in the copy: the database says.
        let definitions = setup.model == nil ? setup.definitions
            : try await setup.resolvedDefinitions(rows: try await SearchDatabase.rows(for: context), logger: context.logger)
        var pulled = try existingEntries()
        var lines: [String] = []
        var read = 0
        for definition in definitions {
            guard try await setup.client.index(definition.uid) != nil else {
                lines.append("  \(definition.uid): no such index on \(meilisearch.host)\(pulled[definition.uid] == nil ? "" : "; its settings pulled before are kept")")
                continue
            }
            let settings = try await setup.client.settings(definition.uid)
            guard let object = try? JSONSerialization.jsonObject(with: settings) as? [String: Any] else {
                throw RecetteFailure("Meilisearch at \(meilisearch.host) sent settings of \(definition.uid) that are not a JSON object: is it a Meilisearch server?")
            }
            pulled[definition.uid] = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            read += 1
            var line = "  \(definition.uid): \(object.count) settings"
            if let written = writtenInRecetteYML(definition.uid) {
                line += " (recette.yml's \(written) win over them: remove those to use these)"
            }
            lines.append(line)
        }
        let header = [
            "Written by `recette search settings pull` from \(meilisearch.host) (\(meilisearch.origin)); pull again to refresh: edits here are overwritten.",
            "recette reindex creates each index with these settings, unless the index's settings: in recette.yml (or search.settings there) say otherwise.",
        ]
        let text = try SearchSettingsFile.render(pulled, header: header)
        if context.dryRun {
            return ["would write the settings of \(read) index(es) from \(meilisearch.host) to \(SearchSettingsFile.fileName):"] + lines
        }
        // Checked as the configuration will read it, before it replaces the file.
        _ = try SearchSettingsFile.parse(yaml: text, path: fileURL.path, origin: SearchSettingsFile.fileName)
        try Data(text.utf8).write(to: fileURL, options: .atomic)
        return ["wrote the settings of \(read) index(es) from \(meilisearch.host) to \(fileURL.path):"] + lines
    }

    /// The file as it is: indexes not pulled this time keep their entry.
    private func existingEntries() throws -> [String: Data] {
        guard FileManager.default.fileExists(atPath: fileURL.path) else { return [:] }
        let text: String
        do { text = try String(contentsOf: fileURL, encoding: .utf8) } catch {
            throw RecetteFailure("\(fileURL.path) is not readable as UTF-8 text: remove it and pull again")
        }
        return try SearchSettingsFile.parse(yaml: text, path: fileURL.path, origin: SearchSettingsFile.fileName).mapValues(\.json)
    }

    /// Where recette.yml itself sets this index's settings, which win over the pulled ones.
    private func writtenInRecetteYML(_ uid: String) -> String? {
        let configuration = context.configuration
        if configuration.searchIndexes.first(where: { $0.uid == uid })?.settingsJSON != nil { return "search.indexes settings" }
        if configuration.searchSettings[uid]?.origin == "recette.yml" { return "search.settings.\(uid)" }
        return nil
    }
}
