// The stand-in plugin's documents when it is given the CMS source's model: built the way
// Strapi v4's entity service (v5's document service) builds an entry (`populate: '*'`), in
// Swift, one read per table as Strapi's populate does, rather than with recette's generated
// SQL (which a test compares with these documents). Facts in the README, "Documents from the
// model". On v5 the names Strapi shortens are looked up with recette's `StrapiCatalog` (the
// naming is shared; the documents are not).

import Foundation
import RecetteKit
import RecetteWorld

extension StrapiStandIn {
    /// Every document the plugin would send for `contentType` (published entries in id order).
    public static func documents(model: StrapiModel, contentType uid: String, databaseURL: String) throws -> [Data] {
        guard let type = model.contentType(uid) else { throw StandInFailure("the model has no content type \(uid)") }
        let connection = try PostgresConnection(url: databaseURL)
        try connection.execute("SET TimeZone = 'UTC'")
        return try ModelDocumentBuilder(model: model, type: type, connection: connection).documents(offset: 0, limit: nil).map(\.data)
    }
}

struct ModelDocumentBuilder {
    let model: StrapiModel
    let type: StrapiContentType
    let connection: PostgresConnection
    let schema: StrapiSchema
    /// v5: the database's tables and columns, and i18n's default locale.
    let catalog: StrapiCatalog?
    var isV5: Bool { catalog != nil }

    init(model: StrapiModel, type: StrapiContentType, connection: PostgresConnection) throws {
        self.model = model
        self.type = type
        self.connection = connection
        schema = StrapiSchema.expected(by: model)
        guard model.strapiMajor >= 5 else {
            catalog = nil
            return
        }
        var columns: [String: Set<String>] = [:]
        for row in try connection.query("SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema()").rows {
            if let table = row[0], let column = row[1] { columns[table, default: []].insert(column) }
        }
        let locale = try connection.query("SELECT value::json #>> '{}' FROM strapi_core_store_settings WHERE key = 'plugin_i18n_default_locale'").scalar
        catalog = StrapiCatalog(columns: columns, defaultLocale: locale)
    }

    /// A content type's or component's table (v5: as shortened).
    private func table(_ collectionName: String) throws -> String {
        guard let catalog else { return collectionName }
        return try catalog.table([.part(collectionName)], for: collectionName)
    }

    private func column(_ attribute: StrapiAttribute, of table: String) throws -> String? {
        guard let column = attribute.columnName else { return nil }
        guard let catalog else { return column }
        return try catalog.column([.part(column)], of: table, for: "\(table).\(attribute.name)")
    }

    typealias Row = [String: StandInJSON]

    /// A page as `entityService.findMany` reads it (published entries by id), then the
    /// plugin's sanitising: private attributes deleted, `_meilisearch_id` added.
    func documents(offset: Int, limit: Int?) throws -> [StandInJSON] {
        let entryTable = try table(type.collectionName)
        var conditions = type.draftAndPublish || isV5 ? ["published_at IS NOT NULL"] : []
        // v5's document service reads the default locale of a localized type when none is asked.
        if isV5 && type.localized { conditions.append("locale = \(PostgresConnection.quoteLiteral(catalog?.defaultLocale ?? "en"))") }
        let page = try connection.query(
            "SELECT id FROM \(PostgresConnection.quoteIdentifier(entryTable))" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
                + " ORDER BY id" + (limit.map { " LIMIT \($0)" } ?? "") + " OFFSET \(offset)").rows.compactMap { $0[0].flatMap(Int.init) }
        let rows = try self.rows(of: entryTable, ids: page)
        var populated: [String: [Int: StandInJSON]] = [:]
        for attribute in type.attributes where !attribute.kind.isScalar {
            populated[attribute.name] = try populate(attribute, ids: page)
        }
        return try page.map { id in
            guard let row = rows[id] else { throw StandInFailure("entry \(id) vanished") }
            var members = try entityFields(row, attributes: type.attributes, table: entryTable, timestampsOf: type)
            for attribute in type.attributes where !attribute.kind.isScalar {
                members.append(.init(attribute.name, populated[attribute.name]?[id] ?? .null))
            }
            // removeSensitiveFields: `delete entry[attr]` for each private attribute (createdBy
            // and updatedBy are private too, so they are never added here).
            let privateNames = Set(type.attributes.filter(\.isPrivate).map(\.name))
            members.removeAll { privateNames.contains($0.key) }
            members.append(.init("_meilisearch_id", .string(meilisearchID(row, id: id))))
            return .object(members)
        }
    }

    /// The plugin's id: v4 and plugin ≤ 0.14 `<model>-<id>`; 0.15 `<model>-<documentId>`;
    /// 0.16 and later `-<locale>` added when the entry has a non-empty one.
    private func meilisearchID(_ row: Row, id: Int) -> String {
        let minor: Int = model.meilisearchPluginVersion.map { version in
            let parts = version.filter { $0.isNumber || $0 == "." }.split(separator: ".").compactMap { Int($0) }
            return parts.first == 0 ? (parts.count > 1 ? parts[1] : 0) : 99
        } ?? 99
        guard isV5, minor >= 15, let documentID = row["document_id"]?.stringValue else { return "\(type.singularName)-\(id)" }
        if minor >= 16, let locale = row["locale"]?.stringValue, !locale.isEmpty { return "\(type.singularName)-\(documentID)-\(locale)" }
        return "\(type.singularName)-\(documentID)"
    }

    /// `fromRow`: the id, each scalar attribute through its field's `fromDB`, and for a content
    /// type the fields Strapi adds (v5: `documentId`, `publishedAt` always, i18n's `locale`).
    private func entityFields(_ row: Row, attributes: [StrapiAttribute], table: String, timestampsOf owner: StrapiContentType?) throws -> [StandInJSON.Member] {
        var members: [StandInJSON.Member] = [.init("id", row["id"] ?? .null)]
        for attribute in attributes {
            guard let column = try column(attribute, of: table) else { continue }
            members.append(.init(attribute.name, Self.fromDB(attribute.kind, row[column] ?? .null)))
        }
        if let owner { members += systemFields(row, publishedAt: owner.draftAndPublish || isV5) }
        return members
    }

    private func systemFields(_ row: Row, publishedAt: Bool) -> [StandInJSON.Member] {
        var members: [StandInJSON.Member] = [
            .init("createdAt", Self.fromDB(.datetime, row["created_at"] ?? .null)),
            .init("updatedAt", Self.fromDB(.datetime, row["updated_at"] ?? .null)),
        ]
        if publishedAt { members.append(.init("publishedAt", Self.fromDB(.datetime, row["published_at"] ?? .null))) }
        if isV5 { members += [.init("documentId", row["document_id"] ?? .null), .init("locale", row["locale"] ?? .null)] }
        return members
    }

    /// A value as `row_to_json` gives it (session in UTC), as Strapi v4 hands it on: pg's type
    /// parsers (DATE kept as text, NUMERIC through parseFloat, int8 as a string), then `fromDB`.
    static func fromDB(_ kind: StrapiAttribute.Kind, _ value: StandInJSON) -> StandInJSON {
        if value == .null { return .null }
        switch kind {
        case .decimal, .float:
            guard case .number(let text) = value, let number = Double(text) else { return value }
            return .number(JSValue.number(number).jsString)
        case .biginteger:
            if case .number(let text) = value { return .string(text) }
            return value
        case .datetime:
            guard let text = value.stringValue else { return value }
            return .string(DocumentBuilder.javascriptISO(text))
        default:
            return value
        }
    }

    /// id → the row's columns.
    private func rows(of table: String, ids: [Int]) throws -> [Int: Row] {
        guard !ids.isEmpty else { return [:] }
        let result = try connection.query(
            "SELECT row_to_json(t)::text FROM \(PostgresConnection.quoteIdentifier(table)) t WHERE t.id = ANY($1::int[])", [Self.array(ids)])
        var rows: [Int: Row] = [:]
        for text in result.rows.compactMap({ $0[0] }) {
            guard case .object(let members) = try StandInJSON.parse(Data(text.utf8)), let id = members.first(where: { $0.key == "id" })?.value.intValue else { continue }
            rows[id] = Dictionary(members.map { ($0.key, $0.value) }, uniquingKeysWith: { first, _ in first })
        }
        return rows
    }

    private static func array(_ ids: [Int]) -> String { "{" + ids.map(String.init).joined(separator: ",") + "}" }

    // MARK: populate: '*'

    private func populate(_ attribute: StrapiAttribute, ids: [Int]) throws -> [Int: StandInJSON] {
        switch attribute.kind {
        case .component(let uid, let repeatable):
            let links = try componentLinks(field: attribute.name, ids: ids)
            var result: [Int: StandInJSON] = [:]
            let component = try require(model.component(uid), "component \(uid)")
            let componentTable = try table(component.collectionName)
            let loaded = try rows(of: componentTable, ids: links.map(\.component))
            for id in ids {
                let objects = try links.filter { $0.entity == id }.compactMap { loaded[$0.component] }.map {
                    StandInJSON.object(try entityFields($0, attributes: component.attributes, table: componentTable, timestampsOf: nil))
                }
                // oneToOne through the join table: the first link, else null; oneToMany: all, else [].
                result[id] = repeatable ? .array(objects) : (objects.first ?? .null)
            }
            return result
        case .dynamiczone:
            let links = try componentLinks(field: attribute.name, ids: ids)
            var loaded: [String: [Int: Row]] = [:]
            var tables: [String: String] = [:]
            for type in Set(links.map(\.type)) {
                let component = try require(model.component(type), "component \(type)")
                tables[type] = try table(component.collectionName)
                loaded[type] = try rows(of: tables[type] ?? component.collectionName, ids: links.filter { $0.type == type }.map(\.component))
            }
            var result: [Int: StandInJSON] = [:]
            for id in ids {
                result[id] = .array(try links.filter { $0.entity == id }.compactMap { link in
                    guard let component = model.component(link.type), let row = loaded[link.type]?[link.component], let componentTable = tables[link.type] else { return nil }
                    return .object([.init("__component", .string(link.type))] + (try entityFields(row, attributes: component.attributes, table: componentTable, timestampsOf: nil)))
                })
            }
            return result
        case .relation(let relation):
            var link = try require(schema.relationLinks["\(type.uid).\(attribute.name)"], "link table of \(attribute.name)")
            let target = try require(model.contentType(relation.target), "content type \(relation.target)")
            if let catalog, catalog.columns[link.name] == nil {
                // v5 shortened it: the owning side's `<table>_<attribute>_lnk`, from the table's shortened name.
                link.name = try catalog.table([.part(StrapiSnakeCase.snakeCase(try table(type.collectionName))), .part(StrapiSnakeCase.snakeCase(attribute.name)),
                                               .fixed("links", short: "lnk")], for: "\(type.uid).\(attribute.name)")
            }
            let targetTable = try table(target.collectionName)
            let order = (link.orderColumn.map { ", \(PostgresConnection.quoteIdentifier($0))" } ?? "") + ", id"
            let join = PostgresConnection.quoteIdentifier(link.joinColumn), inverse = PostgresConnection.quoteIdentifier(link.inverseJoinColumn)
            let pairs = try connection.query(
                "SELECT \(join), \(inverse) FROM \(PostgresConnection.quoteIdentifier(link.name)) WHERE \(join) = ANY($1::int[]) ORDER BY \(join)\(order)",
                [Self.array(ids)]).rows.compactMap { row -> (Int, Int)? in
                    guard let a = row[0].flatMap(Int.init), let b = row[1].flatMap(Int.init) else { return nil }
                    return (a, b)
                }
            let loaded = try rows(of: targetTable, ids: pairs.map(\.1))
            let toMany = relation.kind == .oneToMany || relation.kind == .manyToMany
            var result: [Int: StandInJSON] = [:]
            for id in ids {
                let objects = try pairs.filter { $0.0 == id }.compactMap { loaded[$0.1] }.map {
                    StandInJSON.object(try entityFields($0, attributes: target.attributes, table: targetTable, timestampsOf: target))
                }
                result[id] = toMany ? .array(objects) : (objects.first ?? .null)
            }
            return result
        case .media(let multiple):
            let pairs = try connection.query(
                "SELECT related_id, file_id FROM \(isV5 ? "files_related_mph" : "files_related_morphs") WHERE related_id = ANY($1::int[]) AND related_type = $2 AND field = $3 ORDER BY related_id, \"order\", id",
                [Self.array(ids), type.uid, attribute.name]).rows.compactMap { row -> (Int, Int)? in
                    guard let a = row[0].flatMap(Int.init), let b = row[1].flatMap(Int.init) else { return nil }
                    return (a, b)
                }
            let loaded = try rows(of: "files", ids: pairs.map(\.1))
            var result: [Int: StandInJSON] = [:]
            for id in ids {
                let files = pairs.filter { $0.0 == id }.compactMap { loaded[$0.1] }.map(file)
                // morphMany maps a missing group through fromRow, which gives null, not [].
                result[id] = multiple ? (files.isEmpty ? .null : .array(files)) : (files.first ?? .null)
            }
            return result
        default:
            return [:]
        }
    }

    private struct ComponentLink {
        var entity: Int
        var component: Int
        var type: String
    }

    /// The join table's links of one field, by entity then "order" (then link id).
    private func componentLinks(field: String, ids: [Int]) throws -> [ComponentLink] {
        let join = try require(schema.componentJoinTables[type.collectionName], "component join table")
        // v5: `<collection>_cmps`, named from the collection name, shortened when long.
        let name = try catalog?.table([.part(type.collectionName), .fixed("components", short: "cmps")], for: "\(type.uid) (components)") ?? join.name
        return try connection.query(
            "SELECT entity_id, \(PostgresConnection.quoteIdentifier(join.componentColumn)), component_type FROM \(PostgresConnection.quoteIdentifier(name)) WHERE entity_id = ANY($1::int[]) AND field = $2 ORDER BY entity_id, \"order\", id",
            [Self.array(ids), field]).rows.compactMap { row in
                guard let entity = row[0].flatMap(Int.init), let component = row[1].flatMap(Int.init), let type = row[2] else { return nil }
                return ComponentLink(entity: entity, component: component, type: type)
            }
    }

    /// An upload file row as `plugin::upload.file`'s attributes name its columns (v4; v5 adds
    /// what every content type gets).
    func file(_ row: Row) -> StandInJSON {
        let columns: [(String, String, StrapiAttribute.Kind)] = [
            ("name", "name", .string), ("alternativeText", "alternative_text", .string), ("caption", "caption", .string),
            ("width", "width", .integer), ("height", "height", .integer), ("formats", "formats", .json), ("hash", "hash", .string),
            ("ext", "ext", .string), ("mime", "mime", .string), ("size", "size", .decimal), ("url", "url", .string),
            ("previewUrl", "preview_url", .string), ("provider", "provider", .string), ("provider_metadata", "provider_metadata", .json),
            ("folderPath", "folder_path", .string),
        ]
        return .object([.init("id", row["id"] ?? .null)] + columns.map { .init($0.0, Self.fromDB($0.2, row[$0.1] ?? .null)) } + systemFields(row, publishedAt: isV5))
    }

    private func require<T>(_ value: T?, _ what: String) throws -> T {
        guard let value else { throw StandInFailure("the stand-in cannot build \(type.uid)'s documents: no \(what)") }
        return value
    }
}
