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
    /// `RECETTE_ANONYMIZE` (or recette.yml's `anonymize:`, `anonymize.enabled:` in its long
    /// form): `auto` (the url target only), `true`, `false`.
    public static func isEnabled(_ configuration: Configuration, target: String) throws -> Bool {
        let choice: Choice
        if configuration.resolved(.anonymize).map({ $0.source != .defaultValue }) ?? false {
            choice = try configuration.choice(.anonymize, as: Choice.self)
        } else if let enabled = try AnonymizationRules(configuration).enabled {
            let aliases = ["yes": "true", "on": "true", "no": "false", "off": "false"]
            let word = enabled.lowercased()
            guard let given = Choice(rawValue: aliases[word] ?? word) else {
                throw RecetteFailure("recette.yml: anonymize.enabled is \"\(enabled)\": expected auto (review apps: the url target), true or false")
            }
            choice = given
        } else {
            choice = .auto
        }
        switch choice {
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
    /// `overridden` ("table.column"): columns recette.yml's rules anonymise their own way, from
    /// the backup's values; the preset leaves them to the rules.
    public static func apply(keepingAdmin adminEmail: String?, overridden: Set<String> = [],
                             query: (String) async throws -> [[String?]]) async throws -> [PrepareAction] {
        let columns = try await query("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name IN ('up_users', 'admin_users')
            """)
        func present(_ table: String) -> Set<String> { Set(columns.filter { $0.first == table }.compactMap { $0.count > 1 ? $0[1] : nil }) }
        var actions: [PrepareAction] = []
        for (table, rules, keep) in [("up_users", users, nil as String?), ("admin_users", admins, adminEmail)] {
            let have = present(table).filter { !overridden.contains("\(table).\($0)") }
            let set = rules.filter { have.contains($0.column) }.map { "\(PostgresConnection.quoteIdentifier($0.column)) = \($0.expression)" }
            guard !set.isEmpty else { continue }
            let count = try await updateEveryRow(table, set: set, keepingAdmin: present(table).contains("email") ? keep : nil,
                                                 failure: PrepareFailure(action: "anonymise \(table)", cause: ""), query: query)
            actions.append(PrepareAction(action: "anonymise \(table)", detail: "\(count) row(s): " + rules.filter { have.contains($0.column) }.map(\.column).joined(separator: ", ")
                                          + (keep.map { $0.isEmpty ? "" : " (not \($0), the configured admin)" } ?? "")))
        }
        return actions
    }

    /// `assignments` on every row of `table` but the configured admin's (matched by e-mail),
    /// in one statement; returns how many rows changed. A failure is `failure` with the cause.
    static func updateEveryRow(_ table: String, set assignments: [String], keepingAdmin admin: String?, failure: PrepareFailure,
                               query: (String) async throws -> [[String?]]) async throws -> String {
        var sql = "WITH changed AS (UPDATE public.\(PostgresConnection.quoteIdentifier(table)) SET \(assignments.joined(separator: ", "))"
        if let admin, !admin.isEmpty {
            sql += " WHERE lower(email) IS DISTINCT FROM lower(\(PostgresConnection.quoteLiteral(admin)))"
        }
        sql += " RETURNING 1) SELECT count(*) FROM changed"
        do {
            return try await query(sql).first?.first.flatMap { $0 } ?? "0"
        } catch {
            var failure = failure
            failure.cause = "\(error)"
            throw failure
        }
    }
}
