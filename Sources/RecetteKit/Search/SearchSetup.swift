import Foundation
import Logging
import RecetteWorld

/// How indexes are rebuilt.
public enum ReindexRoute: String, Sendable, CaseIterable, Codable {
    /// From SQL, into a new index, swapped in (recette's own).
    case direct
    /// Through the Strapi Meilisearch plugin, then checked against the database.
    case plugin
}

/// The search side of the configuration, read once, with clear errors.
public struct SearchSetup: Sendable {
    public var client: MeilisearchClient
    public var definitions: [SearchIndexDefinition]
    public var batchBytes: Int
    public var gzip: Bool
    /// RECETTE_SEARCH_MAX_SHRINK: the share of its documents an index may lose in a rebuild.
    public var maxShrink: Double

    /// Without `search.indexes` in recette.yml, the CMS source whose model gives the indexes
    /// (resolved against the database by `resolvedDefinitions`).
    public var model: ModelSearchIndexes?
    /// `--index`: only these.
    public var only: [String]
    /// The CMS source, whose `config/plugins.js` is read (with node) when the indexes are resolved.
    public var project: StrapiProject?
    /// Runs node on that config.
    public var runner: any ProcessRunning
    /// `search.settings` and `recette.search-settings.yml`, by uid.
    public var settings: [String: SearchSettingsFile.Entry]
    /// What the indexes' transforms dropped at their last rebuild (`.recette/search/dropped/`).
    public var transformDrops: TransformDropRecords

    /// - Parameter meilisearch: the Meilisearch to work on when not the configured one
    ///   (`--meilisearch-of-app`, `--meilisearch-url`: see `RemoteMeilisearch`).
    public init(context: RecetteContext, only: [String] = [], meilisearch: MeilisearchClient? = nil) throws {
        let configuration = context.configuration
        client = try meilisearch ?? MeilisearchClient.from(configuration, transport: context.http)
        settings = configuration.searchSettings
        transformDrops = TransformDropRecords(stateDirectory: context.stateDirectory)
        self.only = only
        runner = context.runner
        let all = configuration.searchIndexes
        // With search.indexes, a CMS source that cannot be read only loses the config's warnings.
        project = all.isEmpty ? try StrapiProject.configured(configuration) : try? StrapiProject.configured(configuration)
        if all.isEmpty, let project {
            definitions = []
            model = try ModelSearchIndexes(project: project)
        } else if only.isEmpty {
            definitions = all.map { Self.withSettings($0, configuration.searchSettings) }
        } else {
            for uid in only where !all.contains(where: { $0.uid == uid }) {
                throw RecetteFailure("no index '\(uid)' in search.indexes of recette.yml (configured: \(all.map(\.uid).joined(separator: ", ").nonEmpty ?? "none"))")
            }
            definitions = all.filter { only.contains($0.uid) }.map { Self.withSettings($0, configuration.searchSettings) }
        }
        batchBytes = Int(try configuration.number(.searchBatchMegabytes) * 1_048_576)
        switch try configuration.choice(.searchGzip, as: GzipChoice.self) {
        case .always: gzip = true
        case .never: gzip = false
        case .auto: gzip = !Self.isLoopback(client.baseURL.host ?? "")
        }
        maxShrink = try configuration.number(.searchMaxShrink)
    }

    /// RECETTE_SEARCH_GZIP's words.
    enum GzipChoice: String, CaseIterable { case auto, always, never }

    /// The route asked for, else RECETTE_REINDEX_VIA, else direct when indexes are configured
    /// or a CMS source gives them.
    public static func route(requested: ReindexRoute?, configuration: Configuration) throws -> ReindexRoute {
        if let requested { return requested }
        if configuration.isSet(.reindexVia) { return try configuration.choice(.reindexVia, as: ReindexRoute.self) }
        let hasSource = configuration.isSet(.strapiProject) || StrapiProject.isProject(configuration.projectDirectory)
        return configuration.searchIndexes.isEmpty && !hasSource ? .plugin : .direct
    }

    /// The indexes to rebuild or compare: recette.yml's, else those the CMS source's model
    /// gives for the content types the plugin indexes in the database behind `rows`.
    /// The plugin's config (`config/plugins.js`) names the model's indexes (`indexName`) and
    /// gives their settings; what recette cannot reproduce of it is said in warnings.
    public func resolvedDefinitions(rows: any SearchRowSource, logger: Logger) async throws -> [SearchIndexDefinition] {
        var pluginConfig: StrapiPluginConfig?
        if let project { pluginConfig = try await StrapiPluginConfig.read(project, runner: runner, logger: logger) }
        // Settings: the index's own, then search.settings or the pulled file (both applied by
        // `withSettings`), then the plugin config's, then (in the rebuild) the live index's.
        guard var model else {
            return definitions.map { definition in
                guard let pluginConfig, let name = definition.contentType?.split(separator: ".").last.map(String.init) else { return definition }
                return pluginConfig.applied(to: definition, contentType: name, logger: logger)
            }
        }
        model.pluginConfig = pluginConfig
        var all = try await model.resolve(rows: rows, logger: logger).map { Self.withSettings($0, settings) }
        if !only.isEmpty {
            for uid in only where !all.contains(where: { $0.uid == uid }) {
                throw RecetteFailure("no index '\(uid)' among those the CMS source's model gives (\(all.map(\.uid).joined(separator: ", ")))")
            }
            all = all.filter { only.contains($0.uid) }
        }
        return all.map { definition in
            guard let pluginConfig, let type = definition.contentType.flatMap(model.model.contentType) else { return definition }
            return pluginConfig.applied(to: definition, contentType: type.singularName, logger: logger)
        }
    }

    /// An index without `settings:` of its own takes those of `search.settings` or of the
    /// pulled file; without any, the rebuild copies the live index's.
    static func withSettings(_ definition: SearchIndexDefinition, _ settings: [String: SearchSettingsFile.Entry]) -> SearchIndexDefinition {
        guard definition.settingsJSON == nil, let entry = settings[definition.uid] else { return definition }
        var definition = definition
        definition.settingsJSON = entry.json
        definition.settingsOrigin = entry.origin
        return definition
    }

    /// Gzip costs CPU and saves nothing on this machine's own loopback.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public func requireDefinitions(for what: String) throws {
        guard !definitions.isEmpty || model != nil else {
            throw RecetteFailure("\(what) needs the indexes in recette.yml (search.indexes: uid and query per index; see README 'Search'), or use --via plugin")
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
