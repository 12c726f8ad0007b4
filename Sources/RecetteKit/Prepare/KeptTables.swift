import Foundation
import RecetteWorld

/// The prepare phase's kept local state: `keep: [tables]` in `recette.yml` (`RECETTE_KEEP`,
/// ':'-separated), e.g. `strapi_api_tokens` or a developer's own admin users. Their rows are
/// copied from the database being replaced into the new one before it is swapped in (the
/// local and url targets; the compose target's reset removes the volume first, so it has
/// nothing to copy from). The new copy's rows of those tables are replaced; PostgreSQL's
/// foreign keys stay enforced, so a kept row pointing at a row the backup lacks, or a backup
/// row pointing at a kept table's row that is gone, fails the action (the previous database
/// stays whole) — the warning before names the tables to keep with them (the closure).
///
/// Rows travel as JSON through recette's memory (`jsonb_agg`: one line of text whatever the rows, then `json_populate_recordset`,
/// columns matched by name): kept tables are small local state, not content.
public struct KeptTables: Sendable {
    public var tables: [String]

    public init(_ configuration: Configuration) {
        tables = (configuration[.keep] ?? "").split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    public var setting: String? { tables.isEmpty ? nil : "keep=" + tables.joined(separator: ",") }

    public var planLines: [String] {
        tables.isEmpty ? [] : ["prepare: copy the rows of the kept tables (\(tables.joined(separator: ", "))) from the database being replaced, when there is one"]
    }

    static let action = "keep tables"
    static let skip = "fix keep in recette.yml"

    /// Before anything is touched: every kept table is in the backup (`toc`) and in the
    /// database being replaced (`previous`, when there is one). Returns the closure warning.
    public func check(toc: TableOfContents, previous: ((String) async throws -> [[String?]])?, database: String) async throws -> String? {
        guard !tables.isEmpty else { return nil }
        let inBackup = Set(toc.entries.filter { $0.type == "TABLE" && $0.schema == "public" }.map(\.name))
        var problems = tables.filter { !inBackup.contains($0) }.map { "'\($0)' is not a table of the backup" }
        guard let previous else {
            guard problems.isEmpty else { throw failure(problems) }
            return nil
        }
        let list = tables.map(PostgresConnection.quoteLiteral).joined(separator: ", ")
        let present = Set(try await previous("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname IN (\(list))")
            .compactMap { $0.first ?? nil })
        problems += tables.filter { !present.contains($0) }.map { "'\($0)' is not a table of the database being replaced ('\(database)')" }
        guard problems.isEmpty else { throw failure(problems) }
        let links = try await previous("""
            SELECT DISTINCT f.relname, t.relname FROM pg_constraint k
            JOIN pg_class f ON f.oid = k.conrelid JOIN pg_class t ON t.oid = k.confrelid
            JOIN pg_namespace n ON n.oid = f.relnamespace
            WHERE k.contype = 'f' AND n.nspname = 'public' AND (f.relname IN (\(list)) OR t.relname IN (\(list))) ORDER BY 1, 2
            """).compactMap { row -> (String, String)? in
                guard row.count == 2, let from = row[0], let to = row[1] else { return nil }
                return (from, to)
            }
        let kept = Set(tables)
        let outside = links.filter { kept.contains($0.0) != kept.contains($0.1) }
        guard !outside.isEmpty else { return nil }
        let missing = Set(outside.map { kept.contains($0.0) ? $0.1 : $0.0 }).sorted()
        return "kept tables are linked by foreign keys to tables not kept (" + outside.map { "\($0.0) → \($0.1)" }.joined(separator: ", ")
            + "): their rows must match the backup's, or the copy fails and the previous database stays; to keep the whole closure add "
            + missing.joined(separator: ", ") + " to keep in recette.yml"
    }

    private func failure(_ problems: [String]) -> RecetteFailure {
        RecetteFailure("keep in recette.yml: " + problems.joined(separator: "; ") + "; fix the list (nothing was changed)")
    }

    /// `previous` queries the database being replaced, `query` the new one (inside the
    /// prepare phase's transaction).
    public func apply(previous: (String) async throws -> [[String?]], query: (String) async throws -> [[String?]]) async throws -> [PrepareAction] {
        guard !tables.isEmpty else { return [] }
        do {
            let order = try await referencedFirst(query: query)
            // Rows of the new copy go first, the referencing tables' before those they reference.
            for table in order.reversed() { _ = try await query("DELETE FROM public.\(PostgresConnection.quoteIdentifier(table))") }
            var counts: [String] = []
            for table in order {
                let name = "public.\(PostgresConnection.quoteIdentifier(table))"
                let json = try await previous(Self.rowsSQL(table)).first ?? []
                let rows = json.count > 1 ? json[1] ?? "0" : "0"
                _ = try await query("INSERT INTO \(name) SELECT * FROM json_populate_recordset(NULL::\(name), \(PostgresConnection.quoteLiteral(json.first.flatMap { $0 } ?? "[]")))")
                // Serial columns go on after the kept rows' ids.
                _ = try await query("""
                    SELECT setval(s, greatest((SELECT max(x) FROM (SELECT (to_jsonb(t) ->> a.attname)::bigint AS x FROM \(name) t) m), 1))
                    FROM pg_attribute a, LATERAL pg_get_serial_sequence(\(PostgresConnection.quoteLiteral(name)), a.attname) AS s
                    WHERE a.attrelid = \(PostgresConnection.quoteLiteral(name))::regclass AND a.attnum > 0 AND NOT a.attisdropped AND s IS NOT NULL
                    """)
                counts.append("\(table) \(rows)")
            }
            return [PrepareAction(action: Self.action, detail: "copied from the database being replaced: " + counts.joined(separator: ", ") + " row(s)")]
        } catch {
            throw PrepareFailure(action: Self.action, cause: "\(error)", skip: Self.skip)
        }
    }

    /// A kept table's rows in the database being replaced: one JSON array, and their count.
    public static func rowsSQL(_ table: String) -> String {
        "SELECT coalesce(jsonb_agg(t), '[]'::jsonb)::text, count(*) FROM public.\(PostgresConnection.quoteIdentifier(table)) t"
    }

    /// What `apply` reads from the database being replaced, read now into memory: for a
    /// target whose reset removes that database before the new one exists (compose).
    public func snapshot(previous: (String) async throws -> [[String?]]) async throws -> [String: [[String?]]] {
        var rows: [String: [[String?]]] = [:]
        for table in tables { rows[Self.rowsSQL(table)] = try await previous(Self.rowsSQL(table)) }
        return rows
    }

    /// The kept tables, each after the kept tables it references.
    private func referencedFirst(query: (String) async throws -> [[String?]]) async throws -> [String] {
        let list = tables.map(PostgresConnection.quoteLiteral).joined(separator: ", ")
        let edges = try await query("""
            SELECT f.relname, t.relname FROM pg_constraint k JOIN pg_class f ON f.oid = k.conrelid JOIN pg_class t ON t.oid = k.confrelid
            WHERE k.contype = 'f' AND f.relname IN (\(list)) AND t.relname IN (\(list)) AND f.oid <> t.oid
            """).compactMap { row -> (String, String)? in row.count == 2 ? (row[0] ?? "", row[1] ?? "") : nil }
        var order: [String] = [], remaining = tables
        while !remaining.isEmpty {
            let ready = remaining.filter { table in !edges.contains { $0.0 == table && remaining.contains($0.1) } }
            let next = ready.isEmpty ? remaining : ready  // a cycle: the order no longer matters to deferred-less FKs anyway
            order += next
            remaining.removeAll { next.contains($0) }
        }
        return order
    }
}
