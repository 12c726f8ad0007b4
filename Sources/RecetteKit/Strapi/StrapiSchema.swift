/// The tables and columns a Strapi project's code expects, derived from its model the way
/// Strapi's database layer derives them (read in `@strapi/database`'s metadata code; see the
/// README, "The Strapi schema guard").
public struct StrapiSchema: Sendable, Equatable {
    public var tables: [StrapiTable]

    public init(tables: [StrapiTable]) {
        self.tables = tables
    }

    public func table(_ name: String) -> StrapiTable? { tables.first { $0.name == name } }

    /// The physical schema `model` gives on its Strapi major (4 or 5).
    public static func expected(by model: StrapiModel) -> StrapiSchema {
        StrapiSchemaBuilder(model: model).build()
    }
}

public struct StrapiTable: Sendable, Equatable {
    public var name: String
    public var columns: [String]
    /// Who asks for it, for people: `api::offre-de-stage.offre-de-stage`, `component
    /// localisation.localisation`, `api::….tags (link)`.
    public var origin: String

    public init(name: String, columns: [String], origin: String) {
        self.name = name
        self.columns = columns
        self.origin = origin
    }
}

private struct StrapiSchemaBuilder {
    var model: StrapiModel
    var isV5: Bool { model.strapiMajor >= 5 }

    func build() -> StrapiSchema {
        var tables: [StrapiTable] = []
        for type in model.contentTypes {
            var columns = ["id"]
            if isV5 { columns.append("document_id") }
            columns += scalarColumns(type.attributes)
            columns += ["created_at", "updated_at"]
            // v5 keeps published_at and locale on every content type (draft and published
            // rows of a document; locales of a document); v4 only with the option.
            if type.draftAndPublish || isV5 { columns.append("published_at") }
            columns += ["created_by_id", "updated_by_id"]
            if type.localized || isV5 { columns.append("locale") }
            tables.append(StrapiTable(name: type.collectionName, columns: columns, origin: type.uid))
            tables += ownedTables(table: type.collectionName, singularName: type.singularName, attributes: type.attributes, origin: type.uid)
            if type.localized && !isV5 {
                // v4's i18n plugin adds `localizations`, a one-way oneToMany to the type itself.
                let localizations = StrapiRelation(kind: .oneToMany, target: type.uid)
                tables += linkTable(table: type.collectionName, singularName: type.singularName, attribute: "localizations", relation: localizations, origin: type.uid).map { [$0] } ?? []
            }
        }
        for component in model.components {
            tables.append(StrapiTable(name: component.collectionName, columns: ["id"] + scalarColumns(component.attributes), origin: "component \(component.uid)"))
            tables += ownedTables(table: component.collectionName, singularName: component.name, attributes: component.attributes, origin: "component \(component.uid)")
        }
        if model.contentTypes.contains(where: { hasMedia($0.attributes) }) || model.components.contains(where: { hasMedia($0.attributes) }) {
            // The upload plugin's `related` morph of its files: one table for every media field.
            tables.append(StrapiTable(name: isV5 ? "files_related_mph" : "files_related_morphs",
                                      columns: ["id", "file_id", "related_id", "related_type", "field", "order"], origin: "media fields (upload plugin)"))
        }
        return StrapiSchema(tables: tables)
    }

    private func hasMedia(_ attributes: [StrapiAttribute]) -> Bool {
        attributes.contains { if case .media = $0.kind { true } else { false } }
    }

    private func scalarColumns(_ attributes: [StrapiAttribute]) -> [String] {
        var columns: [String] = []
        for attribute in attributes {
            if let column = attribute.columnName { columns.append(column) }
            // A morphToOne keeps its target on the owner's row, in two fixed column names.
            if case .relation(let relation) = attribute.kind, relation.kind == .morphToOne { columns += ["target_id", "target_type"] }
        }
        return columns
    }

    /// The component join table and the relation link tables a table's attributes need.
    private func ownedTables(table: String, singularName: String, attributes: [StrapiAttribute], origin: String) -> [StrapiTable] {
        var tables: [StrapiTable] = []
        let holdsComponents = attributes.contains {
            switch $0.kind {
            case .component, .dynamiczone: true
            default: false
            }
        }
        if holdsComponents {
            tables.append(StrapiTable(name: table + (isV5 ? "_cmps" : "_components"),
                                      columns: ["id", "entity_id", isV5 ? "cmp_id" : "component_id", "component_type", "field", "order"],
                                      origin: "\(origin) (components)"))
        }
        for attribute in attributes {
            guard case .relation(let relation) = attribute.kind else { continue }
            if let link = linkTable(table: table, singularName: singularName, attribute: attribute.name, relation: relation, origin: "\(origin).\(attribute.name)") {
                tables.append(link)
            }
        }
        return tables
    }

    /// Strapi v4 links every relation through a table (v5 too, named `_lnk`), kept by the
    /// owning side only: one-way relations, and the `inversedBy` side of two-way ones.
    private func linkTable(table: String, singularName: String, attribute: String, relation: StrapiRelation, origin: String) -> StrapiTable? {
        let owns: Bool
        switch relation.kind {
        case .oneToOne: owns = relation.isOwner
        case .oneToMany: owns = !relation.isBidirectional
        case .manyToOne: owns = true
        case .manyToMany: owns = relation.isOwner
        case .morphToMany:
            let name = StrapiSnakeCase.snakeCase("\(table)_\(attribute)_\(isV5 ? "mph" : "morphs")")
            let morph = StrapiSnakeCase.snakeCase(attribute)
            return StrapiTable(name: name, columns: ["id", StrapiSnakeCase.snakeCase("\(singularName)_id"), "\(morph)_id", "\(morph)_type", "field", "order"],
                               origin: "\(origin) (morph)")
        case .morphToOne, .morphOne, .morphMany: return nil
        }
        guard owns else { return nil }
        let target = targetSingularName(relation.target)
        let joinColumn = StrapiSnakeCase.snakeCase("\(singularName)_id")
        var inverseJoinColumn = StrapiSnakeCase.snakeCase("\(target)_id")
        if joinColumn == inverseJoinColumn { inverseJoinColumn = "inv_" + inverseJoinColumn }
        let order = isV5 ? "ord" : "order"
        let orderColumn = StrapiSnakeCase.snakeCase("\(target)_\(order)")
        var inverseOrderColumn = StrapiSnakeCase.snakeCase("\(singularName)_\(order)")
        if relation.kind == .manyToMany && orderColumn == inverseOrderColumn { inverseOrderColumn = "inv_" + inverseOrderColumn }
        var columns = ["id", joinColumn, inverseJoinColumn]
        let toMany = [.oneToMany, .manyToMany].contains(relation.kind)
        let fromMany = [.manyToOne, .manyToMany].contains(relation.kind)
        if toMany { columns.append(orderColumn) }
        if relation.isBidirectional && fromMany { columns.append(inverseOrderColumn) }
        let name = isV5 ? "\(table)_\(StrapiSnakeCase.snakeCase(attribute))_lnk" : StrapiSnakeCase.snakeCase("\(table)_\(attribute)_links")
        return StrapiTable(name: name, columns: columns, origin: "\(origin) (link)")
    }

    /// A content type's model name; for Strapi's own (`plugin::users-permissions.user`,
    /// `admin::user`) the last part of the uid, which is theirs.
    private func targetSingularName(_ uid: String) -> String {
        if let type = model.contentType(uid) { return type.singularName }
        let name = uid.split(separator: ":").last.map(String.init) ?? uid
        return name.split(separator: ".").last.map(String.init) ?? name
    }
}
