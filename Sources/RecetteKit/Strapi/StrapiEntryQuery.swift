import Foundation
import RecetteWorld

/// The SQL whose rows are, one per published entry, the documents strapi-plugin-meilisearch
/// (0.12, Strapi v4) sends for a content type without a `transformEntry`: what
/// `entityService.findMany(uid, {fields: '*', populate: '*', publicationState: 'live'})` returns,
/// private attributes removed, `_meilisearch_id` added. Each column is one key of the document,
/// so the reindexer's `row_to_json` turns a row into that document.
///
/// What Strapi v4 does, as read in `@strapi/database` (see the README, "Documents from the
/// model"): `populate: '*'` populates every relation-like attribute one level deep; a populated
/// row keeps only its scalar attributes and its `id`; an absent single component, relation or
/// single media is `null`, an empty repeatable component, dynamic zone or to-many relation is
/// `[]`, and an entry without any file in a multiple media field gets `null` (the populate maps
/// a missing group through `fromRow`, which gives null). Read-side types on PostgreSQL: `date`
/// stays the text PostgreSQL prints, `datetime` is `new Date(v).toISOString()`, `decimal` goes
/// through `parseFloat`, `biginteger` is a string, `json` the parsed value.
public struct StrapiEntryQuery: Sendable {
    public var model: StrapiModel
    public var contentType: StrapiContentType
    /// The SELECT, one row per published entry in id order.
    public private(set) var sql = ""
    private var schema: StrapiSchema

    public init(model: StrapiModel, contentType: StrapiContentType) throws {
        guard model.strapiMajor == 4 else {
            throw RecetteFailure("the documents of \(contentType.uid) cannot be generated yet: recette generates them for Strapi v4 only (this project is Strapi \(model.strapiVersion ?? String(model.strapiMajor))); give this index a query in search.indexes of recette.yml")
        }
        guard !contentType.localized else {
            throw RecetteFailure("the documents of \(contentType.uid) cannot be generated yet: it is localized (i18n), which recette does not model; give this index a query in search.indexes of recette.yml")
        }
        self.model = model
        self.contentType = contentType
        self.schema = StrapiSchema.expected(by: model)
        // Built now, so that a model it cannot handle fails at resolution, not mid-rebuild.
        sql = try select()
    }

    /// The index Meilisearch gets: the plugin names it after the content type's model name
    /// (`getCollectionName` is `modelName`, v4's `info.singularName`) unless its config gives
    /// an `indexName`.
    public var indexUid: String { contentType.singularName }

    private func select() throws -> String {
        let entry = "e"
        var columns = try entryColumns(of: contentType, alias: entry)
        columns.append("\(meilisearchID(alias: entry)) AS \(key("_meilisearch_id"))")
        let filter = contentType.draftAndPublish ? "\nWHERE \(entry).published_at IS NOT NULL" : ""
        return "SELECT " + columns.joined(separator: ",\n       ")
            + "\nFROM \(PostgresConnection.quoteIdentifier(contentType.collectionName)) \(entry)\(filter)\nORDER BY \(entry).id"
    }

    /// `_meilisearch_id`: `<modelName>-<id>` up to plugin 0.14 (`addCollectionNamePrefix`);
    /// 0.15 switched to `documentId` and 0.16 adds the locale, both for Strapi v5, which this
    /// generator refuses above.
    private func meilisearchID(alias: String) -> String {
        "\(PostgresConnection.quoteLiteral(contentType.singularName + "-")) || \(alias).id"
    }

    // MARK: The entry

    private func entryColumns(of type: StrapiContentType, alias: String) throws -> [String] {
        var columns = ["\(alias).id AS \(key("id"))"]
        for attribute in type.attributes where !attribute.isPrivate {
            if attribute.kind.isScalar {
                columns.append(try scalarColumn(attribute, alias: alias))
            } else {
                columns.append("\(try populated(attribute, owner: type, alias: alias)) AS \(try checkedKey(attribute.name))")
            }
        }
        columns += timestampColumns(of: type, alias: alias)
        return columns
    }

    /// The attributes Strapi adds to every content type, all `datetime`; `createdBy` and
    /// `updatedBy` are added too but `private`, so the plugin removes them.
    private func timestampColumns(of type: StrapiContentType, alias: String) -> [String] {
        var names = [("createdAt", "created_at"), ("updatedAt", "updated_at")]
        if type.draftAndPublish { names.append(("publishedAt", "published_at")) }
        return names.map { "\(Self.datetime("\(alias).\($1)")) AS \(key($0))" }
    }

    /// A populated row's own fields: its id, its scalar attributes (private ones too: the
    /// plugin removes the entry's own private attributes only) and, for a content type, its
    /// timestamps.
    private func rowFields(_ attributes: [StrapiAttribute], alias: String, timestampsOf type: StrapiContentType? = nil) throws -> [String] {
        var columns = ["\(alias).id AS \(key("id"))"]
        for attribute in attributes where attribute.kind.isScalar {
            columns.append(try scalarColumn(attribute, alias: alias))
        }
        if let type { columns += timestampColumns(of: type, alias: alias) }
        return columns
    }

    private func scalarColumn(_ attribute: StrapiAttribute, alias: String) throws -> String {
        guard let column = attribute.columnName else { throw RecetteFailure("\(attribute.name) has no column") }
        return "\(Self.scalar(attribute.kind, "\(alias).\(PostgresConnection.quoteIdentifier(column))")) AS \(try checkedKey(attribute.name))"
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

    private func populated(_ attribute: StrapiAttribute, owner: StrapiContentType, alias: String) throws -> String {
        let ownerTable = owner.collectionName
        switch attribute.kind {
        case .component(let uid, let repeatable):
            let component = try self.component(uid, for: attribute)
            let join = try componentJoin(of: ownerTable)
            let c = "c_" + StrapiSnakeCase.snakeCase(attribute.name)
            let j = "j_" + StrapiSnakeCase.snakeCase(attribute.name)
            let from = """
                FROM \(PostgresConnection.quoteIdentifier(join)) \(j) JOIN \(PostgresConnection.quoteIdentifier(component.collectionName)) \(c) ON \(c).id = \(j).component_id
                WHERE \(j).entity_id = \(alias).id AND \(j).field = \(PostgresConnection.quoteLiteral(attribute.name))
                """
            let fields = try rowFields(component.attributes, alias: c)
            return repeatable
                ? Self.array(fields, from: from, order: ["\(j).\"order\"", "\(j).id"], emptyIsNull: false)
                : Self.object(fields, from: from, order: ["\(j).\"order\"", "\(j).id"])
        case .dynamiczone(let uids):
            let join = try componentJoin(of: ownerTable)
            let base = StrapiSnakeCase.snakeCase(attribute.name)
            var branches: [String] = []
            for (position, uid) in uids.enumerated() {
                let component = try self.component(uid, for: attribute)
                let c = "c_\(base)_\(position)", j = "j_\(base)_\(position)"
                let fields = ["\(PostgresConnection.quoteLiteral(uid)) AS \(key("__component"))"] + (try rowFields(component.attributes, alias: c))
                branches.append("""
                    SELECT (SELECT row_to_json(r) FROM (SELECT \(fields.joined(separator: ", "))) r) AS doc, \(j)."order" AS o1, \(j).id AS o2
                    FROM \(PostgresConnection.quoteIdentifier(join)) \(j) JOIN \(PostgresConnection.quoteIdentifier(component.collectionName)) \(c) ON \(c).id = \(j).component_id
                    WHERE \(j).entity_id = \(alias).id AND \(j).field = \(PostgresConnection.quoteLiteral(attribute.name)) AND \(j).component_type = \(PostgresConnection.quoteLiteral(uid))
                    """)
            }
            guard !branches.isEmpty else { return "'[]'::json" }
            // Strapi orders a dynamic zone's links by entity and "order"; the link id settles ties.
            return "(SELECT coalesce(json_agg(z.doc ORDER BY z.o1, z.o2), '[]'::json) FROM (\n\(branches.joined(separator: "\nUNION ALL\n"))\n) z)"
        case .relation(let relation):
            return try populatedRelation(attribute, relation, owner: owner, alias: alias)
        case .media(let multiple):
            let f = "f_" + StrapiSnakeCase.snakeCase(attribute.name)
            let m = "m_" + StrapiSnakeCase.snakeCase(attribute.name)
            let from = """
                FROM files_related_morphs \(m) JOIN files \(f) ON \(f).id = \(m).file_id
                WHERE \(m).related_id = \(alias).id AND \(m).related_type = \(PostgresConnection.quoteLiteral(owner.uid)) AND \(m).field = \(PostgresConnection.quoteLiteral(attribute.name))
                """
            let fields = try rowFields(Self.uploadFileAttributes, alias: f, timestampsOf: Self.uploadFile)
            return multiple
                ? Self.array(fields, from: from, order: ["\(m).\"order\"", "\(m).id"], emptyIsNull: true)
                : Self.object(fields, from: from, order: ["\(m).\"order\"", "\(m).id"])
        default:
            throw RecetteFailure("\(owner.uid).\(attribute.name) is not a populated attribute")
        }
    }

    private func populatedRelation(_ attribute: StrapiAttribute, _ relation: StrapiRelation, owner: StrapiContentType, alias: String) throws -> String {
        let place = "\(owner.uid).\(attribute.name)"
        guard ![.morphToOne, .morphToMany, .morphOne, .morphMany].contains(relation.kind) else {
            throw RecetteFailure("the documents of \(owner.uid) cannot be generated yet: \(attribute.name) is a \(relation.kind.rawValue) relation, which recette does not populate; give this index a query in search.indexes of recette.yml")
        }
        guard let target = model.contentType(relation.target) else {
            throw RecetteFailure("the documents of \(owner.uid) cannot be generated yet: \(attribute.name) relates to \(relation.target), a content type of Strapi's own that recette does not model; give this index a query in search.indexes of recette.yml")
        }
        guard let link = schema.relationLinks[place] else {
            throw RecetteFailure("\(place): no link table for this relation (is its other side declared with inversedBy?)")
        }
        let t = "t_" + StrapiSnakeCase.snakeCase(attribute.name)
        let l = "l_" + StrapiSnakeCase.snakeCase(attribute.name)
        let from = """
            FROM \(PostgresConnection.quoteIdentifier(link.name)) \(l) JOIN \(PostgresConnection.quoteIdentifier(target.collectionName)) \(t) ON \(t).id = \(l).\(PostgresConnection.quoteIdentifier(link.inverseJoinColumn))
            WHERE \(l).\(PostgresConnection.quoteIdentifier(link.joinColumn)) = \(alias).id
            """
        let fields = try rowFields(target.attributes, alias: t, timestampsOf: target)
        // The link's order column for this side when it has one (Strapi's joinTable.orderBy);
        // without one, the links in the order they were made.
        let order = (link.orderColumn.map { ["\(l).\(PostgresConnection.quoteIdentifier($0))"] } ?? []) + ["\(l).id"]
        let toMany = [.oneToMany, .manyToMany].contains(relation.kind)
        return toMany ? Self.array(fields, from: from, order: order, emptyIsNull: false) : Self.object(fields, from: from, order: order)
    }

    /// The first row, or NULL.
    static func object(_ fields: [String], from: String, order: [String]) -> String {
        "(SELECT row_to_json(r) FROM (SELECT \(fields.joined(separator: ", "))\n\(from)\nORDER BY \(order.joined(separator: ", ")) LIMIT 1) r)"
    }

    /// Every row in order; with none, `[]` (or NULL where Strapi gives null).
    static func array(_ fields: [String], from: String, order: [String], emptyIsNull: Bool) -> String {
        let ordering = order.enumerated().map { ", \($1) AS o\($0)" }.joined()
        let aggregate = "json_agg(a.doc ORDER BY \(order.indices.map { "a.o\($0)" }.joined(separator: ", ")))"
        return "(SELECT \(emptyIsNull ? aggregate : "coalesce(\(aggregate), '[]'::json)") FROM (SELECT (SELECT row_to_json(r) FROM (SELECT \(fields.joined(separator: ", "))) r) AS doc\(ordering)\n\(from)) a)"
    }

    private func component(_ uid: String, for attribute: StrapiAttribute) throws -> StrapiComponent {
        guard let component = model.component(uid) else { throw RecetteFailure("\(attribute.name) uses component \(uid), which the CMS source lacks") }
        return component
    }

    private func componentJoin(of table: String) throws -> String {
        guard let join = schema.componentJoinTables[table] else { throw RecetteFailure("\(table) has no component join table") }
        return join.name
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

    // MARK: The upload plugin's file (v4)

    /// `plugin::upload.file`'s scalar attributes in Strapi v4 (`@strapi/plugin-upload`'s
    /// content type; `related` and `folder` are relations, not populated one level down).
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
