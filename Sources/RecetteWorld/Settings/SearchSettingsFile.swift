import Foundation
import Yams

/// Meilisearch settings by index uid, for indexes whose `settings:` is not written in their
/// `search.indexes` entry (indexes from the CMS source's model have no entry at all).
///
/// Two places hold them, in the same shape (`search: settings: {uid: {…}}`):
/// - `search.settings` of `recette.yml`, written by hand;
/// - `recette.search-settings.yml`, which `recette search settings pull` writes. A file of its
///   own because loading and dumping `recette.yml` would drop the team's comments and layout;
///   this one is the tool's, rewritten whole at each pull.
/// An index's own `settings:` wins over `search.settings`, which wins over the pulled file.
public enum SearchSettingsFile {
    public static let fileName = "recette.search-settings.yml"

    /// Settings of one index and the file they come from (for the run report).
    public struct Entry: Sendable, Equatable {
        /// A JSON object, keys sorted.
        public var json: Data
        public var origin: String
    }

    /// `search.settings` of a YAML text (empty when absent).
    public static func parse(yaml: String, path: String, origin: String) throws -> [String: Entry] {
        func invalid(_ reason: String) -> ConfigurationError { .invalidConfigFile(path: path, reason: reason) }
        let loaded: Any?
        do { loaded = try Yams.load(yaml: yaml) } catch { throw invalid("not valid YAML (\(error))") }
        guard let root = loaded as? [String: Any], let search = root["search"] as? [String: Any], let value = search["settings"] else { return [:] }
        guard let byIndex = value as? [String: Any] else {
            throw invalid("search.settings must map index uids to their Meilisearch settings, e.g. search.settings.offre-de-stage.filterableAttributes")
        }
        var entries: [String: Entry] = [:]
        for (uid, settings) in byIndex {
            guard SearchIndexDefinition.isValidUid(uid) else {
                throw invalid("search.settings: '\(uid)' is not an index name (letters, digits, '-' and '_')")
            }
            guard let mapping = settings as? [String: Any], JSONSerialization.isValidJSONObject(mapping),
                  let data = try? JSONSerialization.data(withJSONObject: mapping, options: [.sortedKeys]) else {
                throw invalid("search.settings.\(uid) must be a mapping of Meilisearch settings")
            }
            entries[uid] = Entry(json: data, origin: origin)
        }
        return entries
    }

    /// The file's text: a comment saying where the settings came from, then each index's
    /// settings as indented JSON (JSON is YAML; unlike a YAML dump it keeps every value's
    /// type exactly: `"1"` stays a string, `null` a null), uids in order.
    public static func render(_ settings: [String: Data], header: [String]) throws -> String {
        var text = header.map { "# " + $0 }.joined(separator: "\n") + "\nsearch:\n  settings:\n"
        for uid in settings.keys.sorted() {
            let object = try JSONSerialization.jsonObject(with: settings[uid]!)
            let pretty = String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]),
                                as: UTF8.self)
            // Continuation lines indented past the key: the flow mapping stays this key's value.
            // (A JSON line never ends inside a string, so trailing blanks are layout only.)
            let indented = pretty.split(separator: "\n", omittingEmptySubsequences: false)
                .map { line in line.reversed().drop { $0 == " " }.reversed().map(String.init).joined() }
                .joined(separator: "\n      ")
            text += "    \"\(uid)\": \(indented)\n"
        }
        return text
    }
}
