import Foundation
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

    public init(context: RecetteContext, only: [String] = []) throws {
        let configuration = context.configuration
        client = try MeilisearchClient.from(configuration, transport: context.http)
        let all = configuration.searchIndexes
        if only.isEmpty {
            definitions = all
        } else {
            for uid in only where !all.contains(where: { $0.uid == uid }) {
                throw RecetteFailure("no index '\(uid)' in search.indexes of recette.yml (configured: \(all.map(\.uid).joined(separator: ", ").nonEmpty ?? "none"))")
            }
            definitions = all.filter { only.contains($0.uid) }
        }
        guard let megabytes = Double(configuration[.searchBatchMegabytes] ?? "16"), megabytes >= 0.01, megabytes <= 1024 else {
            throw RecetteFailure("RECETTE_SEARCH_BATCH_MB must be a number of MiB between 0.01 and 1024, e.g. 16")
        }
        batchBytes = Int(megabytes * 1_048_576)
        switch configuration[.searchGzip] ?? "auto" {
        case "always": gzip = true
        case "never": gzip = false
        case "auto": gzip = !Self.isLoopback(client.baseURL.host ?? "")
        case let other: throw RecetteFailure("RECETTE_SEARCH_GZIP='\(other)': use auto, always or never")
        }
        let shrink = configuration[.searchMaxShrink] ?? "0.5"
        guard let share = Double(shrink), share >= 0, share <= 1 else {
            throw RecetteFailure("RECETTE_SEARCH_MAX_SHRINK='\(shrink)' is not a share between 0 and 1, e.g. 0.5 (a rebuild may lose half of an index's documents)")
        }
        maxShrink = share
    }

    /// The route asked for, else RECETTE_REINDEX_VIA, else direct when indexes are configured.
    public static func route(requested: ReindexRoute?, configuration: Configuration) throws -> ReindexRoute {
        if let requested { return requested }
        if let text = configuration[.reindexVia] {
            guard let route = ReindexRoute(rawValue: text) else { throw RecetteFailure("RECETTE_REINDEX_VIA='\(text)': use direct or plugin") }
            return route
        }
        return configuration.searchIndexes.isEmpty ? .plugin : .direct
    }

    /// Gzip costs CPU and saves nothing on this machine's own loopback.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    public func requireDefinitions(for what: String) throws {
        guard !definitions.isEmpty else {
            throw RecetteFailure("\(what) needs the indexes in recette.yml (search.indexes: uid and query per index; see README 'Search'), or use --via plugin")
        }
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
