import Foundation
import RecetteWorld

/// The prepare phase of one restore: which actions run in the new database, decided once from
/// the flags and settings, then run through whichever way the target reaches its server.
public struct PreparePhase: Sendable {
    public var localWiring: Bool
    public var anonymize: Bool
    public var adminEmail: String?

    public init(localWiring: Bool, configuration: Configuration, target: String) throws {
        self.localWiring = localWiring
        anonymize = try PersonalDataPreset.isEnabled(configuration, target: target)
        adminEmail = configuration[.strapiAdminEmail]
    }

    public var runs: Bool { localWiring || anonymize }

    /// What `--dry-run` lists.
    public var planLines: [String] {
        (localWiring ? LocalWiring.planLines : []) + (anonymize ? PersonalDataPreset.planLines : [])
    }

    /// `query` runs one SQL statement in the new database and returns its rows as text.
    public func run(query: (String) async throws -> [[String?]]) async throws -> [PrepareAction] {
        (localWiring ? try await LocalWiring.apply(query: query) : [])
            + (anonymize ? try await PersonalDataPreset.apply(keepingAdmin: adminEmail, query: query) : [])
    }
}
