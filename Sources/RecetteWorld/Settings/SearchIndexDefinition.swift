import Foundation
import Yams

/// One Meilisearch index as `recette.yml` defines it: the SQL query whose rows are the
/// documents, the primary key, and optionally its settings and the Strapi content type.
///
/// ```yaml
/// search:
///   indexes:
///     - uid: offre-de-stage
///       primary_key: _meilisearch_id          # default
///       content_type: api::offre-de-stage.offre-de-stage
///       query: |
///         SELECT 'offre-de-stage-' || o.id AS _meilisearch_id, o.id, o.title
///         FROM offres_de_stage o WHERE o.published_at IS NOT NULL
///       settings:                            # optional; default: the live index's
///         filterableAttributes: [domaine]
///       transform: [node, scripts/transform-offre.js]   # optional: the project's own transformEntry
/// ```
public struct SearchIndexDefinition: Sendable, Equatable {
    public var uid: String
    public var primaryKey: String
    /// A SELECT whose rows (one JSON object each, via `row_to_json`) are the documents.
    public var query: String
    /// Strapi content type (`api::x.x`), for `--via plugin`.
    public var contentType: String?
    /// Meilisearch settings as a JSON object; nil: copy the live index's.
    public var settingsJSON: Data?
    /// Where `settingsJSON` comes from, for reports: its own entry in recette.yml, else
    /// `search.settings`, `recette.search-settings.yml` (`SearchSettingsFile`) or the CMS's
    /// plugin config.
    public var settingsOrigin = "recette.yml"
    /// The project's own transform, an argv: it reads the entries on its standard input (one
    /// JSON object per line) and prints one document (or `null`) per line. nil: none.
    public var transform: [String]?

    public init(uid: String, primaryKey: String = "_meilisearch_id", query: String, contentType: String? = nil, settingsJSON: Data? = nil,
                transform: [String]? = nil) {
        self.uid = uid
        self.primaryKey = primaryKey
        self.query = query
        self.contentType = contentType
        self.settingsJSON = settingsJSON
        self.transform = transform
    }

    /// The query without a trailing semicolon, ready to go between parentheses as a subquery:
    /// on lines of its own, so that a `--` comment on its last line ends before the closing
    /// parenthesis instead of swallowing it.
    public var subquery: String {
        var text = query.trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(";") { text = String(text.dropLast()).trimmingCharacters(in: .whitespacesAndNewlines) }
        return "\n" + text + "\n"
    }

    /// Meilisearch's rule for index uids and string ids.
    public static func isValidUid(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count < 400 && text.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" || $0 == "_" }
    }

    /// The keys of a `search.indexes` entry (also in `ProjectConfigFile.knownKeys`).
    public static let keys = ["uid", "content_type", "primary_key", "query", "settings", "transform"]

    /// `search.indexes` from the text of `recette.yml` (empty when absent).
    public static func parse(yaml: String, path: String) throws -> [SearchIndexDefinition] {
        func invalid(_ reason: String) -> ConfigurationError { .invalidConfigFile(path: path, reason: reason) }
        guard let root = (try? Yams.load(yaml: yaml)) as? [String: Any],
              let search = root["search"] as? [String: Any], let list = search["indexes"] else { return [] }
        guard let entries = list as? [[String: Any]] else {
            throw invalid("search.indexes must be a list of mappings with uid and query")
        }
        var seen = Set<String>()
        return try entries.enumerated().map { position, entry in
            let label = "search.indexes[\(position)]"
            guard let uid = entry["uid"] as? String, isValidUid(uid) else {
                throw invalid("\(label).uid must be an index name of letters, digits, '-' and '_'")
            }
            guard seen.insert(uid).inserted else { throw invalid("\(label): index '\(uid)' is defined twice") }
            guard let query = entry["query"] as? String, !query.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw invalid("\(label) (\(uid)) needs a query: a SELECT whose rows are the documents")
            }
            let primaryKey = entry["primary_key"] as? String ?? "_meilisearch_id"
            var settings: Data?
            if let value = entry["settings"] {
                guard let mapping = value as? [String: Any], JSONSerialization.isValidJSONObject(mapping),
                      let data = try? JSONSerialization.data(withJSONObject: mapping, options: [.sortedKeys]) else {
                    throw invalid("\(label).settings (\(uid)) must be a mapping of Meilisearch settings")
                }
                settings = data
            }
            var transform: [String]?
            if let value = entry["transform"] {
                // An argv, never a shell line: a string would need splitting rules of our own.
                guard let words = value as? [Any], !words.isEmpty, words.allSatisfy({ $0 is String }),
                      let argv = words as? [String], !argv[0].isEmpty else {
                    throw invalid("\(label).transform (\(uid)) must be a non-empty list of strings, the command and its arguments, e.g. [node, scripts/transform.js]")
                }
                transform = argv
            }
            if let unknown = entry.keys.sorted().first(where: { !keys.contains($0) }) {
                throw invalid("\(label).\(unknown) (\(uid)) is not a known key; expected \(keys.sorted().joined(separator: ", "))")
            }
            return SearchIndexDefinition(uid: uid, primaryKey: primaryKey, query: query, contentType: entry["content_type"] as? String, settingsJSON: settings,
                                         transform: transform)
        }
    }
}
