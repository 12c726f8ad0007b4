import Foundation
import RecetteWorld

/// The SQL whose rows are, one per published entry, the documents strapi-plugin-meilisearch
/// sends for a content type without a `transformEntry`: on Strapi v4 (plugin 0.12) what
/// `entityService.findMany(uid, {fields: '*', populate: '*', publicationState: 'live'})` returns,
/// on Strapi v5 (plugin 0.13 and later) what `strapi.documents(uid).findMany({fields: '*',
/// populate: '*', status: 'published'})` returns; private attributes removed, `_meilisearch_id`
/// added. Each column is one key of the document, so the reindexer's `row_to_json` turns a row
/// into that document.
///
/// What Strapi v4 does, as read in `@strapi/database` (see the README, "Documents from the
/// model"): `populate: '*'` populates every relation-like attribute one level deep; a populated
/// row keeps only its scalar attributes and its `id`; an absent single component, relation or
/// single media is `null`, an empty repeatable component, dynamic zone or to-many relation is
/// `[]`, and an entry without any file in a multiple media field gets `null` (the populate maps
/// a missing group through `fromRow`, which gives null). Read-side types on PostgreSQL: `date`
/// stays the text PostgreSQL prints, `datetime` is `new Date(v).toISOString()`, `decimal` goes
/// through `parseFloat`, `biginteger` is a string, `json` the parsed value.
///
/// Strapi v5 (README, "Documents from the model", Strapi v5) keeps one row per version of a
/// document: the published rows (`published_at` set) are the documents, each with its
/// `documentId` and `locale`; its components, links and media are the published row's own.
/// Names past 55 characters are shortened with a hash, found in the database's catalog.
public struct StrapiEntryQuery: Sendable {
    public var model: StrapiModel
    public var contentType: StrapiContentType
    /// The SELECT, one row per published entry in id order.
    public private(set) var sql = ""
    private var schema: StrapiSchema
    /// Where v5's shortened names are read; without it, a name Strapi v5 shortens is refused.
    private var catalog: StrapiCatalog
    private var isV5: Bool { model.strapiMajor >= 5 }

    public init(model: StrapiModel, contentType: StrapiContentType, catalog: StrapiCatalog? = nil) throws {
        guard [4, 5].contains(model.strapiMajor) else {
            throw RecetteFailure("the documents of \(contentType.uid) cannot be generated: recette knows Strapi v4 and v5 (this project is Strapi \(model.strapiVersion ?? String(model.strapiMajor))); give this index a query in search.indexes of recette.yml")
        }
        guard !contentType.localized || model.strapiMajor >= 5 else {
            throw RecetteFailure("the documents of \(contentType.uid) cannot be generated yet: it is localized (i18n) on Strapi v4, which recette does not model; give this index a query in search.indexes of recette.yml")
        }
        self.model = model
        self.contentType = contentType
        self.schema = StrapiSchema.expected(by: model)
        self.catalog = catalog ?? StrapiCatalog(columns: [:])
        // Built now, so that a model it cannot handle fails at resolution, not mid-rebuild.
        sql = try select()
    }

    /// The index Meilisearch gets: the plugin names it after the content type's model name
    /// (`getCollectionName` is `modelName`, v4's `info.singularName`) unless its config gives
    /// an `indexName`.
    public var indexUid: String { contentType.singularName }

    private func select() throws -> String {
        let entry = "e"
        let table = try entryTable(contentType)
        var builder = Builder()
        if isV5 {
            // Only the documents' rows have their links aggregated: the draft rows (as many again
            // with draft & publish) and other locales' would be thrown away by the filter.
            builder.documentRows = "SELECT d.id FROM \(PostgresConnection.quoteIdentifier(table)) d WHERE " + documentConditions(alias: "d").joined(separator: " AND ")
        }
        var columns = try entryFields(of: contentType, table: table, alias: entry, builder: &builder)
        columns.append(Field(key: "_meilisearch_id", expression: meilisearchID(alias: entry)))
        for column in columns { _ = try checkedKey(column.key) }
        let conditions = documentConditions(alias: entry)
        let filter = conditions.isEmpty ? "" : "\nWHERE " + conditions.joined(separator: " AND ")
        return "SELECT " + columns.map { "\($0.expression) AS \(key($0.key))" }.joined(separator: ",\n       ")
            + "\nFROM \(PostgresConnection.quoteIdentifier(table)) \(entry)"
            + builder.joins.map { "\n" + $0 }.joined() + "\(filter)\nORDER BY \(entry).id"
    }

    /// The rows that are documents.
    private func documentConditions(alias: String) -> [String] {
        var conditions: [String] = []
        // v5 keeps published_at on every content type: without draft & publish every row is
        // published; with it, the draft rows have none.
        if contentType.draftAndPublish || isV5 { conditions.append("\(alias).published_at IS NOT NULL") }
        if isV5 && contentType.localized {
            // The plugin asks for no locale, so the document service reads the default one.
            conditions.append("\(alias).locale = \(PostgresConnection.quoteLiteral(catalog.defaultLocale ?? "en"))")
        }
        return conditions
    }

    /// `_meilisearch_id`: `<modelName>-<id>` on Strapi v4 and up to plugin 0.14
    /// (`addCollectionNamePrefix`); from 0.15 `<modelName>-<documentId>`, and from 0.16 with
    /// `-<locale>` added when the entry has one (`buildMeilisearchId`: `if (locale)`, so a
    /// null or empty locale adds nothing). A v5 project whose plugin version is unknown gets
    /// the newest scheme.
    private func meilisearchID(alias: String) -> String {
        let prefix = PostgresConnection.quoteLiteral(contentType.singularName + "-")
        let plugin = model.meilisearchPluginVersion.flatMap(Self.minorVersion) ?? (isV5 ? .max : 0)
        guard isV5, plugin >= 15 else { return "\(prefix) || \(alias).id" }
        guard plugin >= 16 else { return "\(prefix) || \(alias).document_id" }
        return "\(prefix) || \(alias).document_id || coalesce('-' || nullif(\(alias).locale, ''), '')"
    }

    /// The minor version of a 0.x plugin version or range (`0.16.5`, `^0.15.0` → 16, 15); a
    /// 1.x or later counts as newer than every 0.x.
    static func minorVersion(_ version: String) -> Int? {
        let numbers = version.drop { !$0.isNumber }.split(separator: ".").map { Int($0.prefix { $0.isNumber }) }
        guard let major = numbers.first ?? nil else { return nil }
        guard major == 0 else { return .max }
        return numbers.count > 1 ? numbers[1] : nil
    }

    /// One key of a document and the SQL giving its value.
    struct Field {
        var key: String
        var expression: String
    }

    /// The joins the populated attributes add to the entry table, with fresh aliases.
    struct Builder {
        var joins: [String] = []
        /// When set, the ids of the rows that are documents: links of other rows are skipped.
        var documentRows: String?
        private var count = 0
        mutating func alias() -> Int {
            defer { count += 1 }
            return count
        }
    }

    // MARK: Names (v5: shortened past 55 characters)

    private func entryTable(_ type: StrapiContentType) throws -> String {
        isV5 ? try catalog.table([.part(type.collectionName)], for: type.uid) : type.collectionName
    }

    private func componentTable(_ component: StrapiComponent) throws -> String {
        isV5 ? try catalog.table([.part(component.collectionName)], for: "component \(component.uid)") : component.collectionName
    }

    private func column(_ attribute: StrapiAttribute, of table: String) throws -> String {
        guard let column = attribute.columnName else { throw RecetteFailure("\(attribute.name) has no column") }
        return isV5 ? try catalog.column([.part(column)], of: table, for: "\(table).\(attribute.name)") : column
    }

    // MARK: The entry

    private func entryFields(of type: StrapiContentType, table: String, alias: String, builder: inout Builder) throws -> [Field] {
        var fields = [Field(key: "id", expression: "\(alias).id")]
        for attribute in type.attributes where !attribute.isPrivate {
            if attribute.kind.isScalar {
                fields.append(try scalarField(attribute, table: table, alias: alias))
            } else {
                fields.append(Field(key: attribute.name, expression: try populated(attribute, owner: type, ownerTable: table, alias: alias, builder: &builder)))
            }
        }
        return fields + systemFields(of: type, alias: alias)
    }

    /// The attributes Strapi adds to every content type: the timestamps (`datetime`),
    /// `publishedAt` (v4 with draft & publish, v5 always), and on v5 `documentId` and
    /// i18n's `locale` (added to every content type, localized or not: null when not).
    /// `createdBy` and `updatedBy` are added too but `private`, so the plugin removes them.
    private func systemFields(of type: StrapiContentType, alias: String) -> [Field] {
        var names = [("createdAt", "created_at"), ("updatedAt", "updated_at")]
        if type.draftAndPublish || isV5 { names.append(("publishedAt", "published_at")) }
        var fields = names.map { Field(key: $0, expression: Self.datetime("\(alias).\($1)")) }
        if isV5 {
            fields.append(Field(key: "documentId", expression: "\(alias).document_id"))
            fields.append(Field(key: "locale", expression: "\(alias).locale"))
        }
        return fields
    }

    /// A populated row's own fields: its id, its scalar attributes (private ones too: the
    /// plugin removes the entry's own private attributes only) and, for a content type, the
    /// fields Strapi adds to it.
    private func rowFields(_ attributes: [StrapiAttribute], table: String, alias: String, systemFieldsOf type: StrapiContentType? = nil) throws -> [Field] {
        var fields = [Field(key: "id", expression: "\(alias).id")]
        for attribute in attributes where attribute.kind.isScalar {
            fields.append(try scalarField(attribute, table: table, alias: alias))
        }
        if let type { fields += systemFields(of: type, alias: alias) }
        return fields
    }

    private func scalarField(_ attribute: StrapiAttribute, table: String, alias: String) throws -> Field {
        Field(key: attribute.name, expression: Self.scalar(attribute.kind, "\(alias).\(PostgresConnection.quoteIdentifier(try column(attribute, of: table)))"))
    }

    /// A scalar column as Strapi v4 reads it from PostgreSQL (its pg type parsers, then the
    /// field's `fromDB`).
    static func scalar(_ kind: StrapiAttribute.Kind, _ column: String) -> String {
        switch kind {
        // pg returns int8 as a string and BigIntegerField keeps it one.
        case .biginteger: "\(column)::text"
        // Strapi's NUMERIC parser is parseFloat: 500.00 → 500.
        case .decimal: "\(column)::float8"
        // Strapi keeps DATE as pg's text.
        case .date: "to_char(\(column), 'YYYY-MM-DD')"
        case .datetime: datetime(column)
        // TimestampField: `format(new Date(v), 'T')`, milliseconds since the epoch, as text.
        case .timestamp: "(floor(extract(epoch FROM \(column)) * 1000))::bigint::text"
        case .time: "\(column)::text"
        // json is parsed by pg, jsonb by JSONField.fromDB: the value either way.
        case .json, .blocks: "\(column)::json"
        default: column
        }
    }

    /// `new Date(value).toISOString()`: milliseconds (cut, not rounded, as a JS Date keeps
    /// them) and `Z`. A `timestamp with time zone` is shown in UTC; one without a zone is read
    /// as UTC, as Node reads it on a server in UTC (Strapi's own columns have no zone;
    /// databases restored from elsewhere may).
    static func datetime(_ column: String) -> String {
        let format = "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'"
        return "CASE WHEN pg_typeof(\(column)) = 'timestamptz'::regtype THEN to_char(\(column)::timestamptz AT TIME ZONE 'UTC', \(format)) "
            + "ELSE to_char(\(column)::timestamp, \(format)) END"
    }

    // MARK: Populated attributes

    /// How one populated attribute is linked to its entry: the link rows (`link`, aliased
    /// `l`) whose `owner` column holds the entry's id and whose `target` column the populated
    /// row's, in `order`; the populated rows are `table`.
    private struct Link {
        var link: String
        var owner: String
        var target: String
        var conditions: [String]
        var order: [String]
        var table: String
    }

    /// Joined, not a sub-select per entry: one hash join per attribute keeps the query a single
    /// pass over each table (measured: correlated sub-selects took about three times as long
    /// on 100,000 entries).
    private func populated(_ attribute: StrapiAttribute, owner: StrapiContentType, ownerTable: String, alias: String, builder: inout Builder) throws -> String {
        let n = builder.alias()
        let p = "p\(n)", t = "t\(n)"
        switch attribute.kind {
        case .component(let uid, let repeatable):
            let component = try self.component(uid, for: attribute)
            let join = try componentJoin(of: owner)
            let table = try componentTable(component)
            let link = Link(link: join.name, owner: join.entityColumn, target: join.componentColumn,
                            conditions: ["l.field = \(PostgresConnection.quoteLiteral(attribute.name))"], order: ["l.\"order\"", "l.id"],
                            table: table)
            let fields = try rowFields(component.attributes, table: table, alias: t)
            return repeatable ? many(link, fields: fields, p: p, t: t, alias: alias, emptyIsNull: false, builder: &builder)
                : one(link, fields: fields, p: p, t: t, alias: alias, builder: &builder)
        case .dynamiczone(let uids):
            let join = try componentJoin(of: owner)
            var branches: [String] = []
            for (position, uid) in uids.enumerated() {
                let component = try self.component(uid, for: attribute)
                let table = try componentTable(component)
                let c = "\(t)_\(position)"
                let fields = [Field(key: "__component", expression: PostgresConnection.quoteLiteral(uid))] + (try rowFields(component.attributes, table: table, alias: c))
                branches.append("""
                    SELECT l.entity_id AS owner, \(Self.object(fields)) AS doc, l."order" AS o1, l.id AS o2
                    FROM \(PostgresConnection.quoteIdentifier(join.name)) l JOIN \(PostgresConnection.quoteIdentifier(table)) \(c) ON \(c).id = l.\(PostgresConnection.quoteIdentifier(join.componentColumn))
                    WHERE l.field = \(PostgresConnection.quoteLiteral(attribute.name)) AND l.component_type = \(PostgresConnection.quoteLiteral(uid))\(builder.documentRows.map { " AND l.entity_id IN (\($0))" } ?? "")
                    """)
            }
            guard !branches.isEmpty else { return "'[]'::json" }
            // Strapi orders a dynamic zone's links by entity and "order"; the link id settles ties.
            builder.joins.append("LEFT JOIN (SELECT z.owner, json_agg(z.doc ORDER BY z.o1, z.o2) AS docs FROM (\n\(branches.joined(separator: "\nUNION ALL\n"))\n) z GROUP BY z.owner) \(p) ON \(p).owner = \(alias).id")
            return "coalesce(\(p).docs, '[]'::json)"
        case .relation(let relation):
            guard ![.morphToOne, .morphToMany, .morphOne, .morphMany].contains(relation.kind) else {
                throw RecetteFailure("the documents of \(owner.uid) cannot be generated yet: \(attribute.name) is a \(relation.kind.rawValue) relation, which recette does not populate; give this index a query in search.indexes of recette.yml")
            }
            guard let target = model.contentType(relation.target) else {
                throw RecetteFailure("the documents of \(owner.uid) cannot be generated yet: \(attribute.name) relates to \(relation.target), a content type of Strapi's own that recette does not model; give this index a query in search.indexes of recette.yml")
            }
            let table = try linkTable(attribute.name, of: owner, ownerTable: ownerTable)
            let targetTable = try entryTable(target)
            // The link's order column for this side when it has one (Strapi's joinTable.orderBy);
            // without one, the links in the order they were made.
            let link = Link(link: table.name, owner: table.joinColumn, target: table.inverseJoinColumn, conditions: [],
                            order: (table.orderColumn.map { ["l.\(PostgresConnection.quoteIdentifier($0))"] } ?? []) + ["l.id"],
                            table: targetTable)
            let fields = try rowFields(target.attributes, table: targetTable, alias: t, systemFieldsOf: target)
            return [.oneToMany, .manyToMany].contains(relation.kind) ? many(link, fields: fields, p: p, t: t, alias: alias, emptyIsNull: false, builder: &builder)
                : one(link, fields: fields, p: p, t: t, alias: alias, builder: &builder)
        case .media(let multiple):
            // The upload plugin's morph table: fixed short names, `files_related_mph` on v5.
            let link = Link(link: isV5 ? "files_related_mph" : "files_related_morphs", owner: "related_id", target: "file_id",
                            conditions: ["l.related_type = \(PostgresConnection.quoteLiteral(owner.uid))", "l.field = \(PostgresConnection.quoteLiteral(attribute.name))"],
                            order: ["l.\"order\"", "l.id"], table: "files")
            let fields = try rowFields(Self.uploadFileAttributes, table: "files", alias: t, systemFieldsOf: Self.uploadFile)
            return multiple ? many(link, fields: fields, p: p, t: t, alias: alias, emptyIsNull: true, builder: &builder)
                : one(link, fields: fields, p: p, t: t, alias: alias, builder: &builder)
        default:
            throw RecetteFailure("\(owner.uid).\(attribute.name) is not a populated attribute")
        }
    }

    /// The link rows, joined to the populated rows when `joining` names their alias.
    private func linkRows(_ link: Link, joining target: String? = nil) -> String {
        var from = "FROM \(PostgresConnection.quoteIdentifier(link.link)) l"
        if let target {
            from += " JOIN \(PostgresConnection.quoteIdentifier(link.table)) \(target) ON \(target).id = l.\(PostgresConnection.quoteIdentifier(link.target))"
        }
        return from + (link.conditions.isEmpty ? "" : " WHERE " + link.conditions.joined(separator: " AND "))
    }

    private func restricted(_ link: Link, owner: String, builder: Builder) -> Link {
        guard let rows = builder.documentRows else { return link }
        var link = link
        link.conditions.append("\(owner) IN (\(rows))")
        return link
    }

    /// The first linked row, or NULL: the first link of each entry (narrow rows), then the row.
    private func one(_ link: Link, fields: [Field], p: String, t: String, alias: String, builder: inout Builder) -> String {
        let owner = "l.\(PostgresConnection.quoteIdentifier(link.owner))"
        let link = restricted(link, owner: owner, builder: builder)
        builder.joins.append("LEFT JOIN (SELECT DISTINCT ON (\(owner)) \(owner) AS owner, l.\(PostgresConnection.quoteIdentifier(link.target)) AS target \(linkRows(link)) ORDER BY \(([owner] + link.order).joined(separator: ", "))) \(p) ON \(p).owner = \(alias).id")
        builder.joins.append("LEFT JOIN \(PostgresConnection.quoteIdentifier(link.table)) \(t) ON \(t).id = \(p).target")
        return "CASE WHEN \(t).id IS NULL THEN NULL ELSE \(Self.object(fields)) END"
    }

    /// Every linked row in order; with none, `[]` (or NULL where Strapi gives null).
    private func many(_ link: Link, fields: [Field], p: String, t: String, alias: String, emptyIsNull: Bool, builder: inout Builder) -> String {
        let owner = "l.\(PostgresConnection.quoteIdentifier(link.owner))"
        let link = restricted(link, owner: owner, builder: builder)
        builder.joins.append("LEFT JOIN (SELECT \(owner) AS owner, json_agg(\(Self.object(fields)) ORDER BY \(link.order.joined(separator: ", "))) AS docs "
            + "\(linkRows(link, joining: t)) GROUP BY \(owner)) \(p) ON \(p).owner = \(alias).id")
        return emptyIsNull ? "\(p).docs" : "coalesce(\(p).docs, '[]'::json)"
    }

    /// A JSON object of `fields`: `json_build_object` (at most 100 arguments: 50 keys), else
    /// `row_to_json` of a sub-select.
    static func object(_ fields: [Field]) -> String {
        if fields.count <= 50 {
            return "json_build_object(" + fields.map { "\(PostgresConnection.quoteLiteral($0.key)), \($0.expression)" }.joined(separator: ", ") + ")"
        }
        return "(SELECT row_to_json(r) FROM (SELECT " + fields.map { "\($0.expression) AS \(PostgresConnection.quoteIdentifier($0.key))" }.joined(separator: ", ") + ") r)"
    }

    private func component(_ uid: String, for attribute: StrapiAttribute) throws -> StrapiComponent {
        guard let component = model.component(uid) else { throw RecetteFailure("\(attribute.name) uses component \(uid), which the CMS source lacks") }
        return component
    }

    /// `<table>_components(entity_id, component_id, …)` on v4; v5 `<collection>_cmps(entity_id,
    /// cmp_id, …)`, its name made from the collection name (not the shortened table name).
    private func componentJoin(of owner: StrapiContentType) throws -> StrapiComponentJoinTable {
        guard var join = schema.componentJoinTables[owner.collectionName] else { throw RecetteFailure("\(owner.collectionName) has no component join table") }
        if isV5 {
            join.name = try catalog.table([.part(owner.collectionName), .fixed("components", short: "cmps")], for: "\(owner.uid) (components)")
        }
        return join
    }

    /// The link table of a relation as this side reads it. v4: the schema's. v5: the owning
    /// side's `<table>_<attribute>_lnk` (the table name as shortened, then snake-cased again,
    /// as `createJoinTable` does), `<model>_id` columns (`inv_` before the target's when both
    /// are the same) and `<model>_ord` order columns, each shortened on its own.
    private func linkTable(_ attribute: String, of owner: StrapiContentType, ownerTable: String) throws -> StrapiLinkTable {
        let place = "\(owner.uid).\(attribute)"
        guard let link = schema.relationLinks[place] else {
            throw RecetteFailure("\(place): no link table for this relation (is its other side declared with inversedBy?)")
        }
        guard isV5 else { return link }
        guard case .relation(let relation)? = owner.attributes.first(where: { $0.name == attribute })?.kind,
              let target = model.contentType(relation.target) else { return link }
        // The mappedBy side reads the owning side's table, roles swapped.
        if let mappedBy = relation.mappedBy {
            return try owningLink(mappedBy, of: target, ownerTable: try entryTable(target), target: owner, for: place).inverted
        }
        return try owningLink(attribute, of: owner, ownerTable: ownerTable, target: target, for: place)
    }

    private func owningLink(_ attribute: String, of owner: StrapiContentType, ownerTable: String, target: StrapiContentType, for place: String) throws -> StrapiLinkTable {
        guard let link = schema.relationLinks["\(owner.uid).\(attribute)"] else {
            throw RecetteFailure("\(place): no link table for this relation (is its other side declared with inversedBy?)")
        }
        let name = try catalog.table([.part(StrapiSnakeCase.snakeCase(ownerTable)), .part(StrapiSnakeCase.snakeCase(attribute)), .fixed("links", short: "lnk")], for: place)
        let ownName = StrapiSnakeCase.snakeCase(owner.singularName), targetName = StrapiSnakeCase.snakeCase(target.singularName)
        func column(_ tokens: [StrapiIdentifiers.Token]) throws -> String { try catalog.column(tokens, of: name, for: place) }
        let joinColumn = try column([.part(ownName), .fixed("id")])
        var inverseJoinColumn = try column([.part(targetName), .fixed("id")])
        if inverseJoinColumn == joinColumn { inverseJoinColumn = try column([.fixed("inv"), .part(targetName), .fixed("id")]) }
        var orderColumn: String?, inverseOrderColumn: String?
        if link.orderColumn != nil { orderColumn = try column([.part(targetName), .fixed("order", short: "ord")]) }
        if link.inverseOrderColumn != nil {
            inverseOrderColumn = try column([.part(ownName), .fixed("order", short: "ord")])
            if inverseOrderColumn == orderColumn { inverseOrderColumn = try column([.fixed("inv"), .part(ownName), .fixed("order", short: "ord")]) }
        }
        return StrapiLinkTable(name: name, joinColumn: joinColumn, inverseJoinColumn: inverseJoinColumn, orderColumn: orderColumn, inverseOrderColumn: inverseOrderColumn)
    }

    private func key(_ name: String) -> String { PostgresConnection.quoteIdentifier(name) }

    /// PostgreSQL cuts identifiers at 63 bytes: a longer attribute name would come out as
    /// another key.
    private func checkedKey(_ name: String) throws -> String {
        guard name.utf8.count <= 63 else {
            throw RecetteFailure("the documents of \(contentType.uid) cannot be generated: attribute '\(name)' is longer than PostgreSQL's 63-byte column names; give this index a query in search.indexes of recette.yml")
        }
        return key(name)
    }

    // MARK: The upload plugin's file

    /// `plugin::upload.file`'s scalar attributes in Strapi v4 and v5 (`@strapi/plugin-upload`'s
    /// content type, the `files` table; `related` and `folder` are relations, not populated one
    /// level down). On v5 it gets `documentId`, `publishedAt` and `locale` as every content type.
    static let uploadFileAttributes: [StrapiAttribute] = [
        .init(name: "name", kind: .string), .init(name: "alternativeText", kind: .string), .init(name: "caption", kind: .string),
        .init(name: "width", kind: .integer), .init(name: "height", kind: .integer), .init(name: "formats", kind: .json),
        .init(name: "hash", kind: .string), .init(name: "ext", kind: .string), .init(name: "mime", kind: .string),
        .init(name: "size", kind: .decimal), .init(name: "url", kind: .string), .init(name: "previewUrl", kind: .string),
        .init(name: "provider", kind: .string), .init(name: "provider_metadata", kind: .json), .init(name: "folderPath", kind: .string),
    ]
    static let uploadFile = StrapiContentType(uid: "plugin::upload.file", singularName: "file", collectionName: "files",
                                              draftAndPublish: false, attributes: uploadFileAttributes)
}
