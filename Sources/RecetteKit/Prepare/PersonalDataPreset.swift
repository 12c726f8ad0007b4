import Foundation
import RecetteWorld

/// The prepare phase's built-in anonymisation of Strapi's own personal data, for copies that
/// leave the recette environment (a review app: the url target, by default).
///
/// `up_users` (the site's users): e-mail `user-<id>@example.invalid` (unique, as Strapi
/// requires), username `user-<id>`, password and tokens removed. `admin_users` other than the
/// configured admin (`STRAPI_ADMIN_EMAIL`): e-mail `admin-<id>@example.invalid`, names
/// replaced, password and tokens removed (they can no longer log in). Only the columns the
/// table has are touched; a table that is missing is skipped.
public enum PersonalDataPreset {
    /// `RECETTE_ANONYMIZE`: `auto` (the url target only), `true`, `false`.
    public static func isEnabled(_ configuration: Configuration, target: String) throws -> Bool {
        switch try configuration.choice(.anonymize, as: Choice.self) {
        case .auto: return target == "url"
        case .true: return true
        case .false: return false
        }
    }

    /// RECETTE_ANONYMIZE's words (yes/on and no/off are aliases in the settings table).
    enum Choice: String, CaseIterable { case auto, `true`, `false` }

    public static func setting(_ enabled: Bool) -> String { enabled ? "anonymize=strapi" : "anonymize=no" }

    public static let planLines = [
        "prepare: anonymise up_users (e-mail user-<id>@example.invalid, username, password and tokens) and admin_users other than STRAPI_ADMIN_EMAIL",
    ]

    struct Rule {
        var column: String
        var expression: String
    }

    static let users = [
        Rule(column: "email", expression: "'user-' || id || '@example.invalid'"),
        Rule(column: "username", expression: "'user-' || id"),
        Rule(column: "password", expression: "NULL"),
        Rule(column: "reset_password_token", expression: "NULL"),
        Rule(column: "confirmation_token", expression: "NULL"),
    ]

    static let admins = [
        Rule(column: "email", expression: "'admin-' || id || '@example.invalid'"),
        Rule(column: "firstname", expression: "'Admin'"),
        Rule(column: "lastname", expression: "id::text"),
        Rule(column: "username", expression: "NULL"),
        Rule(column: "password", expression: "NULL"),
        Rule(column: "reset_password_token", expression: "NULL"),
        Rule(column: "registration_token", expression: "NULL"),
    ]

    /// `query` runs one SQL statement in the new database and returns its rows as text.
    public static func apply(keepingAdmin adminEmail: String?, query: (String) async throws -> [[String?]]) async throws -> [PrepareAction] {
        let columns = try await query("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name IN ('up_users', 'admin_users')
            """)
        func present(_ table: String) -> Set<String> { Set(columns.filter { $0.first == table }.compactMap { $0.count > 1 ? $0[1] : nil }) }
        var actions: [PrepareAction] = []
        for (table, rules, keep) in [("up_users", users, nil as String?), ("admin_users", admins, adminEmail)] {
            let have = present(table)
            let set = rules.filter { have.contains($0.column) }.map { "\(PostgresConnection.quoteIdentifier($0.column)) = \($0.expression)" }
            guard !set.isEmpty else { continue }
            var sql = "WITH changed AS (UPDATE public.\(table) SET \(set.joined(separator: ", "))"
            if let keep, !keep.isEmpty, have.contains("email") {
                sql += " WHERE lower(email) IS DISTINCT FROM lower(\(PostgresConnection.quoteLiteral(keep)))"
            }
            sql += " RETURNING 1) SELECT count(*) FROM changed"
            let count: String
            do {
                count = try await query(sql).first?.first.flatMap { $0 } ?? "0"
            } catch {
                throw PrepareFailure(action: "anonymise \(table)", cause: "\(error)")
            }
            actions.append(PrepareAction(action: "anonymise \(table)", detail: "\(count) row(s): " + rules.filter { have.contains($0.column) }.map(\.column).joined(separator: ", ")
                                          + (keep.map { $0.isEmpty ? "" : " (not \($0), the configured admin)" } ?? "")))
        }
        return actions
    }
}
