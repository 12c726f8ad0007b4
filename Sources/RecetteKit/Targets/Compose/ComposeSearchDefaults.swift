import Foundation
import RecetteWorld

/// The compose file's own Meilisearch as the search settings' defaults: a team's file already
/// says where Meilisearch listens (its published port) and with which master key (its
/// MEILI_MASTER_KEY, often from the `.env` compose reads), so recette needs neither repeated.
/// Any setting given (flag, environment, `.env`, `recette.yml`) still wins.
public enum ComposeSearchDefaults {
    /// PLUGIN_MEILISEARCH_URL and PLUGIN_MEILISEARCH_API_KEY as detected, for those not set;
    /// none when the target is not compose, both are set, or compose cannot be read (the
    /// command then works with its settings and says what is missing, as without detection).
    public static func detect(_ context: RecetteContext) async -> [Setting: String] {
        let configuration = context.configuration
        guard configuration[.target] == RestoreTargetKind.compose.rawValue else { return [:] }
        let wanted = [Setting.meilisearchURL, .meilisearchAPIKey].filter { !configuration.isSet($0) }
        guard !wanted.isEmpty else { return [:] }
        do {
            let resolved = try await ComposeProject.configured(by: context).resolve()
            guard let meilisearch = ComposeServiceDetection(resolved).meilisearch() else { return [:] }
            var detected: [Setting: String] = [:]
            if wanted.contains(.meilisearchURL), let url = meilisearch.url { detected[.meilisearchURL] = url }
            if wanted.contains(.meilisearchAPIKey), let key = meilisearch.masterKey { detected[.meilisearchAPIKey] = key.reveal() }
            return detected
        } catch {
            context.logger.debug("no search settings detected in the compose file: \(error)")
            return [:]
        }
    }
}
