import RecetteWorld
/// Exact row counts of every user table of a database (count(*), not statistics).
public struct TableRowCount: Sendable, Equatable, Codable {
    public var schema: String
    public var table: String
    public var rows: Int

    public var qualifiedName: String { schema == "public" ? table : "\(schema).\(table)" }

    public static func all(in connection: PostgresConnection) throws -> [TableRowCount] {
        let tables = try connection.query("""
            SELECT n.nspname, c.relname
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
            ORDER BY 1, 2
            """)
        return try tables.rows.map { row in
            let schema = row[0]!, table = row[1]!
            let count = try connection.query("SELECT count(*) FROM \(PostgresConnection.quoteIdentifier(schema)).\(PostgresConnection.quoteIdentifier(table))").scalar
            return TableRowCount(schema: schema, table: table, rows: Int(count ?? "0") ?? 0)
        }
    }
}
