/// The logical model of a Strapi project, as its source declares it: what the physical
/// schema (`StrapiSchema`) and the documents a search index holds are derived from.
/// `strapi_database_schema` holds physical names only; uids, kinds, `private`, i18n and
/// draft & publish are only here.
public struct StrapiModel: Sendable, Equatable {
    /// The Strapi major version (`package.json`'s `@strapi/strapi`): 4 or 5.
    public var strapiMajor: Int
    public var strapiVersion: String?
    /// `strapi-plugin-meilisearch`'s version, when the project uses it.
    public var meilisearchPluginVersion: String?
    /// By uid, e.g. `api::offre-de-stage.offre-de-stage`.
    public var contentTypes: [StrapiContentType]
    /// By uid, e.g. `localisation.localisation`.
    public var components: [StrapiComponent]

    public init(strapiMajor: Int, strapiVersion: String? = nil, meilisearchPluginVersion: String? = nil,
                contentTypes: [StrapiContentType], components: [StrapiComponent]) {
        self.strapiMajor = strapiMajor
        self.strapiVersion = strapiVersion
        self.meilisearchPluginVersion = meilisearchPluginVersion
        self.contentTypes = contentTypes
        self.components = components
    }

    public func contentType(_ uid: String) -> StrapiContentType? { contentTypes.first { $0.uid == uid } }
    public func component(_ uid: String) -> StrapiComponent? { components.first { $0.uid == uid } }

    /// Every content type's and component's attributes, with the owner's uid.
    public var attributeOwners: [(uid: String, attributes: [StrapiAttribute])] {
        contentTypes.map { ($0.uid, $0.attributes) } + components.map { ($0.uid, $0.attributes) }
    }
}

/// `src/api/<api>/content-types/<name>/schema.json`.
public struct StrapiContentType: Sendable, Equatable {
    /// `api::<api>.<name>`.
    public var uid: String
    /// `info.singularName`: Strapi's model name, which names link-table columns and the
    /// plugin's index (`offre-de-stage`).
    public var singularName: String
    public var pluralName: String?
    public var kind: Kind
    /// The entry table.
    public var collectionName: String
    public var draftAndPublish: Bool
    /// `pluginOptions.i18n.localized`.
    public var localized: Bool
    /// In the file's order.
    public var attributes: [StrapiAttribute]

    public enum Kind: String, Sendable, Equatable { case collectionType, singleType }

    public init(uid: String, singularName: String, pluralName: String? = nil, kind: Kind = .collectionType, collectionName: String,
                draftAndPublish: Bool, localized: Bool = false, attributes: [StrapiAttribute]) {
        self.uid = uid
        self.singularName = singularName
        self.pluralName = pluralName
        self.kind = kind
        self.collectionName = collectionName
        self.draftAndPublish = draftAndPublish
        self.localized = localized
        self.attributes = attributes
    }
}

/// `src/components/<category>/<name>.json`.
public struct StrapiComponent: Sendable, Equatable {
    /// `<category>.<name>`, as `component`/`components` of attributes name it.
    public var uid: String
    public var category: String
    /// The file's name: Strapi's model name for the component.
    public var name: String
    public var collectionName: String
    public var attributes: [StrapiAttribute]

    public init(uid: String, category: String, name: String, collectionName: String, attributes: [StrapiAttribute]) {
        self.uid = uid
        self.category = category
        self.name = name
        self.collectionName = collectionName
        self.attributes = attributes
    }
}

public struct StrapiAttribute: Sendable, Equatable {
    /// The name in the source (camelCase or not): the key of the entry in API answers.
    public var name: String
    public var kind: Kind
    /// `private: true`: left out of API answers and of the plugin's documents.
    public var isPrivate: Bool
    public var required: Bool

    public init(name: String, kind: Kind, isPrivate: Bool = false, required: Bool = false) {
        self.name = name
        self.kind = kind
        self.isPrivate = isPrivate
        self.required = required
    }

    /// The column holding it on its table (`nil` for components, dynamic zones, relations and
    /// media, which live in other tables).
    public var columnName: String? { kind.isScalar ? StrapiSnakeCase.snakeCase(name) : nil }

    public enum Kind: Sendable, Equatable {
        case string, text, richtext, blocks, email, password, uid
        case integer, biginteger, float, decimal
        case date, datetime, time, timestamp
        case boolean, json
        case enumeration([String])
        /// A single component is an object, a repeatable one an array in "order".
        case component(uid: String, repeatable: Bool)
        /// Allowed component uids.
        case dynamiczone([String])
        case relation(StrapiRelation)
        case media(multiple: Bool)
        /// `customField`s and types this reader does not know, with their declared `type`:
        /// a column like a scalar (Strapi stores custom fields in their base type's column).
        case other(String)

        /// Kept in the owner's component join table.
        public var holdsComponents: Bool {
            switch self {
            case .component, .dynamiczone: true
            default: false
            }
        }

        public var isMedia: Bool { if case .media = self { true } else { false } }

        public var isScalar: Bool {
            switch self {
            case .component, .dynamiczone, .relation, .media: false
            default: true
            }
        }
    }
}

public struct StrapiRelation: Sendable, Equatable {
    public var kind: Kind
    /// The related content type's uid (`api::…`, `plugin::users-permissions.user`, `admin::user`).
    public var target: String
    /// The owning side of a two-way relation names the other side's attribute here.
    public var inversedBy: String?
    /// The other side of a two-way relation (no link table of its own).
    public var mappedBy: String?

    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case oneToOne, oneToMany, manyToOne, manyToMany
        case morphToOne, morphToMany, morphOne, morphMany
    }

    public init(kind: Kind, target: String, inversedBy: String? = nil, mappedBy: String? = nil) {
        self.kind = kind
        self.target = target
        self.inversedBy = inversedBy
        self.mappedBy = mappedBy
    }

    public var isBidirectional: Bool { inversedBy != nil || mappedBy != nil }
    /// Strapi keeps the link on the owning side only: one-way relations, or the `inversedBy` side.
    public var isOwner: Bool { !isBidirectional || inversedBy != nil }
}
