import Foundation
import Logging
import RecetteWorld

/// The indexes of a project whose recette.yml has no `search.indexes`: one per content type
/// the Strapi plugin indexes, its documents from a query generated from the CMS source's
/// model (`StrapiEntryQuery`).
public struct ModelSearchIndexes: Sendable {
    /// strapi-plugin-meilisearch's store (`strapi.store({type: 'plugin', name: 'meilisearch'})`,
    /// key `meilisearch_indexed_content_types`): Strapi's core store prefixes the key with
    /// `<type>_<name>_` and keeps the value as JSON text, here an array of uids.
    public static let indexedContentTypesKey = "plugin_meilisearch_meilisearch_indexed_content_types"

    public var project: StrapiProject
    public var model: StrapiModel
    /// The plugin's config from `config/plugins.js` (its indexName names the index), when read.
    public var pluginConfig: StrapiPluginConfig?

    public init(project: StrapiProject) throws {
        self.project = project
        model = try project.model()
    }

    /// The uids the plugin's store lists as indexed in the database behind `rows`; none when
    /// the database has no store or no such row (a plugin that never indexed).
    public static func indexedContentTypes(_ rows: any SearchRowSource) async throws -> [String] {
        let hasStore = try await rows.query("SELECT to_regclass('public.strapi_core_store_settings') IS NOT NULL").scalar == "t"
        guard hasStore else { return [] }
        let value = try await rows.query(
            "SELECT value FROM strapi_core_store_settings WHERE key = \(PostgresConnection.quoteLiteral(indexedContentTypesKey)) ORDER BY id DESC LIMIT 1"
        ).scalar
        guard let value else { return [] }
        guard let uids = (try? JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])) as? [String] else {
            throw RecetteFailure("the Meilisearch plugin's store row \(indexedContentTypesKey) holds '\(value.prefix(80))', not a JSON list of content types: give the indexes in search.indexes of recette.yml")
        }
        return uids
    }

    /// i18n's default locale in Strapi's core store (`plugin_i18n_default_locale`, JSON text).
    public static let defaultLocaleKey = "plugin_i18n_default_locale"

    /// What a Strapi v5 query needs from the database itself: its tables and columns (the
    /// names v5 shortened) and i18n's default locale.
    public static func catalog(_ rows: any SearchRowSource) async throws -> StrapiCatalog {
        let result = try await rows.query("SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema()")
        var columns: [String: Set<String>] = [:]
        for row in result.rows {
            guard row.count == 2, let table = row[0], let column = row[1] else { continue }
            columns[table, default: []].insert(column)
        }
        var locale: String?
        if columns["strapi_core_store_settings"] != nil,
           let value = try await rows.query("SELECT value FROM strapi_core_store_settings WHERE key = \(PostgresConnection.quoteLiteral(defaultLocaleKey)) ORDER BY id DESC LIMIT 1").scalar {
            locale = (try? JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])) as? String
        }
        return StrapiCatalog(columns: columns, defaultLocale: locale)
    }

    /// One index per indexed content type the model declares, in the store's order; the
    /// others are returned apart (a content type of a plugin, or one the branch removed).
    /// `catalog` is the database's (Strapi v5 reads its shortened names and default locale there).
    public func definitions(indexed uids: [String], catalog: StrapiCatalog? = nil) throws -> (indexes: [SearchIndexDefinition], unknown: [String]) {
        var indexes: [SearchIndexDefinition] = []
        var unknown: [String] = []
        for uid in uids {
            guard let type = model.contentType(uid) else {
                unknown.append(uid)
                continue
            }
            let query = try StrapiEntryQuery(model: model, contentType: type, catalog: catalog)
            let configuredUid = pluginConfig?.contentTypes[type.singularName]?.indexName
            indexes.append(SearchIndexDefinition(uid: configuredUid ?? query.indexUid, query: query.sql, contentType: uid))
        }
        return (indexes, unknown)
    }

    /// The indexes for the database behind `rows`; a warning names the indexed content types
    /// the source does not declare.
    public func resolve(rows: any SearchRowSource, logger: Logger) async throws -> [SearchIndexDefinition] {
        let uids = try await Self.indexedContentTypes(rows)
        let catalog = model.strapiMajor >= 5 ? try await Self.catalog(rows) : nil
        let (indexes, unknown) = try definitions(indexed: uids, catalog: catalog)
        if !unknown.isEmpty {
            logger.warning("the Meilisearch plugin indexes \(unknown.joined(separator: ", ")), which the CMS source at \(project.directory.path) does not declare: not rebuilt (give them a query in search.indexes of recette.yml)")
        }
        guard !indexes.isEmpty else {
            throw RecetteFailure("""
                the Meilisearch plugin indexes no content type of the CMS source in \(rows.display) (its store row \(Self.indexedContentTypesKey) \
                \(uids.isEmpty ? "is absent or empty" : "lists only \(uids.joined(separator: ", "))")): give the indexes in search.indexes of recette.yml, or use --via plugin
                """)
        }
        return indexes
    }

    /// For plans: where the indexes will come from.
    public var planLine: String {
        "indexes from the CMS source's model (\(project.directory.path), Strapi \(model.strapiVersion ?? String(model.strapiMajor))): "
            + "one per content type the plugin's store lists as indexed in the database (\(Self.indexedContentTypesKey)), uid = its model name, "
            + "primary key _meilisearch_id, documents from a generated query; candidates: "
            + model.contentTypes.map { "\($0.singularName) (\($0.uid))" }.joined(separator: ", ")
    }
}
