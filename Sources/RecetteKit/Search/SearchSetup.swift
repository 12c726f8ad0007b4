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
    /// Where the model's indexes take `search.settings` from.
    private let settingsByIndex: [String: Data]
    /// What the indexes' transforms dropped at their last rebuild (`.recette/search/dropped/`).
    public var transformDrops: TransformDropRecords

    public init(context: RecetteContext, only: [String] = []) throws {
        let configuration = context.configuration
        client = try MeilisearchClient.from(configuration, transport: context.http)
        self.only = only
        runner = context.runner
        transformDrops = TransformDropRecords(stateDirectory: context.stateDirectory)
        let all = configuration.searchIndexes.withSettings(configuration.searchSettings)
        settingsByIndex = configuration.searchSettings
        // With search.indexes, a CMS source that cannot be read only loses the config's warnings.
        project = all.isEmpty ? try StrapiProject.configured(configuration) : try? StrapiProject.configured(configuration)
        if all.isEmpty, let project {
            definitions = []
            model = try ModelSearchIndexes(project: project)
        } else if only.isEmpty {
            definitions = all
        } else {
            for uid in only where !all.contains(where: { $0.uid == uid }) {
                throw RecetteFailure("no index '\(uid)' in search.indexes of recette.yml (configured: \(all.map(\.uid).joined(separator: ", ").nonEmpty ?? "none"))")
            }
            definitions = all.filter { only.contains($0.uid) }
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
        guard var model else {
            return definitions.map { definition in
                guard let pluginConfig, let name = definition.contentType?.split(separator: ".").last.map(String.init) else { return definition }
                return pluginConfig.applied(to: definition, contentType: name, logger: logger)
            }
        }
        model.pluginConfig = pluginConfig
        // recette.yml's search.settings first; the plugin's config gives those it leaves out.
        var all = try await model.resolve(rows: rows, logger: logger).withSettings(settingsByIndex)
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
