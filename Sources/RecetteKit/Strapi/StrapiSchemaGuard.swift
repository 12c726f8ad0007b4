import Foundation
import RecetteWorld

/// What Strapi's boot schema sync would do to a database: the tables and columns it would
/// drop, and those it would add.
///
/// The rules, as `@strapi/database`'s schema diff applies them at every start (v4 and v5):
/// - a table is dropped when the database has it, the code no longer declares it, and
///   `strapi_database_schema` (the schema Strapi wrote last time) lists it; a table Strapi
///   never tracked is left alone, and so are `strapi_migrations`, `strapi_migrations_internal`,
///   `strapi_database_schema` and the tables the core store's `core_persisted_tables` names;
/// - a column is dropped when its table stays, the code no longer declares it, and the
///   tracked schema lists it on that table;
/// - what the code declares and the database lacks is added.
/// Strapi's own tables (admin, core store, webhooks, API tokens, upload, i18n,
/// users-permissions: `admin_*`, `strapi_*`, `files*`, `upload_*`, `i18n_*`, `up_*`) come from
/// its packages, not the project's source: recette does not model them, so it never reports
/// them as drops (only as additions when a media field needs `files_related_morphs`).
public struct StrapiSchemaChanges: Sendable, Equatable, Codable {
    public var droppedTables: [String] = []
    /// `table.column`.
    public var droppedColumns: [String] = []
    public var addedTables: [String] = []
    public var addedColumns: [String] = []
    /// False when the database has no `strapi_database_schema` row: Strapi then drops nothing.
    public var tracked = true

    public init() {}

    public var dropsSomething: Bool { !droppedTables.isEmpty || !droppedColumns.isEmpty }

    /// One line per change, drops first.
    public var lines: [String] {
        var lines = droppedTables.map { "would DROP table \($0)" } + droppedColumns.map { "would DROP column \($0)" }
        lines += addedTables.map { "would ADD table \($0)" } + addedColumns.map { "would ADD column \($0)" }
        if !tracked { lines.append("no strapi_database_schema row: Strapi tracked nothing, so it drops nothing") }
        if lines.isEmpty { lines.append("nothing to drop or add: the database matches the CMS source") }
        return lines
    }

    /// The drops in one line, for an error message.
    public var dropSummary: String {
        (droppedTables.map { "table \($0)" } + droppedColumns.map { "column \($0)" }).joined(separator: ", ")
    }
}

/// What a database holds and what Strapi tracked in it, as the guard compares them.
public struct StrapiDatabaseState: Sendable, Equatable {
    /// Base tables of the current schema → their columns.
    public var tables: [String: [String]]
    /// `strapi_database_schema`'s last schema (tables → columns), nil without a row.
    public var tracked: [String: [String]]?
    /// Tables the core store's `core_persisted_tables` keeps out of the sync.
    public var persistedTables: Set<String>

    public init(tables: [String: [String]], tracked: [String: [String]]?, persistedTables: Set<String> = []) {
        self.tables = tables
        self.tracked = tracked
        self.persistedTables = persistedTables
    }
}

public enum StrapiSchemaGuard {
    static let reservedTables: Set<String> = ["strapi_migrations", "strapi_migrations_internal", "strapi_database_schema"]
    static let corePrefixes = ["strapi_", "admin_", "up_", "files", "upload_", "i18n_"]

    static func isStrapiCore(_ table: String) -> Bool { corePrefixes.contains { table.hasPrefix($0) } }

    /// The comparison itself, on values: what the sync would drop and add.
    public static func changes(expected: StrapiSchema, database: StrapiDatabaseState) -> StrapiSchemaChanges {
        var changes = StrapiSchemaChanges()
        changes.tracked = database.tracked != nil
        let tracked = database.tracked ?? [:]
        let names = DatabaseNames(shortened: expected.shortensNames)
        let expectedTables = expected.tables.map { table in (table, names.resolve(table.nameTokens, exact: table.name, among: database.tables.keys)) }
        let expectedNames = Set(expectedTables.flatMap(\.1.present))
        for table in database.tables.keys.sorted() where !expectedNames.contains(table) && tracked[table] != nil {
            guard !reservedTables.contains(table), !database.persistedTables.contains(table), !isStrapiCore(table) else { continue }
            changes.droppedTables.append(table)
        }
        for (table, found) in expectedTables {
            guard let name = found.present.first, let present = database.tables[name] else {
                changes.addedTables.append(found.shown)
                continue
            }
            var expectedColumns: Set<String> = []
            for column in table.columns {
                let match = names.resolve(table.tokens(ofColumn: column), exact: column, among: present)
                if match.present.isEmpty { changes.addedColumns.append("\(name).\(match.shown)") }
                expectedColumns.formUnion(match.present)
            }
            guard !isStrapiCore(table.name), let trackedColumns = tracked[name] else { continue }
            for column in present where !expectedColumns.contains(column) && trackedColumns.contains(column) {
                changes.droppedColumns.append("\(name).\(column)")
            }
        }
        return changes
    }

    /// How an expected name is found in the database: itself on v4; on v5 the names of its
    /// shape when Strapi shortened it (several only if the database holds stale ones: all are
    /// counted as expected, so that no live name is reported as a drop).
    private struct DatabaseNames {
        var shortened: Bool

        func resolve(_ tokens: [StrapiIdentifiers.Token], exact: String, among names: some Collection<String>) -> (present: [String], shown: String) {
            guard shortened, let shape = try? StrapiIdentifiers.shape(tokens), shape.exact == nil else {
                let name = shortened ? ((try? StrapiIdentifiers.shape(tokens))?.exact ?? exact) : exact
                return (names.contains(name) ? [name] : [], name)
            }
            return (names.filter(shape.matches).sorted(), shape.description)
        }
    }

    /// Reads the database's tables, the tracked schema and the persisted tables.
    public static func read(_ connection: PostgresConnection) throws -> StrapiDatabaseState {
        var tables: [String: [String]] = [:]
        let columns = try connection.query("""
            SELECT c.table_name, c.column_name
            FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
            ORDER BY c.table_name, c.ordinal_position
            """)
        for row in columns.rows {
            guard let table = row[0], let column = row[1] else { continue }
            tables[table, default: []].append(column)
        }
        var tracked: [String: [String]]?
        if tables["strapi_database_schema"] != nil,
           let text = try connection.query("SELECT schema::text FROM strapi_database_schema ORDER BY time DESC NULLS LAST, id DESC LIMIT 1").scalar {
            tracked = try trackedTables(fromSchemaJSON: text)
        }
        var persisted: Set<String> = []
        if tables["strapi_core_store_settings"] != nil,
           let text = try connection.query("SELECT value FROM strapi_core_store_settings WHERE key = 'core_persisted_tables' ORDER BY id DESC LIMIT 1").scalar,
           case .array(let items)? = try? JSONDecoder().decode(StrapiJSON.self, from: Data(text.utf8)) {
            // Strings, or {name, dependsOn} objects (Strapi reads both).
            persisted = Set(items.compactMap { $0.string ?? $0["name"]?.string })
        }
        return StrapiDatabaseState(tables: tables, tracked: tracked, persistedTables: persisted)
    }

    /// `strapi_database_schema.schema`: `{"tables": [{"name", "columns": [{"name", …}], "indexes",
    /// "foreignKeys"}]}`; some drivers stored it as a JSON string holding that JSON.
    static func trackedTables(fromSchemaJSON text: String) throws -> [String: [String]] {
        let invalid = RecetteFailure("strapi_database_schema holds a schema recette cannot read (expected {\"tables\": [{\"name\", \"columns\"}]}); check the restored database, or boot the CMS on a copy you can lose")
        guard var value = try? JSONDecoder().decode(StrapiJSON.self, from: Data(text.utf8)) else { throw invalid }
        if let inner = value.string, let decoded = try? JSONDecoder().decode(StrapiJSON.self, from: Data(inner.utf8)) { value = decoded }
        guard case .array(let tables)? = value["tables"] else { throw invalid }
        var result: [String: [String]] = [:]
        for table in tables {
            guard let name = table["name"]?.string else { throw invalid }
            guard case .array(let columns)? = table["columns"] else { result[name] = []; continue }
            result[name] = columns.compactMap { $0["name"]?.string }
        }
        return result
    }

    /// The whole check: the project's model, its expected schema, and the database's state.
    public static func check(project: StrapiProject, connectionString: String) async throws -> (model: StrapiModel, changes: StrapiSchemaChanges) {
        let model = try project.model()
        let expected = StrapiSchema.expected(by: model)
        let connection = try PostgresConnection(url: connectionString)
        let state = try await connection.onOwnThread { try read($0) }
        return (model, changes(expected: expected, database: state))
    }

    /// The fix named when the sync would drop something.
    public static let fix = "check out the branch that matches recette, or pass --allow-schema-drops"
}
