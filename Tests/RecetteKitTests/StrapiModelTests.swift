import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// Writes a Strapi project's files into a fresh directory.
struct StrapiProjectFiles {
    let directory = TestEnvironment.newProjectDirectory()

    init(strapi: String = "4.25.1", plugin: String? = "0.12.0", files: [String: String]) throws {
        var dependencies = [#""@strapi/strapi": "\#(strapi)""#]
        if let plugin { dependencies.append(#""strapi-plugin-meilisearch": "\#(plugin)""#) }
        try write("package.json", #"{"name": "cms", "dependencies": {\#(dependencies.joined(separator: ", "))}}"#)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("src/api"), withIntermediateDirectories: true)
        for (path, text) in files { try write(path, text) }
    }

    func write(_ path: String, _ text: String) throws {
        let file = directory.appendingPathComponent(path)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: file, atomically: true, encoding: .utf8)
    }

    var project: StrapiProject { StrapiProject(directory: directory) }
}

@Suite struct StrapiSnakeCaseTests {
    @Test(arguments: [
        ("dateDeDebutMin", "date_de_debut_min"),
        ("duree_en_mois", "duree_en_mois"),
        ("title", "title"),
        ("XMLHttpRequest", "xml_http_request"),
        ("userID", "user_id"),
        ("ABc", "a_bc"),
        ("field2", "field_2"),
        ("v2Name", "v_2_name"),
        ("address1Line2", "address_1_line_2"),
        ("rank1st", "rank_1st"),
        ("the22ndRow", "the_22nd_row"),
        ("top10th", "top_10th"),
        ("11thHour", "11_th_hour"),
        ("kebab-case-name", "kebab_case_name"),
        ("Already_Snake", "already_snake"),
        ("__leading__trailing__", "leading_trailing"),
        ("dateDébut", "date_debut"),
        ("grosseÉtape", "grosse_etape"),
        ("FOO", "foo"),
        ("Foo Bar", "foo_bar"),
        ("offres_de_stage_entreprisePartenaire_links", "offres_de_stage_entreprise_partenaire_links"),
    ])
    func namesBecomeLodashSnakeCase(name: String, column: String) {
        #expect(StrapiSnakeCase.snakeCase(name) == column)
    }
}

@Suite struct StrapiProjectReaderTests {
    static let everyKind = #"""
    {
      "kind": "collectionType",
      "collectionName": "evenements",
      "info": {"singularName": "evenement", "pluralName": "evenements", "displayName": "Événement"},
      "options": {"draftAndPublish": true},
      "pluginOptions": {"i18n": {"localized": true}},
      "attributes": {
        "titre": {"type": "string", "required": true},
        "resume": {"type": "text"},
        "corps": {"type": "richtext"},
        "blocs": {"type": "blocks"},
        "contact": {"type": "email"},
        "motDePasse": {"type": "password", "private": true},
        "slug": {"type": "uid", "targetField": "titre"},
        "places": {"type": "integer"},
        "vues": {"type": "biginteger"},
        "note": {"type": "float"},
        "prix": {"type": "decimal"},
        "jour": {"type": "date"},
        "debut": {"type": "datetime"},
        "heure": {"type": "time"},
        "horodatage": {"type": "timestamp"},
        "gratuit": {"type": "boolean"},
        "extra": {"type": "json"},
        "format": {"type": "enumeration", "enum": ["presentiel", "distanciel"]},
        "lieu": {"type": "component", "repeatable": false, "component": "lieu.adresse"},
        "horaires": {"type": "component", "repeatable": true, "component": "lieu.horaire"},
        "contenu": {"type": "dynamiczone", "components": ["lieu.adresse", "lieu.horaire"]},
        "organisateur": {"type": "relation", "relation": "manyToOne", "target": "api::organisateur.organisateur", "inversedBy": "evenements"},
        "affiche": {"type": "media", "multiple": false, "allowedTypes": ["images"]},
        "galerie": {"type": "media", "multiple": true}
      }
    }
    """#
    static let organiser = #"""
    {"kind": "collectionType", "collectionName": "organisateurs", "info": {"singularName": "organisateur", "pluralName": "organisateurs"},
     "attributes": {"nom": {"type": "string"},
                    "evenements": {"type": "relation", "relation": "oneToMany", "target": "api::evenement.evenement", "mappedBy": "organisateur"}}}
    """#
    static let address = #"{"collectionName": "components_lieu_adresses", "info": {"displayName": "Adresse"}, "attributes": {"ville": {"type": "string"}, "codePostal": {"type": "string"}}}"#
    static let hours = #"{"collectionName": "components_lieu_horaires", "attributes": {"jour": {"type": "string"}}}"#

    static func project(schema: String = everyKind, lock: String? = nil) throws -> StrapiProjectFiles {
        let files = try StrapiProjectFiles(files: [
            "src/api/evenement/content-types/evenement/schema.json": schema,
            "src/api/organisateur/content-types/organisateur/schema.json": organiser,
            "src/components/lieu/adresse.json": address,
            "src/components/lieu/horaire.json": hours,
        ])
        if let lock { try files.write("package-lock.json", lock) }
        return files
    }

    @Test func everyAttributeKindIsRead() throws {
        let model = try Self.project().project.model()
        #expect(model.strapiMajor == 4 && model.strapiVersion == "4.25.1" && model.meilisearchPluginVersion == "0.12.0")
        let type = try #require(model.contentType("api::evenement.evenement"))
        #expect(type.collectionName == "evenements" && type.singularName == "evenement" && type.pluralName == "evenements")
        #expect(type.draftAndPublish && type.localized && type.kind == .collectionType)
        let kinds = Dictionary(uniqueKeysWithValues: type.attributes.map { ($0.name, $0.kind) })
        let expected: [String: StrapiAttribute.Kind] = [
            "titre": .string, "resume": .text, "corps": .richtext, "blocs": .blocks, "contact": .email, "motDePasse": .password,
            "slug": .uid, "places": .integer, "vues": .biginteger, "note": .float, "prix": .decimal, "jour": .date,
            "debut": .datetime, "heure": .time, "horodatage": .timestamp, "gratuit": .boolean, "extra": .json,
            "format": .enumeration(["presentiel", "distanciel"]),
            "lieu": .component(uid: "lieu.adresse", repeatable: false),
            "horaires": .component(uid: "lieu.horaire", repeatable: true),
            "contenu": .dynamiczone(["lieu.adresse", "lieu.horaire"]),
            "organisateur": .relation(StrapiRelation(kind: .manyToOne, target: "api::organisateur.organisateur", inversedBy: "evenements")),
            "affiche": .media(multiple: false), "galerie": .media(multiple: true),
        ]
        #expect(kinds == expected)
        let privateNames = type.attributes.filter(\.isPrivate).map(\.name)
        #expect(privateNames == ["motDePasse"])
        #expect(type.attributes.first { $0.name == "titre" }?.required == true)
        let organiser = try #require(model.contentType("api::organisateur.organisateur"))
        #expect(!organiser.draftAndPublish && !organiser.localized, "v4: both options are off unless the schema turns them on")
        #expect(organiser.attributes.first { $0.name == "evenements" }?.kind
                == .relation(StrapiRelation(kind: .oneToMany, target: "api::evenement.evenement", mappedBy: "organisateur")))
        let address = try #require(model.component("lieu.adresse"))
        #expect(address.collectionName == "components_lieu_adresses" && address.category == "lieu" && address.name == "adresse")
        #expect(address.attributes.map(\.name) == ["codePostal", "ville"])
    }

    @Test func theLockFilesInstalledVersionsWin() throws {
        let lock = #"{"packages": {"node_modules/@strapi/strapi": {"version": "4.25.9"}, "node_modules/strapi-plugin-meilisearch": {"version": "0.12.1"}}}"#
        let model = try Self.project(lock: lock).project.model()
        #expect(model.strapiVersion == "4.25.9" && model.meilisearchPluginVersion == "0.12.1")
    }

    static let problems: [(schema: String, message: String)] = [
        (#"{"collectionName": "x", "attributes": {"a": {"type": "string"}"#,
         "src/api/evenement/content-types/evenement/schema.json: is not valid JSON ("),
        (#"["not", "an", "object"]"#, "src/api/evenement/content-types/evenement/schema.json: holds JSON that is not an object"),
        (#"{"attributes": {}}"#, "src/api/evenement/content-types/evenement/schema.json: has no collectionName; give it the table's name"),
        (#"{"collectionName": "evenements"}"#, "schema.json: has no attributes;"),
        (#"{"collectionName": "evenements", "attributes": {"titre": {"required": true}}}"#, "schema.json: attribute 'titre' has no type; give it one"),
        (#"{"collectionName": "evenements", "attributes": {"titre": {"type": "strnig"}}}"#, "attribute 'titre' has type 'strnig', which Strapi does not know"),
        (#"{"collectionName": "evenements", "attributes": {"f": {"type": "enumeration"}}}"#, "attribute 'f' is an enumeration without an \"enum\" list of strings"),
        (#"{"collectionName": "evenements", "attributes": {"r": {"type": "relation", "relation": "oneToFew", "target": "api::organisateur.organisateur"}}}"#,
         "attribute 'r' has relation 'oneToFew'; use one of oneToOne, oneToMany"),
        (#"{"collectionName": "evenements", "attributes": {"r": {"type": "relation", "relation": "oneToOne"}}}"#, "attribute 'r' is a oneToOne relation without a target"),
        (#"{"collectionName": "evenements", "options": {"draftAndPublish": 1}, "attributes": {}}"#, "options has draftAndPublish that is not true or false"),
        (#"{"collectionName": "evenements", "attributes": {"c": {"type": "component", "component": "lieu.absent"}}}"#,
         "src/components: api::evenement.evenement.c uses component lieu.absent, which has no src/components/lieu/absent.json"),
        (#"{"collectionName": "evenements", "attributes": {"r": {"type": "relation", "relation": "oneToOne", "target": "api::absent.absent"}}}"#,
         "src/api: api::evenement.evenement.r relates to api::absent.absent, which no schema.json declares"),
    ]

    @Test(arguments: problems)
    func aBadFileIsNamedWithWhatIsWrong(schema: String, message: String) throws {
        let files = try Self.project(schema: schema)
        #expect {
            try files.project.model()
        } throws: { error in
            let text = "\(error)"
            return error is StrapiProjectError && text.contains(message) && !text.contains("\n")
        }
    }

    @Test func aPackageWithoutStrapiOrOfAnotherMajorIsRefused() throws {
        let files = try Self.project()
        try files.write("package.json", #"{"dependencies": {"express": "4"}}"#)
        #expect(throws: StrapiProjectError(file: "package.json", problem: "does not depend on @strapi/strapi",
                                           fix: "point strapi.project at the CMS's source (its package.json lists @strapi/strapi)")) { try files.project.model() }
        try files.write("package.json", #"{"dependencies": {"@strapi/strapi": "^3.6.8"}}"#)
        #expect(throws: StrapiProjectError.self) { try files.project.model() }
    }

    @Test func theProjectIsFoundWhereConfiguredOrInTheProjectDirectory() throws {
        let files = try Self.project()
        let elsewhere = TestEnvironment.newProjectDirectory()
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        #expect(try StrapiProject.configured(Configuration.load(environment: [:], projectDirectory: elsewhere)) == nil)
        #expect(try StrapiProject.configured(Configuration.load(environment: [:], projectDirectory: files.directory))?.directory.path == files.directory.path)
        let configured = try Configuration.load(environment: ["RECETTE_STRAPI_PROJECT": files.directory.path], projectDirectory: elsewhere)
        #expect(try StrapiProject.configured(configured)?.directory.path == files.directory.path)
        let wrong = try Configuration.load(environment: ["RECETTE_STRAPI_PROJECT": elsewhere.path], projectDirectory: files.directory)
        #expect(throws: StrapiProjectError.self) { try StrapiProject.configured(wrong) }
    }
}

@Suite struct StrapiSchemaTests {
    func columns(_ schema: StrapiSchema) -> [String: [String]] {
        Dictionary(uniqueKeysWithValues: schema.tables.map { ($0.name, $0.columns) })
    }

    @Test func aV4ProjectGivesStrapisTablesAndColumns() throws {
        let model = try StrapiProjectReaderTests.project().project.model()
        let tables = columns(StrapiSchema.expected(by: model))
        #expect(tables == [
            // Scalars in snake_case (attributes in name order), then the system columns.
            "evenements": ["id", "blocs", "contact", "corps", "debut", "extra", "format", "gratuit", "heure", "horodatage", "jour",
                           "mot_de_passe", "note", "places", "prix", "resume", "slug", "titre", "vues",
                           "created_at", "updated_at", "published_at", "created_by_id", "updated_by_id", "locale"],
            // A single component, a repeatable one and a dynamic zone share one join table.
            "evenements_components": ["id", "entity_id", "component_id", "component_type", "field", "order"],
            // manyToOne, owning side (inversedBy): the other side's order column too.
            "evenements_organisateur_links": ["id", "evenement_id", "organisateur_id", "evenement_order"],
            // i18n (v4): a one-way oneToMany to itself.
            "evenements_localizations_links": ["id", "evenement_id", "inv_evenement_id", "evenement_order"],
            // mappedBy: no link table of its own; no draft & publish: no published_at.
            "organisateurs": ["id", "nom", "created_at", "updated_at", "created_by_id", "updated_by_id"],
            "components_lieu_adresses": ["id", "code_postal", "ville"],
            "components_lieu_horaires": ["id", "jour"],
            "files_related_morphs": ["id", "file_id", "related_id", "related_type", "field", "order"],
        ])
    }

    @Test func relationKindsGiveTheirLinkColumns() throws {
        let schema = #"""
        {"collectionName": "articles", "info": {"singularName": "article"}, "attributes": {
          "auteur": {"type": "relation", "relation": "oneToOne", "target": "plugin::users-permissions.user"},
          "tags": {"type": "relation", "relation": "manyToMany", "target": "api::tag.tag", "inversedBy": "articles"},
          "liesA": {"type": "relation", "relation": "manyToMany", "target": "api::article.article"},
          "suites": {"type": "relation", "relation": "oneToMany", "target": "api::tag.tag"},
          "cible": {"type": "relation", "relation": "morphToOne"}
        }}
        """#
        let tag = #"{"collectionName": "tags", "info": {"singularName": "tag"}, "attributes": {"articles": {"type": "relation", "relation": "manyToMany", "target": "api::article.article", "mappedBy": "tags"}}}"#
        let files = try StrapiProjectFiles(files: ["src/api/article/content-types/article/schema.json": schema, "src/api/tag/content-types/tag/schema.json": tag])
        let tables = columns(StrapiSchema.expected(by: try files.project.model()))
        #expect(tables["articles_auteur_links"] == ["id", "article_id", "user_id"])
        #expect(tables["articles_tags_links"] == ["id", "article_id", "tag_id", "tag_order", "article_order"])
        #expect(tables["articles_lies_a_links"] == ["id", "article_id", "inv_article_id", "article_order"], "self-referencing: inv_ prefix")
        #expect(tables["articles_suites_links"] == ["id", "article_id", "tag_id", "tag_order"])
        #expect(tables["tags_articles_links"] == nil, "the mappedBy side keeps no link")
        #expect(tables["articles"] == ["id", "target_id", "target_type", "created_at", "updated_at", "created_by_id", "updated_by_id"])
    }

    /// What the document generation reads: which column of which table holds each side.
    @Test func eachRelationSideKnowsItsLinkColumns() throws {
        let schema = StrapiSchema.expected(by: try StrapiProjectReaderTests.project().project.model())
        let owning = try #require(schema.relationLinks["api::evenement.evenement.organisateur"])
        #expect(owning == StrapiLinkTable(name: "evenements_organisateur_links", joinColumn: "evenement_id", inverseJoinColumn: "organisateur_id",
                                          orderColumn: nil, inverseOrderColumn: "evenement_order"))
        // The mappedBy side reads the same table the other way round, in its own order.
        #expect(schema.relationLinks["api::organisateur.organisateur.evenements"]
                == StrapiLinkTable(name: "evenements_organisateur_links", joinColumn: "organisateur_id", inverseJoinColumn: "evenement_id",
                                   orderColumn: "evenement_order", inverseOrderColumn: nil))
        #expect(schema.componentJoinTables["evenements"]?.name == "evenements_components")
        #expect(schema.componentJoinTables["evenements"]?.componentColumn == "component_id")
        #expect(schema.componentJoinTables["organisateurs"] == nil)
    }

    @Test func aV5ProjectUsesItsOwnNames() throws {
        let files = try StrapiProjectReaderTests.project()
        try files.write("package.json", #"{"dependencies": {"@strapi/strapi": "5.12.3"}}"#)
        let tables = columns(StrapiSchema.expected(by: try files.project.model()))
        #expect(tables["evenements"]?.prefix(2) == ["id", "document_id"])
        #expect(tables["evenements"]?.suffix(5) == ["created_at", "updated_at", "published_at", "created_by_id", "updated_by_id", "locale"].suffix(5))
        #expect(tables["organisateurs"]?.contains("published_at") == true && tables["organisateurs"]?.contains("locale") == true)
        #expect(tables["evenements_cmps"] == ["id", "entity_id", "cmp_id", "component_type", "field", "order"])
        #expect(tables["evenements_organisateur_lnk"] == ["id", "evenement_id", "organisateur_id", "evenement_ord"])
        #expect(tables["evenements_localizations_links"] == nil && tables["files_related_mph"] != nil)
    }
}
