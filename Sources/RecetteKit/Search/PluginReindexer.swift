import Foundation
import Logging
import RecetteWorld

/// What the plugin's reindex left in one index, against the database.
public struct PluginReindexReport: Sendable, Codable, Equatable {
    public var contentType: String
    public var indexUid: String
    public var documents: Int
    public var publishedRows: Int
    public var seconds: Double
    /// Why the index is short, when it is.
    public var problem: String?
}

/// `recette reindex --via plugin`: drives the Strapi Meilisearch plugin (admin login, its
/// "Update" per content type), waits until Meilisearch has no unfinished task for the index,
/// then compares the index with the database's published rows, and explains a short index.
public struct PluginReindexer: Sendable {
    public var strapi: StrapiAdminClient
    public var meilisearch: MeilisearchClient
    /// The database, to count the published rows.
    public var rows: any SearchRowSource
    public var definitions: [SearchIndexDefinition]
    /// The CMS's environment (from compose), to name the variable behind a string batch size.
    public var cmsEnvironment: [String: String]
    public var settleDeadline: Duration
    /// The pauses while Meilisearch settles (tests give a clock that does not wait).
    package var settlePolling = Polling(first: .milliseconds(50), longest: .seconds(1))
    public var logger: Logger

    public init(strapi: StrapiAdminClient, meilisearch: MeilisearchClient, rows: any SearchRowSource, definitions: [SearchIndexDefinition],
                cmsEnvironment: [String: String] = [:], settleDeadline: Duration = .seconds(600), logger: Logger) {
        self.strapi = strapi
        self.meilisearch = meilisearch
        self.rows = rows
        self.definitions = definitions
        self.cmsEnvironment = cmsEnvironment
        self.settleDeadline = settleDeadline
        self.logger = logger
    }

    public func run(only: Set<String> = []) async throws -> [PluginReindexReport] {
        let listed = try await strapi.contentTypes()
        let selected = Self.select(listed, only: only, configured: Set(definitions.compactMap(\.contentType)))
        guard !selected.isEmpty else {
            if !only.isEmpty {
                throw RecetteFailure("the Meilisearch plugin lists no content type named \(only.sorted().joined(separator: ", ")): name one it lists (\(listed.map(\.contentType).joined(separator: ", "))), or use --via direct")
            }
            throw RecetteFailure("the Meilisearch plugin indexes no content type yet: name them with --index (index uid or content type), add them to search.indexes in recette.yml with content_type, or use --via direct")
        }
        for skipped in listed where !selected.contains(skipped) && only.isEmpty {
            logger.debug("not reindexing \(skipped.contentType): the plugin lists it but does not index it")
        }
        var reports: [PluginReindexReport] = []
        for contentType in selected {
            let clock = ContinuousClock()
            let started = clock.now
            logger.info("asking the plugin to reindex \(contentType.contentType)")
            try await strapi.reindex(contentType)
            let uid = try await indexUid(of: contentType)
            try await settle(uid)
            let documents = try await meilisearch.index(uid) == nil ? 0 : try await meilisearch.numberOfDocuments(uid)
            let published = try await publishedRows(of: contentType.contentType)
            reports.append(PluginReindexReport(contentType: contentType.contentType, indexUid: uid, documents: documents, publishedRows: published,
                                               seconds: (clock.now - started).seconds,
                                               problem: Self.diagnose(documents: documents, publishedRows: published, cmsEnvironment: cmsEnvironment)))
        }
        return reports
    }

    /// The content types to rebuild: those named, or else those the plugin indexes (indexed, or
    /// listened to: set up once, even if this Meilisearch has no index yet) and those recette.yml
    /// names. The plugin lists every content type of the CMS; rebuilding them all would create
    /// indexes nobody asked for, and users-permissions' users only when named: an index of
    /// their e-mails is a leak waiting to happen.
    static func select(_ listed: [PluginContentType], only: Set<String>, configured: Set<String>) -> [PluginContentType] {
        if !only.isEmpty {
            return listed.filter { only.contains($0.contentType) || only.contains($0.indexUid ?? "") }
        }
        return listed.filter { contentType in
            contentType.contentType != usersContentType
                && (contentType.indexed == true || contentType.listened == true || configured.contains(contentType.contentType))
        }
    }

    static let usersContentType = "plugin::users-permissions.user"

    /// Why an index holds fewer documents than the database's published rows.
    public static func diagnose(documents: Int, publishedRows: Int, cmsEnvironment: [String: String]) -> String? {
        guard documents != publishedRows else { return nil }
        if documents > publishedRows {
            return "the index holds \(documents - publishedRows) documents more than the \(publishedRows) published rows (stale documents the plugin did not delete): run 'recette reindex --via direct'"
        }
        if documents > 0, documents % 2 == 0, (documents / 2) % 100 == 0 {
            let batch = documents / 2
            let variable = cmsEnvironment.sorted { $0.key < $1.key }
                .first { $0.key.uppercased().contains("BATCH") && $0.value.trimmingCharacters(in: .whitespaces) == String(batch) }?.key
            let source = variable.map { "\($0)=\"\(batch)\" in the CMS environment" } ?? "e.g. MEILISEARCH_BATCH_SIZE read from the environment"
            return """
                the index stops at \(documents) of \(publishedRows) published rows, exactly 2 × \(batch): the plugin's batch size is a string \
                (\(source)), so its loop 'index += batchSize' concatenates ("0" → "0\(batch)" → "0\(batch)\(batch)") and runs twice; \
                make it a number in config/plugins.js (parseInt) or run 'recette reindex --via direct'
                """
        }
        return "the index holds \(documents) of \(publishedRows) published rows: the plugin stopped early or a Meilisearch task failed (see Meilisearch's /tasks); run 'recette reindex --via direct'"
    }

    private func indexUid(of contentType: PluginContentType) async throws -> String {
        if let uid = contentType.indexUid, !uid.isEmpty { return uid }
        // The listing is the plugin's own view of it after the reindex.
        if let listed = try await strapi.contentTypes().first(where: { $0.contentType == contentType.contentType })?.indexUid { return listed }
        throw RecetteFailure("the Meilisearch plugin does not say which index holds \(contentType.contentType)")
    }

    /// Until Meilisearch has no enqueued or processing task for the index.
    private func settle(_ uid: String) async throws {
        let settled = try await settlePolling.poll(timeout: settleDeadline) {
            try await meilisearch.unfinishedTaskCount(indexUid: uid) == 0 ? true : nil
        }
        if settled == nil {
            throw RecetteFailure("Meilisearch still has unfinished tasks for \(uid) after \(Int(settleDeadline.seconds))s; see its /tasks")
        }
    }

    /// Published rows of the content type: the count of its recette.yml query when one names
    /// the content type, else the rows of its table (Strapi's stored schema says which) that
    /// have `published_at` set.
    private func publishedRows(of contentType: String) async throws -> Int {
        if let definition = definitions.first(where: { $0.contentType == contentType }) {
            let sql = "SELECT count(*) FROM (\(definition.subquery)) AS recette_documents"
            return try await rows.count(sql)
        }
        let schemaText = try await rows.query("SELECT value FROM strapi_core_store_settings WHERE key = 'strapi_content_types_schema'").column("value").first.flatMap { $0 }
        guard let schemaText, let schema = try? JSONSerialization.jsonObject(with: Data(schemaText.utf8)) as? [String: Any],
              let entry = schema[contentType] as? [String: Any], let table = entry["collectionName"] as? String else {
            throw RecetteFailure("cannot tell which table holds \(contentType): add it to search.indexes in recette.yml with content_type: \(contentType)")
        }
        let draftAndPublish = ((entry["options"] as? [String: Any])?["draftAndPublish"] as? Bool) ?? false
        let sql = "SELECT count(*) FROM \(PostgresConnection.quoteIdentifier(table))" + (draftAndPublish ? " WHERE published_at IS NOT NULL" : "")
        return try await rows.count(sql)
    }
}
