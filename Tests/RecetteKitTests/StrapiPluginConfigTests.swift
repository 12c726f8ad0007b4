import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The Meilisearch plugin's config read from the CMS source's `config/plugins.js` with the real
/// `node`, and what the model's indexes take from it.
@Suite struct StrapiPluginConfigTests {
    /// A team's config as Strapi v4 projects write it: a function of `{ env }`, the plugin's
    /// host and key beside the content types, Strapi's env helpers, a console.log.
    static let teamConfig = """
        module.exports = ({ env }) => {
          console.log('loading plugins');
          return {
            meilisearch: {
              enabled: true,
              config: {
                host: env('MEILI_HOST', 'http://localhost:7700'),
                apiKey: env('MEILI_MASTER_KEY', 'none'),
                'offre-de-stage': {
                  indexName: env('OFFRES_INDEX', 'offres'),
                  entriesQuery: { limit: env.int('MEILI_BATCH', 1000) },
                  settings: { filterableAttributes: env.array('OFFRES_FILTERS', ['domaine']), searchableAttributes: ['title'], pagination: { maxTotalHits: env.int('HITS', 5000) } },
                  transformEntry({ entry }) { return { ...entry, label: entry.title }; },
                },
                'annonce-de-logement': { filterEntry: ({ entry }) => entry.id > 1, entriesQuery: { fields: ['title'], filters: { id: 1 } } },
              },
            },
          };
        };
        """

    static func project(config: String?, at path: String = "config/plugins.js") throws -> StrapiProject {
        let directory = TestEnvironment.newProjectDirectory().appendingPathComponent("cms")
        try SampleCMSSource.write(into: directory)
        if let config {
            let file = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try config.write(to: file, atomically: true, encoding: .utf8)
        }
        return StrapiProject(directory: directory)
    }

    static func read(_ project: StrapiProject, environment: [String: String] = [:], timeout: Duration = StrapiPluginConfig.timeout,
                     logs: LogCapture = LogCapture()) async throws -> StrapiPluginConfig? {
        try await StrapiPluginConfig.read(project, runner: SubprocessRunner(baseEnvironment: TestEnvironment.cliEnvironment.merging(environment) { $1 }),
                                          logger: logs.logger(), timeout: timeout)
    }

    @Test func nodeReadsEachContentTypesIndexNameSettingsFunctionsAndQuery() async throws {
        let project = try Self.project(config: Self.teamConfig)
        let config = try #require(try await Self.read(project, environment: ["OFFRES_FILTERS": #"[domaine, "localisation.region"]"#, "HITS": "20000"]))
        #expect(config.file == "config/plugins.js")
        #expect(Set(config.contentTypes.keys) == ["offre-de-stage", "annonce-de-logement"], "host and apiKey are not content types")
        let offers = try #require(config.contentTypes["offre-de-stage"])
        #expect(offers.indexName == "offres" && offers.transformEntry && !offers.filterEntry)
        #expect(offers.entriesQuery == #"{"limit":1000}"#)
        let settings = try #require(config.settings(contentType: "offre-de-stage").flatMap { try JSONSerialization.jsonObject(with: $0) as? [String: Any] })
        #expect(settings["filterableAttributes"] as? [String] == ["domaine", "localisation.region"], "env.array as Strapi's: brackets, spaces and quotes trimmed")
        #expect((settings["pagination"] as? [String: Any])?["maxTotalHits"] as? Int == 20000, "env.int parses")
        let ads = try #require(config.contentTypes["annonce-de-logement"])
        #expect(ads.indexName == nil && ads.filterEntry && !ads.transformEntry && ads.settings == nil)
    }

    @Test func theModelsIndexesTakeTheConfiguredUidAndSettingsAndTheRestIsWarned() async throws {
        let project = try Self.project(config: Self.teamConfig)
        var model = try ModelSearchIndexes(project: project)
        model.pluginConfig = try await Self.read(project)
        let config = try #require(model.pluginConfig)
        let (indexes, _) = try model.definitions(indexed: ["api::offre-de-stage.offre-de-stage", "api::annonce-de-logement.annonce-de-logement"])
        #expect(indexes.map(\.uid) == ["offres", "annonce-de-logement"])
        let logs = LogCapture()
        let offers = config.applied(to: indexes[0], contentType: "offre-de-stage", logger: logs.logger())
        #expect(offers.settingsJSON.flatMap { String(decoding: $0, as: UTF8.self) }?.contains(#""searchableAttributes":["title"]"#) == true)
        #expect(offers.settingsOrigin == "config/plugins.js")
        #expect(logs.text.contains("index offres: config/plugins.js gives offre-de-stage a transformEntry"), "\(logs.text)")
        #expect(config.applied(to: indexes[1], contentType: "annonce-de-logement", logger: logs.logger()).settingsJSON == nil)
        var ownSettings = indexes[0]
        ownSettings.settingsJSON = Data(#"{"searchableAttributes":["*"]}"#.utf8)
        #expect(config.applied(to: ownSettings, contentType: "offre-de-stage", logger: logs.logger()).settingsJSON == ownSettings.settingsJSON,
                "recette.yml's settings win")
        #expect(indexes[0].query.contains("'offre-de-stage-' ||"), "the _meilisearch_id keeps the model name, as the plugin's prefix")
        #expect(config.warnings(contentType: "offre-de-stage", index: indexes[0]) == [
            #"index offres: config/plugins.js gives offre-de-stage a transformEntry, which recette does not run: its documents will lack the project's transform; give the index a transform command in search.indexes of recette.yml (README: "A project's own transform")"#,
        ])
        #expect(config.warnings(contentType: "annonce-de-logement", index: indexes[1]) == [
            #"index annonce-de-logement: config/plugins.js gives annonce-de-logement a filterEntry, which recette does not run: its documents will lack the project's filter; give the index a transform command in search.indexes of recette.yml (README: "A project's own transform")"#,
            "index annonce-de-logement: config/plugins.js gives annonce-de-logement an entriesQuery with fields, filters, which recette's generated query does not apply (it reads fields '*' and populate '*'): give the index a query in search.indexes of recette.yml",
        ])
        var transformed = indexes[0]
        transformed.transform = ["node", "scripts/recette-transform.js", "offre-de-stage"]
        #expect(config.warnings(contentType: "offre-de-stage", index: transformed).isEmpty, "an index with a transform command runs the project's own")
    }

    @Test func withoutAConfigFileTheIndexesAreNamedAfterTheModelAsBefore() async throws {
        let project = try Self.project(config: nil)
        #expect(StrapiPluginConfig.locate(project) == .none)
        // A runner that fails closed: no node runs without a config.
        let config = try await StrapiPluginConfig.read(project, runner: FailClosedRunner(), logger: LogCapture().logger())
        #expect(config == nil)
        let (indexes, _) = try ModelSearchIndexes(project: project).definitions(indexed: ["api::offre-de-stage.offre-de-stage"])
        #expect(indexes.map(\.uid) == ["offre-de-stage"] && indexes[0].settingsJSON == nil)
    }

    @Test func aConfigThatThrowsIsAOneLineErrorWithNodesMessage() async throws {
        let project = try Self.project(config: """
            module.exports = ({ env }) => {
              if (!env('MEILI_HOST')) throw new Error('MEILI_HOST is not set');
              return {};
            };
            """)
        await #expect {
            try await Self.read(project)
        } throws: { error in
            "\(error)" == "the CMS source's config/plugins.js cannot be loaded: MEILI_HOST is not set — fix it (Strapi would not start either), or give the indexes in search.indexes of recette.yml"
        }
        let syntax = try Self.project(config: "module.exports = ({ env }) => ({ meilisearch: { config: { 'offre-de-stage': { indexName: } } } });")
        await #expect {
            try await Self.read(syntax)
        } throws: { error in
            "\(error)".hasPrefix("the CMS source's config/plugins.js cannot be loaded: Unexpected token") && !"\(error)".contains("\n")
        }
    }

    @Test func aTypeScriptConfigIsReadFromItsBuildOrSaidUnreadable() async throws {
        let project = try Self.project(config: "export default ({ env }) => ({});", at: "config/plugins.ts")
        let logs = LogCapture()
        #expect(try await Self.read(project, logs: logs) == nil)
        #expect(logs.text.contains("config/plugins.ts is TypeScript, which recette does not compile") && logs.text.contains("npm run build writes dist/config/plugins.js"), "\(logs.text)")
        // What `tsc` makes of `export default`: the function under `default`, `__esModule` set.
        let built = project.directory.appendingPathComponent("dist/config/plugins.js")
        try FileManager.default.createDirectory(at: built.deletingLastPathComponent(), withIntermediateDirectories: true)
        try """
            "use strict";
            Object.defineProperty(exports, "__esModule", { value: true });
            exports.default = ({ env }) => ({ meilisearch: { config: { 'offre-de-stage': { indexName: 'offres_ts' } } } });
            """.write(to: built, atomically: true, encoding: .utf8)
        let config = try #require(try await Self.read(project))
        #expect(config.file == "dist/config/plugins.js" && config.contentTypes["offre-de-stage"]?.indexName == "offres_ts")
    }

    @Test func aConfigThatNeverReturnsIsStoppedAtTheDeadline() async throws {
        let project = try Self.project(config: "setInterval(() => {}, 1000); module.exports = () => { const end = Date.now() + 600000; while (Date.now() < end) {} };")
        let clock = ContinuousClock()
        let started = clock.now
        await #expect {
            try await Self.read(project, timeout: .seconds(2))
        } throws: { error in
            "\(error)".hasPrefix("node did not finish loading config/plugins.js of the CMS source within 2 s")
        }
        #expect(clock.now - started < .seconds(60), "the deadline, not the loop's 600 s")
    }
}

/// `recette reindex` and `recette doctor` on the sample with a plugin config (no search.indexes).
@Suite(.serialized, .tags(.postgres, .slow), .skippedInUnitLane) struct PluginConfigReindexTests {
    @Test func reindexUsesTheConfiguredUidAndSettingsAndWarnsOfTheTransform() async throws {
        let meilisearch = try MeilisearchStandIn(taskProcessingDelay: .zero)
        defer { meilisearch.stop() }
        let (database, _) = try await SearchSampleDatabase.shared.copy()
        let project = TestEnvironment.newProjectDirectory()
        let source = try StrapiPluginConfigTests.project(config: StrapiPluginConfigTests.teamConfig).directory
        let environment = TestEnvironment.cliEnvironment.merging([
            "RECETTE_TARGET": "local", "RECETTE_DATABASE": database, "RECETTE_STRAPI_PROJECT": source.path,
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString, "PLUGIN_MEILISEARCH_API_KEY": meilisearch.masterKey ?? "",
            "OFFRES_FILTERS": "domaine,localisation.region",
        ]) { $1 }
        let warning = #"index offres: config/plugins.js gives offre-de-stage a transformEntry, which recette does not run: its documents will lack the project's transform"#

        let result = try await CLI.run(["reindex", "--index", "offres", "--project-dir", project.path, "--no-progress"], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains(warning), "\(result.standardError)")
        #expect(meilisearch.indexUIDs() == ["offres"], "the configured uid, not the model name")
        #expect(result.standardOutput.contains("settings from config/plugins.js"), "\(result.standardOutput)")
        let settings = try #require(meilisearch.settings(of: "offres").flatMap { try JSONSerialization.jsonObject(with: $0) as? [String: Any] })
        #expect(settings["filterableAttributes"] as? [String] == ["domaine", "localisation.region"], "\(settings)")
        #expect(settings["searchableAttributes"] as? [String] == ["title"], "\(settings)")
        #expect(meilisearch.documentIDs(in: "offres").allSatisfy { $0.hasPrefix("offre-de-stage-") })

        let status = try await CLI.run(["search", "status", "--index", "offres", "--project-dir", project.path], environment: environment)
        #expect(status.status == 0, "the same uid for status: \(status.standardOutput)\(status.standardError)")

        let doctor = try await CLI.run(["doctor", "--project-dir", project.path], environment: environment)
        #expect(doctor.standardOutput.contains("plugin config"), "\(doctor.standardOutput)")
        #expect(doctor.standardOutput.contains("offre-de-stage (index offres, settings, transformEntry, entriesQuery)"), "\(doctor.standardOutput)")
        #expect(doctor.standardOutput.contains(warning), "\(doctor.standardOutput)")
    }

    @Test func aConfigThatThrowsStopsTheReindexBeforeAnyIndexIsTouched() async throws {
        let meilisearch = try MeilisearchStandIn(taskProcessingDelay: .zero)
        defer { meilisearch.stop() }
        let (database, _) = try await SearchSampleDatabase.shared.copy()
        let source = try StrapiPluginConfigTests.project(config: "module.exports = () => { throw new Error('MEILI_HOST is not set'); };").directory
        let environment = TestEnvironment.cliEnvironment.merging([
            "RECETTE_TARGET": "local", "RECETTE_DATABASE": database, "RECETTE_STRAPI_PROJECT": source.path,
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString, "PLUGIN_MEILISEARCH_API_KEY": meilisearch.masterKey ?? "",
        ]) { $1 }
        let result = try await CLI.run(["reindex", "--project-dir", TestEnvironment.newProjectDirectory().path, "--no-progress"], environment: environment)
        #expect(result.status == 1)
        #expect(result.lastErrorLine == "error: the CMS source's config/plugins.js cannot be loaded: MEILI_HOST is not set — fix it (Strapi would not start either), or give the indexes in search.indexes of recette.yml",
                "\(result.standardError)")
        #expect(meilisearch.indexUIDs().isEmpty)
    }
}
