import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The v5 sample (`sample-backup --strapi 5`) at a size past one batch, built, restored once
/// per run (prepare phase included, with a new admin to let in) into `sample_v5_base`; each
/// test works on its own copy.
actor SampleV5Database {
    static let shared = SampleV5Database()
    static let offers = 3_000
    static let housing = 800
    static let adminEmail = "dev@local.test"
    private var building: Task<SampleBackup, any Error>?

    /// The built backup (its expected counts).
    func backup() async throws -> SampleBackup {
        if building == nil {
            building = Task {
                let (_, _) = try await TestEnvironment.startedCluster()
                let context = try TestEnvironment.machineContext()
                let builder = SampleBackupBuilder(context: context, offers: Self.offers, housingAds: Self.housing, appName: "sample-v5-tests", strapiMajor: 5)
                let sample = try await builder.build(into: TestEnvironment.clusterDirectory.appendingPathComponent("sample-v5-backups"))
                let environment = TestEnvironment.cliEnvironment.merging(["RECETTE_DATABASE": "sample_v5_base", "STRAPI_ADMIN_EMAIL": Self.adminEmail,
                                                                                    "STRAPI_ADMIN_PASSWORD": "Recette-Dev-Password-1"]) { $1 }
                let result = try await CLI.run(["restore", sample.archive.path, "--target", "local", "--no-progress"], environment: environment)
                guard result.status == 0 else { throw RecetteFailure("restoring the v5 sample failed: \(result.standardError)") }
                return sample
            }
        }
        return try await building!.value
    }

    /// A fresh copy of the restored sample; returns its name and URL.
    func copy() async throws -> (name: String, url: String) {
        _ = try await backup()
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let name = "sample_v5_\(UUID().uuidString.prefix(8).lowercased())"
        try PostgresConnection(url: cluster.url(database: "postgres", port: port)).execute("CREATE DATABASE \(name) TEMPLATE sample_v5_base")
        return (name, cluster.url(database: name, port: port))
    }
}

@Suite(.serialized, .tags(.postgres, .slow), .skippedInUnitLane) struct SampleV5Tests {
    /// The restored v5 sample has exactly the rows `expectedRowCountsAfterPrepare` says (and the
    /// admin the prepare phase added, linked to the super admin role through v5's `_lnk` with
    /// its `_ord`), v5's names, and one published row per published document beside its draft.
    @Test func theV5SampleRestoresWithItsExactCountsAndV5Shape() async throws {
        let backup = try await SampleV5Database.shared.backup()
        let (_, url) = try await SampleV5Database.shared.copy()
        let connection = try PostgresConnection(url: url)
        let tables = try connection.query("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'").column("table_name").compactMap { $0 }
        var counts = backup.expectedRowCountsAfterPrepare
        #expect(Set(tables) == Set(counts.keys))
        counts["admin_users", default: 0] += 1
        counts["admin_users_roles_lnk", default: 0] += 1
        let admin = try connection.query("""
            SELECT length(u.document_id), l.user_ord, u.published_at IS NOT NULL FROM admin_users u JOIN admin_users_roles_lnk l ON l.user_id = u.id
            JOIN admin_roles r ON r.id = l.role_id AND r.code = 'strapi-super-admin' WHERE u.email = \(PostgresConnection.quoteLiteral(SampleV5Database.adminEmail))
            """).rows
        #expect(admin.count == 1 && admin.first?[0] == "24" && admin.first?[1] == "2" && admin.first?[2] == "t", "\(admin)")
        for (table, expected) in counts {
            #expect(Int(try connection.query("SELECT count(*) FROM \(PostgresConnection.quoteIdentifier(table))").scalar ?? "") == expected, "\(table)")
        }
        for (table, expected) in backup.expectedPublishedCounts {
            #expect(Int(try connection.query("SELECT count(*) FROM \(table) WHERE published_at IS NOT NULL").scalar ?? "") == expected, "\(table) published")
            // Every document: one draft row, and at most one published row.
            let shape = try connection.query("""
                SELECT count(DISTINCT document_id), count(*) FILTER (WHERE published_at IS NULL),
                  count(*) FILTER (WHERE document_id !~ '^[a-z][a-z0-9]{23}$' OR locale IS NOT NULL)
                FROM \(table)
                """).rows.first ?? []
            #expect(shape.count == 3 && shape[0] == shape[1] && shape[2] == "0", "\(table): \(shape)")
        }
        // The published row has components of its own (not the draft's).
        let shared = try connection.query("""
            SELECT count(*) FROM offres_de_stage_cmps p JOIN offres_de_stage o ON o.id = p.entity_id AND o.published_at IS NOT NULL
            JOIN offres_de_stage_cmps d ON d.cmp_id = p.cmp_id AND d.component_type = p.component_type AND d.entity_id <> p.entity_id
            """).scalar
        #expect(shared == "0")
    }

    /// The acceptance on the v5 sample: with only its v5 CMS source, `recette reindex` gives
    /// each index exactly the published documents (`<model>-<documentId>`), each equal to the
    /// stand-in plugin's, in batches of 0.25 MiB (many per index).
    @Test func reindexFromTheV5ModelGivesThePluginsDocumentsForEveryPublishedDocument() async throws {
        let (database, url) = try await SampleV5Database.shared.copy()
        try await ModelReindexTests.expectReindexGivesThePluginsDocuments(database: database, url: url, strapiMajor: 5,
                                                                          extraEnvironment: ["RECETTE_SEARCH_BATCH_MB": "0.25"])
    }

    /// The v5 CMS source names Strapi 5 and a plugin whose ids are the documents'.
    @Test func theV5SourceNamesStrapi5AndThePlugin() throws {
        let directory = TestEnvironment.newProjectDirectory()
        try SampleCMSSource.write(into: directory, strapiMajor: 5)
        let model = try StrapiProject(directory: directory).model()
        #expect(model.strapiMajor == 5 && model.strapiVersion == SampleCMSSource.strapi5Version)
        #expect(model.meilisearchPluginVersion == SampleCMSSource.strapi5MeilisearchPluginVersion)
        #expect(SampleCMSSource.files(strapiMajor: 4) == SampleCMSSource.files, "v4 stays the default")
    }

    @Test func onlyStrapi4And5AreAccepted() async throws {
        let result = try await CLI.run(["sample-backup", "--strapi", "3", "--dry-run"])
        #expect(result.status != 0)
        #expect(result.standardError.contains("--strapi 3 is not a Strapi major recette builds a sample for: give 4 or 5"), "\(result.standardError)")
        let dryRun = try await CLI.run(["sample-backup", "--strapi", "5", "--dry-run"])
        #expect(dryRun.status == 0 && dryRun.standardOutput.contains("would build a Strapi v5-shaped sample database"), "\(dryRun.standardError)")
    }
}

/// The sample source's transform example (`recette/transform.js` with
/// `recette/plugins.example.js`) run by `recette reindex` on the v4 sample.
@Suite(.serialized, .tags(.postgres, .slow), .skippedInUnitLane) struct SampleTransformExampleTests {
    @Test func theExampleTransformLabelsEveryOffer() async throws {
        let meilisearch = try MeilisearchStandIn(taskProcessingDelay: .zero)
        defer { meilisearch.stop() }
        let (database, url) = try await SearchSampleDatabase.shared.copy()
        let project = TestEnvironment.newProjectDirectory()
        let source = project.appendingPathComponent("cms")
        try SampleCMSSource.write(into: source)
        // A transform needs a search.indexes entry: the model's own query for the offers.
        let model = try ModelSearchIndexes(project: StrapiProject(directory: source))
        let query = try #require(try model.definitions(indexed: [StrapiStandIn.ContentType.offers.uid]).indexes.first?.query)
        let index = SampleCMSSource.transformExampleIndex
        let configuration: [String: Any] = ["search": ["indexes": [[
            "uid": index, "query": query, "transform": ["node", "cms/recette/transform.js", index],
        ]]]]
        // JSON is YAML.
        try JSONSerialization.data(withJSONObject: configuration).write(to: project.appendingPathComponent("recette.yml"))
        let environment = TestEnvironment.cliEnvironment.merging([
            "RECETTE_TARGET": "local", "RECETTE_DATABASE": database, "STRAPI_PLUGINS_JS": "cms/recette/plugins.example.js",
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString, "PLUGIN_MEILISEARCH_API_KEY": meilisearch.masterKey ?? "",
        ]) { $1 }
        let result = try await CLI.run(["reindex", "--project-dir", project.path, "--no-progress"], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")

        // What the example's transformEntry gives, worked out here: the entry and its label.
        let rows = try PostgresConnection(url: url).query("SELECT row_to_json(d)::text FROM (\n\(query)\n) d").column("row_to_json")
        let entries = try rows.map { try #require(try JSONSerialization.jsonObject(with: Data(($0 ?? "").utf8)) as? [String: Any]) }
        #expect(entries.count > 20_000)
        #expect(meilisearch.documentIDs(in: index).count == entries.count)
        var differing: [String] = []
        for entry in entries {
            let id = entry["_meilisearch_id"] as? String ?? "?"
            let parts = [entry["title"] as? String, (entry["entreprise"] as? [String: Any])?["nom"] as? String,
                         (entry["localisation"] as? [String: Any])?["ville"] as? String].compactMap { $0 }.filter { !$0.isEmpty }
            var expected = entry
            expected[SampleCMSSource.transformExampleField] = parts.joined(separator: " · ")
            if (meilisearch.document(id, in: index) as NSDictionary?) != (expected as NSDictionary) { differing.append(id) }
        }
        #expect(differing.isEmpty, "\(differing.count) documents are not the transform's, e.g. \(differing.first.map { "\(meilisearch.document($0, in: index) ?? [:])" } ?? "")")
    }
}
