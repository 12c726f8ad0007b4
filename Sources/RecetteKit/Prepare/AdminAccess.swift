import Foundation
import RecetteWorld

/// The prepare phase's admin access: the admin users of a restored copy are staging's, so a
/// developer often cannot log in to the local admin, nor `reindex --via plugin`. With
/// `STRAPI_ADMIN_EMAIL` and `STRAPI_ADMIN_PASSWORD` set, that admin exists in the new
/// database, active, not blocked, with the super-admin role and that password, hashed as
/// Strapi stores it (bcryptjs, cost 10: `$2a$10$…`).
///
/// Strapi's admin login lower-cases the e-mail and looks it up exactly (`checkCredentials`),
/// so the e-mail is stored lower-cased. Tables are Strapi v4's (`admin_users`, `admin_roles`,
/// link table `admin_users_roles_links`); v5's `admin_users_roles_lnk` is used when that is
/// the one the database has. The password is hashed here; only its hash reaches the server,
/// and neither is ever logged or reported.
public struct AdminAccess: Sendable {
    public var email: String
    var password: Secret

    public static let superAdminRole = "strapi-super-admin"

    /// nil unless both settings are set: an e-mail alone only keeps that admin out of the
    /// anonymisation.
    public init?(_ configuration: Configuration) {
        guard let email = configuration[.strapiAdminEmail]?.trimmingCharacters(in: .whitespaces), !email.isEmpty,
              let password = configuration.secret(.strapiAdminPassword), !password.isEmpty else { return nil }
        self.email = email.lowercased()
        self.password = password
    }

    /// The fingerprint part a pristine template records (the e-mail, never the password).
    public static func setting(_ access: AdminAccess) -> String { "admin=\(access.email)" }

    public var planLines: [String] {
        ["prepare: make \(email) (STRAPI_ADMIN_EMAIL) an active super admin (admin_users, role \(Self.superAdminRole)) with STRAPI_ADMIN_PASSWORD, bcrypt-hashed as Strapi stores it"]
    }

    static let action = "admin access"
    static let skip = "unset STRAPI_ADMIN_PASSWORD to skip this action"

    /// `query` runs one SQL statement in the new database and returns its rows as text.
    public func apply(query: (String) async throws -> [[String?]]) async throws -> PrepareAction {
        let columns = try await query("""
            SELECT table_name, column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name IN ('admin_users', 'admin_roles', 'admin_users_roles_links', 'admin_users_roles_lnk')
            """)
        func present(_ table: String) -> Set<String> { Set(columns.filter { $0.first == table }.compactMap { $0.count > 1 ? $0[1] : nil }) }
        let users = present("admin_users")
        guard !users.isEmpty else { return PrepareAction(action: Self.action, detail: "no admin_users table: nothing to change") }
        let v4Links = present("admin_users_roles_links"), v5Links = present("admin_users_roles_lnk")
        let (linkTable, links) = v4Links.isEmpty ? ("admin_users_roles_lnk", v5Links) : ("admin_users_roles_links", v4Links)
        let required: [(String, Set<String>, [String])] = [
            ("admin_users", users, ["id", "email", "password", "is_active"]),
            ("admin_roles", present("admin_roles"), ["id", "code"]),
            (linkTable, links, ["user_id", "role_id"]),
        ]
        for (table, have, needed) in required {
            let missing = needed.filter { !have.contains($0) }
            guard missing.isEmpty else {
                throw PrepareFailure(action: Self.action, cause: "table \(table) lacks \(missing.joined(separator: ", ")) (not a Strapi v4/v5 admin schema)", skip: Self.skip)
            }
        }
        let roleRows = try await query("SELECT id FROM public.admin_roles WHERE code = \(PostgresConnection.quoteLiteral(Self.superAdminRole)) ORDER BY id LIMIT 1")
        guard let roleID = roleRows.first?.first ?? nil, !roleID.isEmpty else {
            throw PrepareFailure(action: Self.action, cause: "admin_roles has no '\(Self.superAdminRole)' role to give \(email): check the backup", skip: Self.skip)
        }

        let email = PostgresConnection.quoteLiteral(self.email)
        let hash = PostgresConnection.quoteLiteral(Bcrypt.hash(password.reveal()))
        var set = ["email = \(email)", "password = \(hash)", "is_active = true"]
        var insertColumns = ["email", "password", "is_active"], insertValues = [email, hash, "true"]
        func optional(_ column: String, _ value: String, onUpdate: Bool) {
            guard users.contains(column) else { return }
            if onUpdate { set.append("\(column) = \(value)") }
            insertColumns.append(column)
            insertValues.append(value)
        }
        optional("blocked", "false", onUpdate: true)
        optional("updated_at", "now()", onUpdate: true)
        optional("created_at", "now()", onUpdate: false)
        optional("firstname", "'Recette'", onUpdate: false)
        optional("lastname", "'Admin'", onUpdate: false)
        optional("prefered_language", "'en'", onUpdate: false)
        // Strapi v5 gives every entry, admin users included, a document id of 24 characters,
        // and, as admin users have no draft & publish, a published_at (v5's rows have it).
        optional("document_id", "substr(md5(random()::text), 1, 24)", onUpdate: false)
        optional("published_at", "now()", onUpdate: false)

        // Link-table order columns (v4.6+: role_order/user_order; v5: role_ord/user_ord): the
        // new link goes last for the role, first for the user.
        var linkColumns = ["user_id", "role_id"], linkValues = ["admin.id", "\(roleID)"]
        for (column, value) in [("role_order", "1"), ("role_ord", "1"),
                                ("user_order", "coalesce((SELECT max(user_order) FROM public.\(linkTable) WHERE role_id = \(roleID)), 0) + 1"),
                                ("user_ord", "coalesce((SELECT max(user_ord) FROM public.\(linkTable) WHERE role_id = \(roleID)), 0) + 1")]
        where links.contains(column) {
            linkColumns.append(column)
            linkValues.append(value)
        }
        let sql = """
            WITH existing AS (SELECT id FROM public.admin_users WHERE lower(email) = \(email) ORDER BY id LIMIT 1),
            updated AS (UPDATE public.admin_users SET \(set.joined(separator: ", ")) WHERE id IN (SELECT id FROM existing) RETURNING id),
            inserted AS (INSERT INTO public.admin_users (\(insertColumns.joined(separator: ", ")))
                         SELECT \(insertValues.joined(separator: ", ")) WHERE NOT EXISTS (SELECT 1 FROM existing) RETURNING id),
            admin AS (SELECT id FROM updated UNION ALL SELECT id FROM inserted),
            linked AS (INSERT INTO public.\(linkTable) (\(linkColumns.joined(separator: ", ")))
                       SELECT \(linkValues.joined(separator: ", ")) FROM admin
                       WHERE NOT EXISTS (SELECT 1 FROM public.\(linkTable) l WHERE l.user_id = admin.id AND l.role_id = \(roleID))
                       RETURNING 1)
            SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM linked)
            """
        let row: [String?]
        do {
            row = try await query(sql).first ?? []
        } catch {
            // The server's message may quote the statement, and the statement holds the hash.
            throw PrepareFailure(action: Self.action, cause: Self.withoutStatement("\(error)", hiding: [password.reveal()]), skip: Self.skip)
        }
        let created = row.first == "1", linked = row.count > 1 && row[1] == "1"
        return PrepareAction(action: Self.action, detail: (created ? "created \(self.email)" : "updated \(self.email)")
                             + ": active, not blocked, password set from STRAPI_ADMIN_PASSWORD (bcrypt, cost \(Bcrypt.strapiCost))"
                             + (linked ? ", super-admin role given" : ", already a super admin"))
    }

    /// The action on a clone of the pristine template, before it is swapped in: the template
    /// holds the admin as it was when it was made, today's password may differ.
    public func refresh(query: (String) async throws -> [[String?]]) async throws {
        _ = try await apply(query: query)
    }

    /// An error text with any line quoting SQL and every given secret removed.
    static func withoutStatement(_ text: String, hiding secrets: [String]) -> String {
        var result = text.split(separator: "\n").filter { !$0.contains("$2a$") }.joined(separator: " ")
        for secret in secrets where !secret.isEmpty { result = result.replacingOccurrences(of: secret, with: "***") }
        return result
    }
}
