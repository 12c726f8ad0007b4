/// The tables and columns a Strapi project's code expects, derived from its model the way
/// Strapi's database layer derives them (read in `@strapi/database`'s metadata code; see the
/// README, "The Strapi schema guard").
public struct StrapiSchema: Sendable, Equatable {
    public var tables: [StrapiTable]
    /// How each relation attribute is stored, keyed `<owner uid>.<attribute>` (a content
    /// type's or a component's uid). The `mappedBy` side reads its owner's link table with
    /// the roles swapped, as Strapi does.
    public var relationLinks: [String: StrapiLinkTable]
    /// The component join table of each table whose attributes hold components or dynamic zones.
    public var componentJoinTables: [String: StrapiComponentJoinTable]
    /// Strapi v5 shortens names past 55 characters with a hash (`StrapiIdentifiers`): the
    /// database's name for a table or column is then the one of its `shape`.
    public var shortensNames: Bool

    public init(tables: [StrapiTable], relationLinks: [String: StrapiLinkTable] = [:], componentJoinTables: [String: StrapiComponentJoinTable] = [:],
                shortensNames: Bool = false) {
        self.tables = tables
        self.relationLinks = relationLinks
        self.componentJoinTables = componentJoinTables
        self.shortensNames = shortensNames
    }

    public func table(_ name: String) -> StrapiTable? { tables.first { $0.name == name } }

    /// The physical schema `model` gives on its Strapi major (4 or 5).
    public static func expected(by model: StrapiModel) -> StrapiSchema {
        StrapiSchemaBuilder(model: model).build()
    }
}

public struct StrapiTable: Sendable, Equatable {
    /// As the code names it, before any shortening.
    public var name: String
    public var columns: [String]
    /// Who asks for it, for people: `api::offre-de-stage.offre-de-stage`, `component
    /// localisation.localisation`, `api::….tags (link)`.
    public var origin: String
    /// The parts the name and each column are made of (Strapi v5 shortens the user's parts,
    /// never the fixed ones); by default each name is one part.
    public var nameTokens: [StrapiIdentifiers.Token]
    public var columnTokens: [String: [StrapiIdentifiers.Token]]

    public init(name: String, columns: [String], origin: String,
                nameTokens: [StrapiIdentifiers.Token]? = nil, columnTokens: [String: [StrapiIdentifiers.Token]] = [:]) {
        self.name = name
        self.columns = columns
        self.origin = origin
        self.nameTokens = nameTokens ?? [.part(name)]
        self.columnTokens = columnTokens
    }

    func tokens(ofColumn column: String) -> [StrapiIdentifiers.Token] { columnTokens[column] ?? [.part(column)] }
}

/// A relation's link table and what each column holds.
public struct StrapiLinkTable: Sendable, Equatable {
    public var name: String
    /// The id of the attribute's own entry.
    public var joinColumn: String
    /// The id of the related entry.
    public var inverseJoinColumn: String
    /// The related entries' order for one entry (`…_order`, v5 `…_ord`), on to-many sides.
    public var orderColumn: String?
    /// The entries' order for one related entry, on the many side of a two-way relation.
    public var inverseOrderColumn: String?

    public var columns: [String] { ["id", joinColumn, inverseJoinColumn] + [orderColumn, inverseOrderColumn].compactMap { $0 } }

    /// The same table as the other side of the relation reads it.
    public var inverted: StrapiLinkTable {
        StrapiLinkTable(name: name, joinColumn: inverseJoinColumn, inverseJoinColumn: joinColumn, orderColumn: inverseOrderColumn, inverseOrderColumn: orderColumn)
    }
}

/// `<table>_components` (v5 `<table>_cmps`): one row per component an entry holds.
public struct StrapiComponentJoinTable: Sendable, Equatable {
    public var name: String
    /// The entry's id (`entity_id`).
    public var entityColumn = "entity_id"
    /// The component row's id in its own table (`component_id`, v5 `cmp_id`).
    public var componentColumn: String
    /// The component's uid (`localisation.localisation`), which names its table.
    public var typeColumn = "component_type"
    /// The attribute holding it.
    public var fieldColumn = "field"
    /// Its place in a repeatable component or dynamic zone.
    public var orderColumn = "order"

    public var columns: [String] { ["id", entityColumn, componentColumn, typeColumn, fieldColumn, orderColumn] }
}

private struct StrapiSchemaBuilder {
    var model: StrapiModel
    var isV5: Bool { model.strapiMajor >= 5 }

    func build() -> StrapiSchema {
        var tables: [StrapiTable] = []
        var links: [String: StrapiLinkTable] = [:]
        var joins: [String: StrapiComponentJoinTable] = [:]
        func addOwned(table: String, singularName: String, uid: String, attributes: [StrapiAttribute], origin: String) {
            if attributes.contains(where: \.kind.holdsComponents) {
                let join = StrapiComponentJoinTable(name: table + (isV5 ? "_cmps" : "_components"), componentColumn: isV5 ? "cmp_id" : "component_id")
                joins[table] = join
                tables.append(StrapiTable(name: join.name, columns: join.columns, origin: "\(origin) (components)",
                                          nameTokens: [.part(table), .fixed("components", short: "cmps")]))
            }
            for attribute in attributes {
                guard case .relation(let relation) = attribute.kind else { continue }
                if let (link, nameTokens, columnTokens) = linkTable(table: table, singularName: singularName, attribute: attribute.name, relation: relation) {
                    links["\(uid).\(attribute.name)"] = link
                    tables.append(StrapiTable(name: link.name, columns: link.columns, origin: "\(origin).\(attribute.name) (link)",
                                              nameTokens: nameTokens, columnTokens: columnTokens))
                } else if let morph = morphTable(table: table, singularName: singularName, attribute: attribute.name, relation: relation) {
                    tables.append(StrapiTable(name: morph.name, columns: morph.columns, origin: "\(origin).\(attribute.name) (morph)",
                                              nameTokens: morph.nameTokens, columnTokens: morph.columnTokens))
                }
            }
        }
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
            var attributes = type.attributes
            if type.localized && !isV5 {
                // v4's i18n plugin adds `localizations`, a one-way oneToMany to the type itself.
                attributes.append(StrapiAttribute(name: "localizations", kind: .relation(StrapiRelation(kind: .oneToMany, target: type.uid))))
            }
            addOwned(table: type.collectionName, singularName: type.singularName, uid: type.uid, attributes: attributes, origin: type.uid)
        }
        for component in model.components {
            tables.append(StrapiTable(name: component.collectionName, columns: ["id"] + scalarColumns(component.attributes), origin: "component \(component.uid)"))
            addOwned(table: component.collectionName, singularName: component.name, uid: component.uid, attributes: component.attributes, origin: "component \(component.uid)")
        }
        if model.attributeOwners.contains(where: { $0.attributes.contains(where: \.kind.isMedia) }) {
            // The upload plugin's `related` morph of its files: one table for every media field.
            tables.append(StrapiTable(name: isV5 ? "files_related_mph" : "files_related_morphs",
                                      columns: ["id", "file_id", "related_id", "related_type", "field", "order"], origin: "media fields (upload plugin)"))
        }
        // The mappedBy side of a two-way relation reads the owner's table, roles swapped.
        for owner in model.attributeOwners {
            for attribute in owner.attributes {
                guard case .relation(let relation) = attribute.kind, let mappedBy = relation.mappedBy,
                      let link = links["\(relation.target).\(mappedBy)"] else { continue }
                links["\(owner.uid).\(attribute.name)"] = link.inverted
            }
        }
        return StrapiSchema(tables: tables, relationLinks: links, componentJoinTables: joins, shortensNames: isV5)
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

    /// Strapi v4 links every relation through a table (v5 too, named `_lnk`), kept by the
    /// owning side only: one-way relations, and the `inversedBy` side of two-way ones.
    private func linkTable(table: String, singularName: String, attribute: String, relation: StrapiRelation)
        -> (StrapiLinkTable, nameTokens: [StrapiIdentifiers.Token], columnTokens: [String: [StrapiIdentifiers.Token]])? {
        let owns: Bool
        switch relation.kind {
        case .oneToOne, .manyToMany: owns = relation.isOwner
        case .oneToMany: owns = !relation.isBidirectional
        case .manyToOne: owns = true
        case .morphToOne, .morphToMany, .morphOne, .morphMany: owns = false
        }
        guard owns else { return nil }
        let target = targetSingularName(relation.target)
        let own = StrapiSnakeCase.snakeCase(singularName), related = StrapiSnakeCase.snakeCase(target)
        var tokens: [String: [StrapiIdentifiers.Token]] = [:]
        func column(_ parts: [StrapiIdentifiers.Token]) -> String {
            let name = parts.map(\.name).joined(separator: "_")
            tokens[name] = parts
            return name
        }
        let order = StrapiIdentifiers.Token.fixed(isV5 ? "ord" : "order", short: "ord")
        let joinColumn = column([.part(own), .fixed("id")])
        var inverseJoinColumn = column([.part(related), .fixed("id")])
        if joinColumn == inverseJoinColumn { inverseJoinColumn = column([.fixed("inv"), .part(related), .fixed("id")]) }
        let toMany = [.oneToMany, .manyToMany].contains(relation.kind)
        let fromMany = [.manyToOne, .manyToMany].contains(relation.kind)
        let orderColumn = toMany ? column([.part(related), order]) : nil
        var inverseOrderColumn = relation.isBidirectional && fromMany ? column([.part(own), order]) : nil
        if relation.kind == .manyToMany, let inverse = inverseOrderColumn, inverse == orderColumn { inverseOrderColumn = column([.fixed("inv"), .part(own), order]) }
        let nameTokens: [StrapiIdentifiers.Token] = [.part(table), .part(StrapiSnakeCase.snakeCase(attribute)), .fixed("links", short: "lnk")]
        let name = isV5 ? "\(table)_\(StrapiSnakeCase.snakeCase(attribute))_lnk" : StrapiSnakeCase.snakeCase("\(table)_\(attribute)_links")
        let link = StrapiLinkTable(name: name, joinColumn: joinColumn, inverseJoinColumn: inverseJoinColumn,
                                   orderColumn: orderColumn, inverseOrderColumn: inverseOrderColumn)
        return (link, nameTokens, tokens)
    }

    /// A morphToMany keeps its targets in `<table>_<attribute>_morphs` (v5 `_mph`).
    private func morphTable(table: String, singularName: String, attribute: String, relation: StrapiRelation)
        -> (name: String, columns: [String], nameTokens: [StrapiIdentifiers.Token], columnTokens: [String: [StrapiIdentifiers.Token]])? {
        guard relation.kind == .morphToMany else { return nil }
        let morph = StrapiSnakeCase.snakeCase(attribute), own = StrapiSnakeCase.snakeCase(singularName)
        let columnTokens: [String: [StrapiIdentifiers.Token]] = [
            "\(own)_id": [.part(own), .fixed("id")], "\(morph)_id": [.part(morph), .fixed("id")], "\(morph)_type": [.part(morph), .fixed("type")],
        ]
        return (StrapiSnakeCase.snakeCase("\(table)_\(attribute)_\(isV5 ? "mph" : "morphs")"),
                ["id", "\(own)_id", "\(morph)_id", "\(morph)_type", "field", "order"],
                [.part(table), .part(morph), .fixed("morphs", short: "mph")], columnTokens)
    }

    /// A content type's model name; for Strapi's own (`plugin::users-permissions.user`,
    /// `admin::user`) the last part of the uid, which is theirs.
    private func targetSingularName(_ uid: String) -> String {
        if let type = model.contentType(uid) { return type.singularName }
        let name = uid.split(separator: ":").last.map(String.init) ?? uid
        return name.split(separator: ".").last.map(String.init) ?? name
    }
}
