import Foundation
import RecetteWorld

/// A Strapi project's source on disk (`strapi.project` in recette.yml, or the project
/// directory when it holds `src/api`), and the model read from it.
///
/// Where Strapi finds things (v4 and v5 alike): content types in
/// `src/api/<api>/content-types/<name>/schema.json` (uid `api::<api>.<name>`), components in
/// `src/components/<category>/<name>.json` (uid `<category>.<name>`), versions in
/// `package.json` and, exact, `package-lock.json`.
public struct StrapiProject: Sendable {
    public var directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// The configured project: `strapi.project` (an error when it holds no `src/api`), else the
    /// project directory when it holds `src/api`, else none.
    public static func configured(_ configuration: Configuration) throws -> StrapiProject? {
        if let directory = configuration.path(.strapiProject) {
            guard isProject(directory) else {
                throw StrapiProjectError(file: directory.path, problem: "holds no src/api directory, so it is not a Strapi project",
                                         fix: "point strapi.project (RECETTE_STRAPI_PROJECT) at the CMS's source, the directory holding package.json and src/")
            }
            return StrapiProject(directory: directory)
        }
        return isProject(configuration.projectDirectory) ? StrapiProject(directory: configuration.projectDirectory) : nil
    }

    static func isProject(_ directory: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory.appendingPathComponent("src/api").path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// Reads and checks every content type and component: one error naming the first bad file.
    public func model() throws -> StrapiModel {
        let versions = try readVersions()
        var contentTypes: [StrapiContentType] = []
        let api = directory.appendingPathComponent("src/api")
        for apiName in try subdirectories(of: api) {
            let types = api.appendingPathComponent(apiName).appendingPathComponent("content-types")
            for name in try subdirectories(of: types) {
                let file = types.appendingPathComponent(name).appendingPathComponent("schema.json")
                guard FileManager.default.fileExists(atPath: file.path) else { continue }
                contentTypes.append(try StrapiSchemaFile(file: file, shownAs: relative(file)).contentType(uid: "api::\(apiName).\(name)", directoryName: name))
            }
        }
        var components: [StrapiComponent] = []
        let componentsDirectory = directory.appendingPathComponent("src/components")
        for category in try subdirectories(of: componentsDirectory) {
            let folder = componentsDirectory.appendingPathComponent(category)
            let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
            for fileName in files {
                let file = folder.appendingPathComponent(fileName)
                let name = String(fileName.dropLast(".json".count))
                components.append(try StrapiSchemaFile(file: file, shownAs: relative(file)).component(category: category, name: name))
            }
        }
        let model = StrapiModel(strapiMajor: versions.major, strapiVersion: versions.strapi, meilisearchPluginVersion: versions.meilisearch,
                                contentTypes: contentTypes, components: components)
        try checkReferences(model)
        return model
    }

    /// Every component an attribute names exists, and every `api::` relation target: Strapi
    /// refuses to start otherwise, and the physical schema needs them.
    private func checkReferences(_ model: StrapiModel) throws {
        for owner in model.attributeOwners {
            for attribute in owner.attributes {
                var components: [String] = []
                switch attribute.kind {
                case .component(let uid, _): components = [uid]
                case .dynamiczone(let uids): components = uids
                case .relation(let relation):
                    if relation.target.hasPrefix("api::"), model.contentType(relation.target) == nil {
                        throw StrapiProjectError(file: relative(directory.appendingPathComponent("src/api")),
                                                 problem: "\(owner.uid).\(attribute.name) relates to \(relation.target), which no schema.json declares",
                                                 fix: "add that content type or correct the attribute's target")
                    }
                default: break
                }
                for uid in components where model.component(uid) == nil {
                    throw StrapiProjectError(file: relative(directory.appendingPathComponent("src/components")),
                                             problem: "\(owner.uid).\(attribute.name) uses component \(uid), which has no src/components/\(uid.replacingOccurrences(of: ".", with: "/")).json",
                                             fix: "add the component's file or correct the attribute")
                }
            }
        }
    }

    struct Versions { var major: Int; var strapi: String?; var meilisearch: String? }

    /// `package-lock.json`'s installed versions win over `package.json`'s ranges.
    private func readVersions() throws -> Versions {
        let packageFile = directory.appendingPathComponent("package.json")
        let package = try StrapiJSON.object(at: packageFile, shownAs: relative(packageFile))
        var declared: [String: String] = [:]
        for key in ["dependencies", "devDependencies"] {
            for (name, value) in package[key]?.object ?? [:] { if let value = value.string { declared[name] = value } }
        }
        var strapi = declared["@strapi/strapi"], meilisearch = declared["strapi-plugin-meilisearch"]
        let lockFile = directory.appendingPathComponent("package-lock.json")
        if FileManager.default.fileExists(atPath: lockFile.path) {
            let lock = try StrapiJSON.object(at: lockFile, shownAs: relative(lockFile))
            let packages = lock["packages"]?.object ?? [:]
            func installed(_ name: String) -> String? { packages["node_modules/\(name)"]?["version"]?.string }
            strapi = installed("@strapi/strapi") ?? strapi
            meilisearch = installed("strapi-plugin-meilisearch") ?? meilisearch
        }
        guard let strapi else {
            throw StrapiProjectError(file: relative(packageFile), problem: "does not depend on @strapi/strapi",
                                     fix: "point strapi.project at the CMS's source (its package.json lists @strapi/strapi)")
        }
        guard let major = Self.major(of: strapi), [4, 5].contains(major) else {
            throw StrapiProjectError(file: relative(packageFile), problem: "asks for @strapi/strapi '\(strapi)', and recette knows Strapi 4 and 5 only",
                                     fix: "use a Strapi 4 or 5 project")
        }
        return Versions(major: major, strapi: strapi, meilisearch: meilisearch)
    }

    /// `4.25.1`, `^4.25.1`, `~5.0.0`, `>=4` → the first number.
    static func major(of version: String) -> Int? {
        Int(String(version.drop { !$0.isNumber }.prefix { $0.isNumber }))
    }

    private func subdirectories(of url: URL) throws -> [String] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: url.path).filter { name in
            var isDirectory: ObjCBool = false
            return !name.hasPrefix(".") && FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDirectory) && isDirectory.boolValue
        }.sorted()
    }

    func relative(_ file: URL) -> String {
        let base = directory.standardizedFileURL.path
        let path = file.standardizedFileURL.path
        return path.hasPrefix(base + "/") ? String(path.dropFirst(base.count + 1)) : path
    }
}

/// A problem in a Strapi project's source: the file, what is wrong, what to do.
public struct StrapiProjectError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var problem: String
    public var fix: String
    public var description: String { "\(file): \(problem); \(fix)" }
}

/// A JSON value as it is in the file: booleans stay booleans (Foundation's JSONSerialization
/// gives NSNumber for both, and on Linux `1` then reads as `true`).
enum StrapiJSON: Decodable, Equatable {
    case object([String: StrapiJSON]), array([StrapiJSON]), string(String), number(Double), bool(Bool), null

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([StrapiJSON].self) { self = .array(value) }
        else { self = .object(try container.decode([String: StrapiJSON].self)) }
    }

    subscript(_ key: String) -> StrapiJSON? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    var string: String? { if case .string(let text) = self { text } else { nil } }
    var object: [String: StrapiJSON]? { if case .object(let object) = self { object } else { nil } }
    var strings: [String]? {
        guard case .array(let items) = self else { return nil }
        let texts = items.compactMap(\.string)
        return texts.count == items.count ? texts : nil
    }

    static func object(at file: URL, shownAs name: String) throws -> [String: StrapiJSON] {
        guard let data = FileManager.default.contents(atPath: file.path) else {
            throw StrapiProjectError(file: name, problem: "cannot be read (missing or not a readable file)", fix: "check strapi.project points at the CMS's source")
        }
        let value: StrapiJSON
        do {
            value = try JSONDecoder().decode(StrapiJSON.self, from: data)
        } catch {
            throw StrapiProjectError(file: name, problem: "is not valid JSON (\(describe(error)))", fix: "fix the file (Strapi would not start with it either)")
        }
        guard let object = value.object else {
            throw StrapiProjectError(file: name, problem: "holds JSON that is not an object", fix: "fix the file (Strapi expects an object)")
        }
        return object
    }

    /// Foundation's parse errors are long and nested; keep the gist on one line.
    private static func describe(_ error: any Error) -> String {
        var text = "\(error)"
        if case DecodingError.dataCorrupted(let context) = error {
            text = context.debugDescription
            if let underlying = context.underlyingError { text += ": " + ((underlying as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(underlying)") }
        }
        return text.split(separator: "\n").first.map(String.init) ?? "parse error"
    }
}

/// One `schema.json` or component file, read into the typed model.
struct StrapiSchemaFile {
    var file: URL
    var shownAs: String

    func contentType(uid: String, directoryName: String) throws -> StrapiContentType {
        let object = try StrapiJSON.object(at: file, shownAs: shownAs)
        let info = object["info"]?.object ?? [:]
        let singularName = try optionalString(info, "singularName", in: "info") ?? directoryName
        guard let collectionName = try optionalString(object, "collectionName", in: nil), !collectionName.isEmpty else {
            throw error("has no collectionName", fix: "give it the table's name, e.g. \"collectionName\": \"\(StrapiSnakeCase.snakeCase(singularName))s\"")
        }
        let kindText = try optionalString(object, "kind", in: nil) ?? "collectionType"
        guard let kind = StrapiContentType.Kind(rawValue: kindText) else {
            throw error("has kind '\(kindText)'", fix: "use collectionType or singleType")
        }
        let options = object["options"]?.object ?? [:]
        let i18n = object["pluginOptions"]?["i18n"]?.object ?? [:]
        return StrapiContentType(uid: uid, singularName: singularName, pluralName: try optionalString(info, "pluralName", in: "info"), kind: kind,
                                 collectionName: collectionName,
                                 draftAndPublish: try bool(options, "draftAndPublish", in: "options") ?? false,
                                 localized: try bool(i18n, "localized", in: "pluginOptions.i18n") ?? false,
                                 attributes: try attributes(object))
    }

    func component(category: String, name: String) throws -> StrapiComponent {
        let object = try StrapiJSON.object(at: file, shownAs: shownAs)
        guard let collectionName = try optionalString(object, "collectionName", in: nil), !collectionName.isEmpty else {
            throw error("has no collectionName", fix: "give it the table's name, e.g. \"collectionName\": \"components_\(category)_\(name)s\"")
        }
        return StrapiComponent(uid: "\(category).\(name)", category: category, name: name, collectionName: collectionName, attributes: try attributes(object))
    }

    private func attributes(_ object: [String: StrapiJSON]) throws -> [StrapiAttribute] {
        guard let raw = object["attributes"] else {
            throw error("has no attributes", fix: "add an \"attributes\" object (it may be empty)")
        }
        guard let attributes = raw.object else { throw error("has attributes that are not an object", fix: "write them as {\"name\": {\"type\": …}}") }
        // JSONSerialization loses the file's key order; a stable order keeps tables and
        // reports the same from one run to the next.
        return try attributes.keys.sorted().map { name in
            guard let definition = attributes[name]?.object else {
                throw error("attribute '\(name)' is not an object", fix: "write it as {\"type\": …}")
            }
            return try attribute(name, definition)
        }
    }

    private func attribute(_ name: String, _ definition: [String: StrapiJSON]) throws -> StrapiAttribute {
        let place = "attribute '\(name)'"
        guard let type = definition["type"]?.string else {
            throw error("\(place) has no type", fix: "give it one (string, text, integer, relation, component, media, …)")
        }
        let kind: StrapiAttribute.Kind
        switch type {
        case "string": kind = .string
        case "text": kind = .text
        case "richtext": kind = .richtext
        case "blocks": kind = .blocks
        case "email": kind = .email
        case "password": kind = .password
        case "uid": kind = .uid
        case "integer": kind = .integer
        case "biginteger": kind = .biginteger
        case "float": kind = .float
        case "decimal": kind = .decimal
        case "date": kind = .date
        case "datetime": kind = .datetime
        case "time": kind = .time
        case "timestamp": kind = .timestamp
        case "boolean": kind = .boolean
        case "json": kind = .json
        case "enumeration":
            guard let values = definition["enum"]?.strings else {
                throw error("\(place) is an enumeration without an \"enum\" list of strings", fix: "list its values in \"enum\"")
            }
            kind = .enumeration(values)
        case "component":
            guard let uid = definition["component"]?.string, uid.contains(".") else {
                throw error("\(place) is a component without \"component\": \"<category>.<name>\"", fix: "name the component it holds")
            }
            kind = .component(uid: uid, repeatable: try bool(definition, "repeatable", in: place) ?? false)
        case "dynamiczone":
            guard let uids = definition["components"]?.strings else {
                throw error("\(place) is a dynamic zone without a \"components\" list", fix: "list the components it allows")
            }
            kind = .dynamiczone(uids)
        case "relation":
            let relationText = definition["relation"]?.string ?? ""
            guard let relationKind = StrapiRelation.Kind(rawValue: relationText) else {
                throw error("\(place) has relation '\(relationText)'",
                            fix: "use one of \(StrapiRelation.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let target = definition["target"]?.string
            if target == nil && ![.morphToOne, .morphToMany].contains(relationKind) {
                throw error("\(place) is a \(relationKind.rawValue) relation without a target", fix: "name the related content type's uid in \"target\"")
            }
            kind = .relation(StrapiRelation(kind: relationKind, target: target ?? "", inversedBy: definition["inversedBy"]?.string,
                                            mappedBy: definition["mappedBy"]?.string))
        case "media":
            kind = .media(multiple: try bool(definition, "multiple", in: place) ?? false)
        default:
            throw error("\(place) has type '\(type)', which Strapi does not know", fix: "correct the type (custom fields keep their base type in \"type\")")
        }
        return StrapiAttribute(name: name, kind: kind, isPrivate: try bool(definition, "private", in: place) ?? false,
                               required: try bool(definition, "required", in: place) ?? false)
    }

    private func optionalString(_ object: [String: StrapiJSON], _ key: String, in place: String?) throws -> String? {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.string else { throw error("\(place.map { "\($0)." } ?? "")\(key) is not a string", fix: "write it as a string") }
        return text
    }

    private func bool(_ object: [String: StrapiJSON], _ key: String, in place: String) throws -> Bool? {
        guard let value = object[key], value != .null else { return nil }
        guard case .bool(let flag) = value else {
            throw error("\(place) has \(key) that is not true or false", fix: "write \(key): true or false")
        }
        return flag
    }

    private func error(_ problem: String, fix: String) -> StrapiProjectError {
        StrapiProjectError(file: shownAs, problem: problem, fix: fix)
    }
}
