import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// A Strapi v5 project written here with its tables made here, as Strapi v5 names them: every
/// kind of attribute, draft rows beside published ones, a localized content type, and two
/// names v5 shortens.
///
/// The two shortened names, derived by hand from `@strapi/database`'s `Identifiers` rules
/// (maximum 55; README, "Documents from the model", Strapi v5), the 5 hex digits being
/// `shake256(part)` cut to 5, computed with Node's `crypto.createHash('shake256',
/// {outputLength: 3})`, the function Strapi calls:
/// - the column of `aVeryLongAttributeNameThatStrapiFiveMustShortenForPostgres`: its snake
///   case has 69 characters, one part given all 55: its first 50, then `14059`;
/// - the link table of `editorsWhoReviewedThisArticleBeforeItWasPublishedOnline`: parts
///   `articles` (8) and the 64-character snake case, fixed `lnk`: 50 to share, 25 each,
///   `articles` gives back 17, so the long part gets 42: its first 37, then `5fa51`.
enum EntryQueryProjectV5 {
    static let longColumn = "a_very_long_attribute_name_that_strapi_five_must_s14059"
    static let longLink = "articles_editors_who_reviewed_this_article_bef5fa51_lnk"

    /// The v4 test project's articles, with a long attribute and a long relation added.
    static let articleSchema = (EntryQueryProject.files["src/api/article/content-types/article/schema.json"] ?? "").replacingOccurrences(
        of: #""secretNote": {"type": "string", "private": true},"#,
        with: #""secretNote": {"type": "string", "private": true}, "aVeryLongAttributeNameThatStrapiFiveMustShortenForPostgres": {"type": "string"}, "#
            + #""editorsWhoReviewedThisArticleBeforeItWasPublishedOnline": {"type": "relation", "relation": "manyToOne", "target": "api::author.author"},"#)

    /// The v4 test project's authors, tags and components, its articles with two long names,
    /// and a localized content type.
    static let files: [String: String] = EntryQueryProject.files.merging([
        "src/api/article/content-types/article/schema.json": articleSchema,
        "src/api/page/content-types/page/schema.json": #"""
        {"kind": "collectionType", "collectionName": "pages", "info": {"singularName": "page", "pluralName": "pages"},
         "options": {"draftAndPublish": true}, "pluginOptions": {"i18n": {"localized": true}},
         "attributes": {"title": {"type": "string", "pluginOptions": {"i18n": {"localized": true}}}}}
        """#,
    ]) { $1 }

    /// The tables Strapi v5 makes for these files, written out by hand, and their rows: each
    /// document has a draft row and, once published, a published row of its own, with its own
    /// components, links and media (the published row's links point at the related
    /// documents' published rows).
    static let sql = #"""
        CREATE TABLE articles (id serial PRIMARY KEY, document_id varchar(255), title varchar(255), body text, published_on date, event_at timestamp(6),
            price numeric(10,2), views bigint, ratio double precision, stock integer, featured boolean, meta jsonb, secret_note varchar(255), \#(longColumn) varchar(255),
            created_at timestamp(6), updated_at timestamp(6), published_at timestamp(6), created_by_id integer, updated_by_id integer, locale varchar(255));
        CREATE TABLE articles_cmps (id serial PRIMARY KEY, entity_id integer, cmp_id integer, component_type varchar(255), field varchar(255), "order" double precision);
        CREATE TABLE components_shared_seos (id serial PRIMARY KEY, meta_title varchar(255), meta_description text);
        CREATE TABLE components_shared_links (id serial PRIMARY KEY, label varchar(255), url varchar(255));
        CREATE TABLE components_shared_quotes (id serial PRIMARY KEY, text text, weight integer);
        CREATE TABLE authors (id serial PRIMARY KEY, document_id varchar(255), name varchar(255), email varchar(255), created_at timestamp(6), updated_at timestamp(6),
            published_at timestamp(6), created_by_id integer, updated_by_id integer, locale varchar(255));
        CREATE TABLE tags (id serial PRIMARY KEY, document_id varchar(255), label varchar(255), created_at timestamp(6), updated_at timestamp(6), published_at timestamp(6),
            created_by_id integer, updated_by_id integer, locale varchar(255));
        CREATE TABLE pages (id serial PRIMARY KEY, document_id varchar(255), title varchar(255), created_at timestamp(6), updated_at timestamp(6), published_at timestamp(6),
            created_by_id integer, updated_by_id integer, locale varchar(255));
        CREATE TABLE articles_author_lnk (id serial PRIMARY KEY, article_id integer, author_id integer);
        CREATE TABLE \#(longLink) (id serial PRIMARY KEY, article_id integer, author_id integer);
        CREATE TABLE articles_tags_lnk (id serial PRIMARY KEY, article_id integer, tag_id integer, tag_ord double precision);
        CREATE TABLE files (id serial PRIMARY KEY, document_id varchar(255), name varchar(255), alternative_text varchar(255), caption varchar(255), width integer, height integer,
            formats jsonb, hash varchar(255), ext varchar(255), mime varchar(255), size numeric(10,2), url varchar(255), preview_url varchar(255),
            provider varchar(255), provider_metadata jsonb, folder_path varchar(255), created_at timestamp(6), updated_at timestamp(6), published_at timestamp(6),
            created_by_id integer, updated_by_id integer, locale varchar(255));
        CREATE TABLE files_related_mph (id serial PRIMARY KEY, file_id integer, related_id integer, related_type varchar(255), field varchar(255), "order" double precision);

        INSERT INTO articles VALUES
          (1, 'doc-a', 'Premier (brouillon)', '# Brouillon', '2024-03-01', NULL, 1.00, NULL, NULL, NULL, NULL, NULL, 'draft note', 'draft long',
           '2024-01-02 03:04:05', '2024-01-04 00:00:00', NULL, 1, 1, NULL),
          (2, 'doc-a', 'Premier', '# Titre', '2024-03-05', '2024-03-05 14:07:09.123987', 500.00, 9007199254740993, 0.25, 7, true,
           '{"a": [1, true, null], "b": "x"}', 'not for the index', 'long value', '2024-01-02 03:04:05', '2024-01-02 03:04:05.5', '2024-01-03 00:00:00', 1, 1, NULL),
          (3, 'doc-b', 'Jamais publié', NULL, NULL, NULL, 2.00, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2024-01-05 00:00:00', '2024-01-05 00:00:00', NULL, NULL, NULL, NULL),
          (4, 'doc-c', NULL, NULL, NULL, NULL, 1234.50, NULL, NULL, NULL, false, NULL, NULL, NULL, '2024-02-01 00:00:00', '2024-02-01 00:00:00', '2024-02-01 00:00:00', NULL, NULL, NULL),
          (5, 'doc-c', 'Modifié', NULL, NULL, NULL, 99.00, NULL, 3.5, 2, true, NULL, NULL, NULL, '2024-02-01 00:00:00', '2024-02-09 00:00:00', NULL, NULL, NULL, NULL);
        INSERT INTO components_shared_seos VALUES (1, 'draft seo', NULL), (2, 'SEO title', 'SEO text');
        INSERT INTO components_shared_links VALUES (1, 'second', '/b'), (2, 'first', '/a'), (3, 'draft link', '/d'), (4, 'in a zone', '/z');
        INSERT INTO components_shared_quotes VALUES (1, 'To be', 3);
        INSERT INTO articles_cmps (entity_id, cmp_id, component_type, field, "order") VALUES
          (1, 1, 'shared.seo', 'seo', 1), (1, 3, 'shared.link', 'links', 1),
          (2, 2, 'shared.seo', 'seo', 1), (2, 1, 'shared.link', 'links', 2), (2, 2, 'shared.link', 'links', 1),
          (2, 4, 'shared.link', 'blocks', 2), (2, 1, 'shared.quote', 'blocks', 1);
        INSERT INTO authors VALUES (1, 'auth-1', 'Ada', 'ada@example.invalid', '2023-12-31 23:59:59.999', '2023-12-31 23:59:59.999', '2023-12-31 23:59:59.999', NULL, NULL, NULL),
                                   (2, 'auth-2', 'Grace', NULL, '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', NULL, NULL, NULL);
        INSERT INTO tags VALUES (1, 'tag-1', 'un (brouillon)', '2024-01-01 00:00:00', '2024-01-06 00:00:00', NULL, NULL, NULL, NULL),
                                (2, 'tag-1', 'un', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', NULL, NULL, NULL),
                                (3, 'tag-2', 'deux', '2024-01-01 00:00:00', '2024-01-01 00:00:00', NULL, NULL, NULL, NULL);
        INSERT INTO articles_author_lnk (article_id, author_id) VALUES (1, 1), (2, 1);
        INSERT INTO \#(longLink) (article_id, author_id) VALUES (2, 2);
        INSERT INTO articles_tags_lnk (article_id, tag_id, tag_ord) VALUES (1, 1, 1), (1, 3, 2), (2, 2, 1);
        INSERT INTO files VALUES
          (1, 'file-1', 'cover.jpg', 'A cover', NULL, 800, 600, '{"thumbnail": {"url": "/uploads/thumb_cover.jpg"}}', 'cover_abc', '.jpg', 'image/jpeg', 123.45,
           '/uploads/cover.jpg', NULL, 'local', NULL, '/', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', NULL, NULL, NULL),
          (2, 'file-2', 'a.png', NULL, NULL, 10, 10, NULL, 'a_1', '.png', 'image/png', 10.00, '/uploads/a.png', NULL, 'local', NULL, '/',
           '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-01 00:00:00', NULL, NULL, NULL);
        INSERT INTO files_related_mph (file_id, related_id, related_type, field, "order") VALUES
          (2, 1, 'api::article.article', 'cover', 1),
          (1, 2, 'api::article.article', 'cover', 1), (1, 2, 'api::article.article', 'gallery', 2), (2, 2, 'api::article.article', 'gallery', 1),
          (2, 4, 'api::tag.tag', 'gallery', 1);
        INSERT INTO pages VALUES (1, 'page-1', 'Accueil', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-02 00:00:00', NULL, NULL, 'fr'),
                                 (2, 'page-1', 'Home', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-02 00:00:00', NULL, NULL, 'en'),
                                 (3, 'page-1', 'Accueil (brouillon)', '2024-01-01 00:00:00', '2024-01-03 00:00:00', NULL, NULL, NULL, 'fr'),
                                 (4, 'page-2', 'About', '2024-01-01 00:00:00', '2024-01-01 00:00:00', '2024-01-02 00:00:00', NULL, NULL, 'en');
        INSERT INTO strapi_core_store_settings (key, value, type) VALUES
          ('plugin_meilisearch_meilisearch_indexed_content_types', '["api::article.article","api::page.page"]', 'object'),
          ('plugin_i18n_default_locale', '"fr"', 'string');
        """#

    static let file1 = #"""
        {"id": 1, "documentId": "file-1", "name": "cover.jpg", "alternativeText": "A cover", "caption": null, "width": 800, "height": 600,
         "formats": {"thumbnail": {"url": "/uploads/thumb_cover.jpg"}}, "hash": "cover_abc", "ext": ".jpg", "mime": "image/jpeg",
         "size": 123.45, "url": "/uploads/cover.jpg", "previewUrl": null, "provider": "local", "provider_metadata": null, "folderPath": "/",
         "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z", "publishedAt": "2024-01-01T00:00:00.000Z", "locale": null}
        """#
    static let file2 = #"""
        {"id": 2, "documentId": "file-2", "name": "a.png", "alternativeText": null, "caption": null, "width": 10, "height": 10, "formats": null,
         "hash": "a_1", "ext": ".png", "mime": "image/png", "size": 10, "url": "/uploads/a.png", "previewUrl": null, "provider": "local",
         "provider_metadata": null, "folderPath": "/",
         "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z", "publishedAt": "2024-01-01T00:00:00.000Z", "locale": null}
        """#

    /// The plugin's documents (0.16) for these rows, written by hand from what Strapi v5 and the
    /// plugin do: the published rows only (2 and 4), never the drafts (1, 3, 5), each with its
    /// own components, links and media; the id is `<model>-<documentId>` (no locale: null).
    static let articles = #"""
        [{"id": 2, "documentId": "doc-a", "title": "Premier", "body": "# Titre", "publishedOn": "2024-03-05", "eventAt": "2024-03-05T14:07:09.123Z",
          "price": 500, "views": "9007199254740993", "ratio": 0.25, "stock": 7, "featured": true, "meta": {"a": [1, true, null], "b": "x"},
          "aVeryLongAttributeNameThatStrapiFiveMustShortenForPostgres": "long value",
          "seo": {"id": 2, "metaTitle": "SEO title", "metaDescription": "SEO text"},
          "links": [{"id": 2, "label": "first", "url": "/a"}, {"id": 1, "label": "second", "url": "/b"}],
          "blocks": [{"__component": "shared.quote", "id": 1, "text": "To be", "weight": 3},
                     {"__component": "shared.link", "id": 4, "label": "in a zone", "url": "/z"}],
          "author": {"id": 1, "documentId": "auth-1", "name": "Ada", "email": "ada@example.invalid", "createdAt": "2023-12-31T23:59:59.999Z",
                     "updatedAt": "2023-12-31T23:59:59.999Z", "publishedAt": "2023-12-31T23:59:59.999Z", "locale": null},
          "editorsWhoReviewedThisArticleBeforeItWasPublishedOnline": {"id": 2, "documentId": "auth-2", "name": "Grace", "email": null,
                     "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z", "publishedAt": "2024-01-01T00:00:00.000Z", "locale": null},
          "tags": [{"id": 2, "documentId": "tag-1", "label": "un", "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z",
                    "publishedAt": "2024-01-01T00:00:00.000Z", "locale": null}],
          "cover": \#(file1),
          "gallery": [\#(file2), \#(file1)],
          "createdAt": "2024-01-02T03:04:05.000Z", "updatedAt": "2024-01-02T03:04:05.500Z", "publishedAt": "2024-01-03T00:00:00.000Z", "locale": null,
          "_meilisearch_id": "article-doc-a"},
         {"id": 4, "documentId": "doc-c", "title": null, "body": null, "publishedOn": null, "eventAt": null, "price": 1234.5, "views": null,
          "ratio": null, "stock": null, "featured": false, "meta": null, "aVeryLongAttributeNameThatStrapiFiveMustShortenForPostgres": null,
          "seo": null, "links": [], "blocks": [], "author": null, "editorsWhoReviewedThisArticleBeforeItWasPublishedOnline": null, "tags": [],
          "cover": null, "gallery": null,
          "createdAt": "2024-02-01T00:00:00.000Z", "updatedAt": "2024-02-01T00:00:00.000Z", "publishedAt": "2024-02-01T00:00:00.000Z", "locale": null,
          "_meilisearch_id": "article-doc-c"}]
        """#

    /// The localized pages: the plugin asks for no locale, so the default one (`fr`) is read,
    /// its published row only.
    static let pages = #"""
        [{"id": 1, "documentId": "page-1", "title": "Accueil", "createdAt": "2024-01-01T00:00:00.000Z", "updatedAt": "2024-01-01T00:00:00.000Z",
          "publishedAt": "2024-01-02T00:00:00.000Z", "locale": "fr", "_meilisearch_id": "page-page-1-fr"}]
        """#

    static func make(plugin: String = "0.16.5") async throws -> EntryQueryProject {
        try await EntryQueryProject.make(files: files, sql: sql, strapi: "5.12.3", plugin: plugin)
    }

    static func parsed(_ json: String) throws -> [NSDictionary] {
        try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [NSDictionary])
    }
}

@Suite struct StrapiIdentifiersTests {
    /// Shapes worked out by hand from the rules (`#####` stands for the hash):
    @Test func longNamesAreShortenedAsStrapiV5Does() throws {
        // Fits: kept, with the fixed part's short form.
        #expect(try StrapiIdentifiers.shape([.part("articles"), .part("tags"), .fixed("links", short: "lnk")]).exact == "articles_tags_lnk")
        // 69 characters alone: all 55 for it, its first 50 then the hash.
        let long = "a_very_long_attribute_name_that_strapi_five_must_shorten_for_postgres"
        #expect(try StrapiIdentifiers.shape([.part(long)]).description == String(long.prefix(50)) + "#####")
        // 10 + two of 70, fixed `lnk`, 3 separators: 49 to share, 16 each and 1 left; the short
        // part gives back 6, so 7 go to the long ones a character a round, first one first:
        // 20 and 19, i.e. their first 15 and 14 characters, then a hash.
        let a = String(repeating: "a", count: 70), b = String(repeating: "b", count: 70)
        let shape = try StrapiIdentifiers.shape([.part("short_part"), .part(a), .part(b), .fixed("links", short: "lnk")])
        #expect(shape.description == "short_part_" + String(repeating: "a", count: 15) + "#####_" + String(repeating: "b", count: 14) + "#####_lnk")
        #expect(shape.matches("short_part_" + String(repeating: "a", count: 15) + "0f3a9_" + String(repeating: "b", count: 14) + "77c01_lnk"))
        #expect(!shape.matches("short_part_" + String(repeating: "a", count: 15) + "0F3A9_" + String(repeating: "b", count: 14) + "77c01_lnk"), "Strapi's hex is lower case")
        #expect(!shape.matches("short_part_" + String(repeating: "a", count: 15) + "0f3a_" + String(repeating: "b", count: 14) + "77c01_lnk"))
    }

    /// Strapi's own names for the test project, as Node's shake256 gives them (see
    /// `EntryQueryProjectV5`): the catalog finds exactly them.
    @Test func theCatalogFindsStrapisOwnShortenedNames() throws {
        let catalog = StrapiCatalog(columns: [
            "articles": ["id", EntryQueryProjectV5.longColumn, "a_very_long_attribute_name_that_strapi_five_must_sX1234"],
            EntryQueryProjectV5.longLink: ["id", "article_id", "author_id"],
            "articles_editors_who_reviewed_this_article_bef5fa51_links": [],
        ])
        let column = try catalog.column([.part("a_very_long_attribute_name_that_strapi_five_must_shorten_for_postgres")], of: "articles", for: "test")
        #expect(column == EntryQueryProjectV5.longColumn)
        let link = try catalog.table([.part("articles"), .part("editors_who_reviewed_this_article_before_it_was_published_online"), .fixed("links", short: "lnk")], for: "test")
        #expect(link == EntryQueryProjectV5.longLink)
        #expect(throws: RecetteFailure.self) { try StrapiCatalog(columns: ["articles": []]).column([.part(String(repeating: "x", count: 60))], of: "articles", for: "test") }
    }
}

@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct StrapiEntryQueryV5Tests {
    /// The indexes and catalog as `reindex` resolves them from the database.
    static func definitions(_ project: EntryQueryProject) async throws -> [SearchIndexDefinition] {
        let rows = LibpqRowSource(connectionString: project.url, display: "test")
        let indexes = try ModelSearchIndexes(project: project.files.project)
        let catalog = try await ModelSearchIndexes.catalog(rows)
        #expect(catalog.defaultLocale == "fr")
        let (definitions, unknown) = try indexes.definitions(indexed: try await ModelSearchIndexes.indexedContentTypes(rows), catalog: catalog)
        #expect(unknown.isEmpty)
        return definitions
    }

    @Test func everyDocumentIsThePluginsEntryAsWrittenByHand() async throws {
        let project = try await EntryQueryProjectV5.make()
        let definitions = try await Self.definitions(project)
        #expect(definitions.map(\.uid) == ["article", "page"])
        for (definition, expected) in zip(definitions, [EntryQueryProjectV5.articles, EntryQueryProjectV5.pages]) {
            let documents = try #require(try project.documents(definition.query) as? [NSDictionary])
            StrapiEntryQueryTests.expectSame(documents, try EntryQueryProjectV5.parsed(expected))
        }
    }

    /// The stand-in plugin builds v5's documents its own way (reads per attribute, in Swift):
    /// on the same rows it gives the same hand-written documents.
    @Test func theStrapiStandInGivesTheSameDocuments() async throws {
        let project = try await EntryQueryProjectV5.make()
        let model = try project.files.project.model()
        for (uid, expected) in [("api::article.article", EntryQueryProjectV5.articles), ("api::page.page", EntryQueryProjectV5.pages)] {
            let documents = try StrapiStandIn.documents(model: model, contentType: uid, databaseURL: project.url)
                .map { try #require(try JSONSerialization.jsonObject(with: $0) as? NSDictionary) }
            StrapiEntryQueryTests.expectSame(documents, try EntryQueryProjectV5.parsed(expected))
        }
    }

    /// The `_meilisearch_id` of a localized entry by the installed plugin's version.
    @Test(arguments: [("0.16.5", "page-page-1-fr"), ("^0.16.0", "page-page-1-fr"), ("0.15.2", "page-page-1"), ("0.14.0", "page-1"), (nil, "page-page-1-fr")])
    func theIdFollowsThePluginVersion(plugin: String?, id: String) async throws {
        let project = try await EntryQueryProject.make(files: EntryQueryProjectV5.files, sql: EntryQueryProjectV5.sql, strapi: "5.12.3", plugin: plugin)
        let page = try #require(try await Self.definitions(project).first { $0.uid == "page" })
        let documents = try #require(try project.documents(page.query) as? [NSDictionary])
        #expect(documents.map { $0["_meilisearch_id"] as? String } == [id])
    }

    /// Without the database's catalog a name v5 shortens cannot be known: refused, naming it.
    @Test func aShortenedNameMissingFromTheDatabaseIsRefusedWithTheFix() throws {
        let model = try StrapiProjectFiles(strapi: "5.12.3", plugin: "0.16.5", files: EntryQueryProjectV5.files).project.model()
        let article = try #require(model.contentType("api::article.article"))
        do {
            _ = try StrapiEntryQuery(model: model, contentType: article, catalog: StrapiCatalog(columns: ["articles": ["id", "title"]]))
            Issue.record("a query was generated without the shortened column")
        } catch {
            #expect("\(error)".contains("a_very_long_attribute_name_that_strapi_five_must_s#####") && "\(error)".contains("search.indexes"), "\(error)")
        }
    }

    /// `recette reindex` with no `search.indexes`, on the v5 database: the indexes, the
    /// catalog's shortened names and the default locale read through the target, and each
    /// index holding exactly the hand-written documents under their `_meilisearch_id`.
    @Test(.tags(.slow)) func reindexFromTheModelFillsEachIndexWithTheHandWrittenDocuments() async throws {
        let project = try await EntryQueryProjectV5.make()
        let meilisearch = try MeilisearchStandIn(taskProcessingDelay: .zero)
        defer { meilisearch.stop() }
        let directory = TestEnvironment.newProjectDirectory()
        let environment = TestEnvironment.cliEnvironment.merging([
            "RECETTE_TARGET": "local", "RECETTE_DATABASE": project.database, "RECETTE_STRAPI_PROJECT": project.files.directory.path,
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString, "PLUGIN_MEILISEARCH_API_KEY": meilisearch.masterKey ?? "",
        ]) { $1 }
        let result = try await CLI.run(["reindex", "--project-dir", directory.path, "--no-progress"], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        for (index, expected) in [("article", EntryQueryProjectV5.articles), ("page", EntryQueryProjectV5.pages)] {
            let wanted = try EntryQueryProjectV5.parsed(expected)
            let ids = wanted.compactMap { $0["_meilisearch_id"] as? String }
            #expect(Set(meilisearch.documentIDs(in: index)) == Set(ids), "\(index)")
            StrapiEntryQueryTests.expectSame(ids.map { (meilisearch.document($0, in: index) ?? [:]) as NSDictionary }, wanted)
        }
    }
}
