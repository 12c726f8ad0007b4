import Foundation
import Logging
import RecetteWorld

/// The recette app's PostgreSQL backups on Scalingo, as the configuration names them:
/// SCALINGO_APP, ADDON_NAME, SCALINGO_API_TOKEN, SCALINGO_REGION (and URL overrides).
public struct ScalingoBackupSource: Sendable {
    public let client: ScalingoClient
    public let app: String
    public let addonName: String
    private let context: RecetteContext
    private let retry: RetryPolicy

    public init(context: RecetteContext, retry: RetryPolicy = RetryPolicy()) throws {
        guard let app = context.configuration[.scalingoApp], !app.isEmpty else { throw ScalingoError.missingApp }
        self.app = app
        self.addonName = context.configuration.text(.addonName)
        self.client = try ScalingoClient.from(context.configuration, transport: context.http, logger: context.logger, retry: retry)
        self.context = context
        self.retry = retry
    }

    public func addon() async throws -> ScalingoAddon {
        try AddonResolver.resolve(addonName, among: try await client.addons(app: app), app: app)
    }

    /// Every backup of the addon, newest first by `created_at` (whatever the API's order).
    public func backups() async throws -> (ScalingoAddon, [ScalingoBackup]) {
        let addon = try await addon()
        let backups = try await client.backups(app: app, addonID: addon.id).sorted { $0.createdAt > $1.createdAt }
        return (addon, backups)
    }

    public func download(_ choice: BackupChoice) async throws -> DownloadedBackup {
        let (addon, backups) = try await backups()
        let backup = try choice.select(from: backups, addonID: addon.id)
        let downloader = BackupDownloader(
            client: client, transport: context.archiveHTTP,
            cacheDirectory: context.stateDirectory.appendingPathComponent("backups"), logger: context.logger,
            progress: ProgressBar(label: "downloading", enabled: context.showsProgress), retry: retry)
        return try await downloader.download(app: app, addonID: addon.id, backup: backup)
    }
}
