import Foundation
import RecetteWorld

/// A prepare action that failed in the new database.
public struct PrepareFailure: Error, CustomStringConvertible, Sendable {
    public var action: String
    public var cause: String
    /// How to do without the action, for the restore's last line.
    public var skip = "--keep-wiring skips these actions"
    public var description: String { "prepare action '\(action)' failed in the new database: \(cause)" }
}

/// What the prepare phase did to the new database before it was swapped in, for the log and
/// the report. Never holds a secret (a stored Meilisearch key is never read out).
public struct PrepareAction: Sendable, Codable, Equatable {
    public var action: String
    public var detail: String
    /// How long it took, for the actions that are timed (post-restore SQL files).
    public var seconds: Double? = nil
}

/// The prepare phase's first actions: a restored staging copy loses its wiring to staging.
///
/// strapi-plugin-meilisearch keeps the Meilisearch host and key it was given in the admin in
/// Strapi's core store (`strapi_core_store_settings`, keys `plugin_meilisearch_meilisearch_host`
/// and `…_api_key`, values JSON-encoded), and prefers them to the CMS config. A local CMS booted
/// on the copy would write its index updates — and the admin's "Update", which deletes the
/// index first — into staging's Meilisearch. Both rows are removed, so the CMS's own config
/// (the local Meilisearch) is what the plugin uses. Enabled webhooks (`strapi_webhooks`) would
/// fire staging's hooks on every local edit: they are disabled, listed by name and URL.
/// Everything runs as one statement (one transaction) in the new database.
public enum LocalWiring {
    public static let storeKeys = ["plugin_meilisearch_meilisearch_host", "plugin_meilisearch_meilisearch_api_key"]

    /// The fingerprint part a pristine template records.
    public static func setting(_ enabled: Bool) -> String { enabled ? "wiring=local" : "wiring=kept" }

    /// What `--dry-run` lists.
    public static let planLines = [
        "prepare: remove the Meilisearch plugin's stored host and key (strapi_core_store_settings), so the CMS config's local Meilisearch is used",
        "prepare: disable every enabled webhook (strapi_webhooks)",
    ]

    /// `query` runs one SQL statement in the new database and returns its rows as text.
    public static func apply(query: (String) async throws -> [[String?]]) async throws -> [PrepareAction] {
        let present = try await query("SELECT to_regclass('public.strapi_core_store_settings') IS NOT NULL, to_regclass('public.strapi_webhooks') IS NOT NULL").first ?? []
        let hasStore = present.first == "t", hasWebhooks = present.count > 1 && present[1] == "t"
        var parts: [String] = []
        var selects: [String] = []
        if hasStore {
            let keys = storeKeys.map(PostgresConnection.quoteLiteral).joined(separator: ", ")
            parts.append("wiring AS (DELETE FROM public.strapi_core_store_settings WHERE key IN (\(keys)) RETURNING key, value)")
            // Only the host's value is read back; the key's never leaves the server.
            selects.append("SELECT 'meilisearch', CASE WHEN key = \(PostgresConnection.quoteLiteral(storeKeys[0])) THEN value ELSE '' END FROM wiring")
        }
        if hasWebhooks {
            parts.append("hooks AS (UPDATE public.strapi_webhooks SET enabled = false WHERE enabled RETURNING name, url)")
            selects.append("SELECT 'webhook', coalesce(name, '') || ' ' || coalesce(url, '') FROM hooks")
        }
        guard !parts.isEmpty else {
            return [PrepareAction(action: "wiring", detail: "no Strapi store or webhooks table: nothing to change")]
        }
        let rows: [[String?]]
        do {
            rows = try await query("WITH " + parts.joined(separator: ", ") + " " + selects.joined(separator: " UNION ALL "))
        } catch {
            throw PrepareFailure(action: "Meilisearch wiring and webhooks", cause: "\(error)")
        }
        var actions: [PrepareAction] = []
        let stored = rows.filter { $0.first == "meilisearch" }
        if hasStore {
            let host = stored.compactMap { $0.count > 1 ? $0[1] : nil }.first { !$0.isEmpty }.map(storedHost)
            actions.append(PrepareAction(action: "meilisearch wiring", detail: stored.isEmpty
                ? "the plugin stored no host or key: the CMS config applies"
                : "removed the plugin's stored \(host.map { "host \($0)" } ?? "key")\(stored.count > 1 && host != nil ? " and key" : ""): the CMS config's Meilisearch applies now"))
        }
        if hasWebhooks {
            let hooks = rows.filter { $0.first == "webhook" }.compactMap { $0.count > 1 ? $0[1] : nil }
            actions.append(PrepareAction(action: "webhooks", detail: hooks.isEmpty ? "none enabled" : "disabled \(hooks.count): " + hooks.joined(separator: "; ")))
        }
        return actions
    }

    /// The stored value is JSON (`"https://…"`); only the URL's scheme, host and port are shown.
    static func storedHost(_ value: String) -> String {
        let text = (try? JSONSerialization.jsonObject(with: Data(value.utf8), options: .fragmentsAllowed) as? String) ?? value
        guard let url = URLComponents(string: text), let host = url.host, !host.isEmpty else { return "(unreadable)" }
        return "\(url.scheme.map { "\($0)://" } ?? "")\(host)\(url.port.map { ":\($0)" } ?? "")"
    }
}
