import Foundation
import RecetteWorld

/// Finds the PostgreSQL addon named by ADDON_NAME: an addon id (`ad-…`), a provider id
/// (`postgresql`, legacy `scalingo-postgresql`) or one of the CLI's aliases.
public enum AddonResolver {
    static let postgresqlNames: Set<String> = ["postgresql", "scalingo-postgresql", "psql", "pgsql", "postgres"]

    public static func resolve(_ name: String, among addons: [ScalingoAddon], app: String) throws -> ScalingoAddon {
        let wanted = name.lowercased()
        let matches: [ScalingoAddon]
        if wanted.hasPrefix("ad-") {
            matches = addons.filter { $0.id.lowercased() == wanted }
        } else if postgresqlNames.contains(wanted) {
            matches = addons.filter { ["postgresql", "scalingo-postgresql"].contains($0.providerID.lowercased()) }
        } else {
            matches = addons.filter { $0.providerID.lowercased() == wanted }
        }
        let listing = addons.isEmpty ? "it has no addons" : "it has: " + addons.map { "\($0.id) (\($0.providerID))" }.joined(separator: ", ")
        switch matches.count {
        case 1:
            return matches[0]
        case 0:
            throw RecetteFailure("app '\(app)' has no addon matching ADDON_NAME='\(name)'; \(listing)")
        default:
            throw RecetteFailure("app '\(app)' has \(matches.count) addons matching ADDON_NAME='\(name)'; set ADDON_NAME to one id: \(listing)")
        }
    }
}

/// Which backup to take. API order is not trusted: backups are sorted by `created_at`.
public enum BackupChoice: Sendable, Equatable {
    case newest
    case id(String)
    /// The newest `done` backup created that day (UTC), `YYYY-MM-DD`.
    case day(String)

    public func select(from backups: [ScalingoBackup], addonID: String) throws -> ScalingoBackup {
        let newestFirst = backups.sorted { $0.createdAt > $1.createdAt }
        switch self {
        case .newest:
            guard let backup = newestFirst.first(where: { $0.status == "done" }) else {
                let others = backups.isEmpty ? "it has none" : "statuses: " + Dictionary(grouping: backups, by: \.status).map { "\($0.value.count) \($0.key)" }.sorted().joined(separator: ", ")
                throw RecetteFailure("addon \(addonID) has no backup whose status is 'done' (\(others)); make one in Scalingo's dashboard or pass --backup FILE")
            }
            return backup
        case .id(let id):
            guard let backup = backups.first(where: { $0.id == id }) else {
                throw RecetteFailure("backup \(id) is not among the \(backups.count) backups of addon \(addonID); list them with 'recette backups'")
            }
            guard backup.status == "done" else {
                throw RecetteFailure("backup \(id) is '\(backup.status)', not 'done'; wait for it to finish or pick another with 'recette backups'")
            }
            return backup
        case .day(let day):
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            guard let backup = newestFirst.first(where: { $0.status == "done" && formatter.string(from: $0.createdAt) == day }) else {
                throw RecetteFailure("addon \(addonID) has no 'done' backup created on \(day) (UTC); list them with 'recette backups'")
            }
            return backup
        }
    }

    /// `2026-11-20` → valid; anything else → nil.
    public static func isValidDay(_ text: String) -> Bool {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd"
        guard let date = formatter.date(from: text) else { return false }
        return formatter.string(from: date) == text
    }
}
