import RecetteWorld

/// Exact row counts of every user table of a database (count(*), not statistics).
public struct TableRowCount: Sendable, Equatable, Codable {
    public var schema: String
    public var table: String
    public var rows: Int

    public var qualifiedName: String { schema == "public" ? table : "\(schema).\(table)" }

    /// Every table's exact count in one query (query_to_xml runs a count per table), so that
    /// a server reached through psql answers it in one round trip too.
    static let sql = """
        SELECT n.nspname, c.relname,
               (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
        ORDER BY 1, 2
        """

    static func parse(_ rows: [[String?]]) -> [TableRowCount] {
        rows.compactMap { row in
            guard row.count == 3, let schema = row[0], let table = row[1], let rows = row[2].flatMap({ Int($0) }) else { return nil }
            return TableRowCount(schema: schema, table: table, rows: rows)
        }
    }

    public static func all(in connection: PostgresConnection) throws -> [TableRowCount] {
        parse(try connection.query(sql).rows)
    }
}
