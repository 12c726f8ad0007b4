import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// Strapi's boot sync rules on hand-made states (see `StrapiSchemaChanges`).
@Suite struct StrapiSchemaGuardUnitTests {
    let expected = StrapiSchema(tables: [
        StrapiTable(name: "articles", columns: ["id", "titre", "resume"], origin: "api::article.article"),
        StrapiTable(name: "articles_components", columns: ["id", "entity_id", "component_id", "component_type", "field", "order"], origin: "c"),
        StrapiTable(name: "files_related_morphs", columns: ["id", "file_id", "related_id", "related_type", "field", "order"], origin: "media"),
    ])

    @Test func onlyWhatStrapiTrackedAndTheCodeLostIsDropped() {
        let database = StrapiDatabaseState(tables: [
            "articles": ["id", "titre", "ancien", "ajout_manuel"],          // ancien tracked, ajout_manuel not
            "articles_components": ["id", "entity_id", "component_id", "component_type", "field", "order"],
            "pages": ["id", "titre"],                                       // tracked, gone from the code
            "ma_table": ["id"],                                             // never tracked: a team's own
            "admin_users": ["id", "email"], "up_users": ["id"], "strapi_webhooks": ["id"], "i18n_locale": ["id"],
            "files": ["id"], "upload_folders": ["id"], "strapi_database_schema": ["id", "schema"],
            "audit_logs": ["id"],                                           // kept by core_persisted_tables
        ], tracked: [
            "articles": ["id", "titre", "ancien"], "articles_components": [], "pages": ["id", "titre"],
            "admin_users": ["id", "email"], "up_users": ["id"], "strapi_webhooks": ["id"], "i18n_locale": ["id"],
            "files": ["id"], "upload_folders": ["id"], "strapi_database_schema": ["id"], "audit_logs": ["id"],
        ], persistedTables: ["audit_logs"])
        let changes = StrapiSchemaGuard.changes(expected: expected, database: database)
        #expect(changes.droppedTables == ["pages"])
        #expect(changes.droppedColumns == ["articles.ancien"])
        #expect(changes.addedTables == ["files_related_morphs"])
        #expect(changes.addedColumns == ["articles.resume"])
        #expect(changes.dropsSomething && changes.tracked)
        #expect(changes.lines == ["would DROP table pages", "would DROP column articles.ancien",
                                  "would ADD table files_related_morphs", "would ADD column articles.resume"])
    }

    /// Strapi v5 names what passes 55 characters by a shortened form with a hash
    /// (`EntryQueryProjectV5`'s two names, as Strapi's own function gives them): the guard finds
    /// them under that form, so a v5 copy is not reported as losing them, and still finds a real
    /// drop and a missing long name.
    @Test func onV5TheShortenedNamesAreTheDatabasesOwn() throws {
        let files = try StrapiProjectFiles(strapi: "5.12.3", plugin: "0.16.5", files: EntryQueryProjectV5.files)
        let expected = StrapiSchema.expected(by: try files.project.model())
        #expect(expected.shortensNames)
        let longColumn = "a_very_long_attribute_name_that_strapi_five_must_shorten_for_postgres"
        let longLink = "articles_editors_who_reviewed_this_article_before_it_was_published_online_lnk"
        var tables: [String: [String]] = [:]
        for table in expected.tables {
            let name = table.name == longLink ? EntryQueryProjectV5.longLink : table.name
            tables[name] = table.columns.map { $0 == longColumn ? EntryQueryProjectV5.longColumn : $0 }
        }
        #expect(tables[EntryQueryProjectV5.longLink] != nil && tables["articles"]?.contains(EntryQueryProjectV5.longColumn) == true)
        let same = StrapiSchemaGuard.changes(expected: expected, database: StrapiDatabaseState(tables: tables, tracked: tables))
        #expect(same.lines == ["nothing to drop or add: the database matches the CMS source"], "\(same.lines)")

        // A stale long column (an attribute renamed) is dropped; a missing long table is added,
        // shown with its hash as #####.
        var changed = tables
        changed["articles"]?.append("a_very_long_attribute_name_that_strapi_five_was_ren0a1b2")
        changed[EntryQueryProjectV5.longLink] = nil
        let changes = StrapiSchemaGuard.changes(expected: expected, database: StrapiDatabaseState(tables: changed, tracked: changed))
        #expect(changes.droppedColumns == ["articles.a_very_long_attribute_name_that_strapi_five_was_ren0a1b2"])
        #expect(changes.addedTables == ["articles_editors_who_reviewed_this_article_bef#####_lnk"])
        #expect(changes.droppedTables.isEmpty && changes.addedColumns.isEmpty)
    }

    @Test func withoutATrackedSchemaStrapiDropsNothing() {
        let database = StrapiDatabaseState(tables: ["articles": ["id", "titre", "ancien"], "pages": ["id"]], tracked: nil)
        let changes = StrapiSchemaGuard.changes(expected: expected, database: database)
        #expect(!changes.dropsSomething && !changes.tracked)
        #expect(changes.lines.last == "no strapi_database_schema row: Strapi tracked nothing, so it drops nothing")
    }

    @Test func theTrackedSchemaIsReadAsStrapiWritesIt() throws {
        let object = #"{"tables": [{"name": "articles", "indexes": [], "foreignKeys": [], "columns": [{"name": "id", "type": "increments", "args": [{"primary": true}], "notNullable": true}, {"name": "titre", "type": "string"}]}]}"#
        #expect(try StrapiSchemaGuard.trackedTables(fromSchemaJSON: object) == ["articles": ["id", "titre"]])
        // Stored as a JSON string holding the JSON (a json column written with JSON.stringify).
        let wrapped = String(data: try JSONEncoder().encode(object), encoding: .utf8)!
        #expect(try StrapiSchemaGuard.trackedTables(fromSchemaJSON: wrapped) == ["articles": ["id", "titre"]])
        #expect(throws: RecetteFailure.self) { try StrapiSchemaGuard.trackedTables(fromSchemaJSON: #"{"tabels": []}"#) }
    }
}

/// The guard on a restored sample, against the CMS source `sample-backup` writes.
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct StrapiSchemaGuardIntegrationTests {
    static let database = "strapi_guard"

    /// The sample restored once into `strapi_guard`, and its CMS source written.
    static let restored = Task<(url: String, source: URL), any Error> {
        let sample = try await SampleCache.shared.sample()
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let url = cluster.url(database: database, port: port)
        let result = try await CLI.run(["restore", sample.archive.path, "--target-url", url, "--yes", "--drop-previous", "--no-pristine", "--quiet"])
        guard result.status == 0 else { throw RecetteFailure("restore failed: \(result.standardError)") }
        let source = TestEnvironment.newProjectDirectory().appendingPathComponent("cms")
        try SampleCMSSource.write(into: source)
        return (url, source)
    }

    @Test func theGuardListsExactlyThePlantedDropAndAddition() async throws {
        let (url, source) = try await Self.restored.value
        let state = try StrapiSchemaGuard.read(try PostgresConnection(url: url))
        // The sample carries the row Strapi writes, covering every table it made.
        let tracked = try #require(state.tracked)
        #expect(Set(tracked.keys) == Set(SampleDatabaseSQL.tableNames))
        #expect(tracked["annonces_de_logement"]?.contains("slug") == true)

        let (model, changes) = try await StrapiSchemaGuard.check(project: StrapiProject(directory: source), connectionString: url)
        #expect(model.strapiMajor == 4 && model.strapiVersion == SampleCMSSource.strapiVersion && model.meilisearchPluginVersion == "0.12.0")
        #expect(changes.droppedTables == [])
        #expect(changes.droppedColumns == [SampleCMSSource.plantedDrop])
        #expect(changes.addedTables == [SampleCMSSource.plantedAddition])
        #expect(changes.addedColumns == [])
    }

    @Test func sampleBackupWritesTheSourceThatStrapiCheckReadsOnTheLocalTarget() async throws {
        _ = try await TestEnvironment.startedCluster()
        let output = TestEnvironment.newProjectDirectory().appendingPathComponent("out")
        let built = try await CLI.run(["sample-backup", "--offers", "20", "--housing", "10", "--app", "guard-cli", "--output", output.path, "--quiet"])
        #expect(built.status == 0, "\(built.standardError)")
        let source = output.appendingPathComponent("guard-cli-cms")
        for (path, text) in SampleCMSSource.files {
            #expect(try String(contentsOf: source.appendingPathComponent(path), encoding: .utf8) == text, "\(path)")
        }
        var environment = TestEnvironment.cliEnvironment
        environment["RECETTE_DATABASE"] = "strapi_guard_cli"
        environment["RECETTE_STRAPI_PROJECT"] = source.path
        let archive = built.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        let restored = try await CLI.run(["restore", archive, "--quiet", "--no-pristine"], environment: environment)
        #expect(restored.status == 0, "\(restored.standardError)")
        let checked = try await CLI.run(["strapi", "check", "--target", "local"], environment: environment)
        #expect(checked.status == 1, "\(checked.standardOutput)\(checked.standardError)")
        let listed = checked.standardOutput.split(separator: "\n").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(listed == ["would DROP column annonces_de_logement.slug", "would ADD table evenements"], "\(checked.standardOutput)")
    }

    @Test func strapiCheckWithoutASourceSaysWhereToPointIt() async throws {
        let result = try await CLI.run(["strapi", "check"])
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").last
                == "error: no Strapi project to check: set strapi.project in recette.yml (or RECETTE_STRAPI_PROJECT) to the CMS's source, the directory holding package.json and src/api",
                "\(result.standardError)")
    }

    @Test func strapiCheckPrintsTheListAndExitsOneOnADrop() async throws {
        let (url, source) = try await Self.restored.value
        var environment = TestEnvironment.cliEnvironment
        environment["RECETTE_TARGET"] = "url"
        environment["DATABASE_URL"] = url
        environment["RECETTE_STRAPI_PROJECT"] = source.path
        let result = try await CLI.run(["strapi", "check"], environment: environment)
        #expect(result.status == 1, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("would DROP column annonces_de_logement.slug"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("would ADD table evenements"), "\(result.standardOutput)")
        let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("Strapi's boot sync would drop column annonces_de_logement.slug"), "\(result.standardError)")
        #expect(last.contains("check out the branch that matches recette, or pass --allow-schema-drops"), "\(result.standardError)")

        // The source put back in line with the database: nothing to drop, exit 0.
        try SampleCMSSource.write(into: source)
        let fixed = source.appendingPathComponent("src/api/annonce-de-logement/content-types/annonce-de-logement/schema.json")
        let text = try String(contentsOf: fixed, encoding: .utf8)
        try text.replacingOccurrences(of: #""meuble": {"type": "boolean"},"#, with: #""meuble": {"type": "boolean"}, "slug": {"type": "uid", "targetField": "titre"},"#)
            .write(to: fixed, atomically: true, encoding: .utf8)
        defer { try? SampleCMSSource.write(into: source) }
        let clean = try await CLI.run(["strapi", "check"], environment: environment)
        #expect(clean.status == 0, "\(clean.standardOutput)\(clean.standardError)")
        #expect(!clean.standardOutput.contains("DROP") && clean.standardOutput.contains("would ADD table evenements"), "\(clean.standardOutput)")
    }

    /// A compose project whose CMS would start: its compose file, the guard's database, the
    /// sample's source, and a health URL that answers.
    struct CMSProject {
        let directory = TestEnvironment.newProjectDirectory()
        let health: LoopbackHTTPServer

        init() throws {
            health = try LoopbackHTTPServer { request in request.path == "/_health" ? .text(204, "") : .text(404, "not found") }
            let compose = directory.appendingPathComponent("compose/compose.yaml")
            try FileManager.default.createDirectory(at: compose.deletingLastPathComponent(), withIntermediateDirectories: true)
            try "services: {}\n".write(to: compose, atomically: true, encoding: .utf8)
        }

        func context(allowing: Bool, runner: any ProcessRunning, database: String? = nil) async throws -> (RecetteContext, PopulateOptions) {
            let (url, source) = try await StrapiSchemaGuardIntegrationTests.restored.value
            let context = try TestEnvironment.context(projectDirectory: directory, environment: [
                "RECETTE_TARGET": "compose", "RECETTE_SEARCH_DATABASE_URL": database ?? url, "RECETTE_STRAPI_PROJECT": source.path,
                "RECETTE_CMS_HEALTH_URL": health.baseURL.appendingPathComponent("_health").absoluteString, "RECETTE_CMS_TIMEOUT": "20",
            ], runner: runner, http: URLSessionTransport())
            var options = PopulateOptions()
            options.only = .cms
            options.allowSchemaDrops = allowing
            return (context, options)
        }

        /// The cms step alone on a runner that fails closed: its step record, and whether any
        /// command (docker compose up) ran.
        func refusedCMSStep(database: String? = nil) async throws -> (record: PopulateStepRecord, commands: [Command]) {
            let refusing = ScriptedRunner([:])
            let (context, options) = try await context(allowing: false, runner: refusing, database: database)
            let report = await Populate(context: context, options: options).run { _ in }
            return (try #require(report.steps.first { $0.step == .cms }), refusing.commands)
        }

        /// With --allow-schema-drops: the CMS is started (compose up, the one command) and its
        /// health URL polled.
        func allowedCMSStep(database: String? = nil) async throws -> PopulateStepRecord? {
            let (probe, _) = try await context(allowing: true, runner: ScriptedRunner([:]), database: database)
            let project = try ComposeProject.configured(by: probe)
            let up = project.upCommand(services: ["cms"], wait: true, timeout: .seconds(20))
            // The CMS service is detected from the resolved compose file before it starts.
            let config = project.command(["config", "--format", "json"])
            let starting = ScriptedRunner([([config.executable] + config.arguments).joined(separator: " "): .success(#"{"name": "guard", "services": {}}"#),
                                           ([up.executable] + up.arguments).joined(separator: " "): .success("")])
            let (allowed, options) = try await context(allowing: true, runner: starting, database: database)
            let report = await Populate(context: allowed, options: options).run { _ in }
            #expect(report.succeeded, "\(report.error ?? "")")
            #expect(starting.commands.map(\.arguments) == [config.arguments, up.arguments])
            return report.steps.first { $0.step == .cms }
        }
    }

    @Test func aPopulateWhoseCMSWouldDropStopsBeforeStartingItUnlessAllowed() async throws {
        let project = try CMSProject()
        defer { project.health.stop() }
        let (cms, commands) = try await project.refusedCMSStep()
        #expect(cms.status == .failed)
        #expect(cms.detail.contains("the CMS was not started: Strapi's boot sync would drop column annonces_de_logement.slug"), "\(cms.detail)")
        #expect(cms.detail.contains("check out the branch that matches recette, or pass --allow-schema-drops"), "\(cms.detail)")
        #expect(commands.isEmpty, "docker compose up never ran")

        let allowed = try await project.allowedCMSStep()
        #expect(allowed?.detail.contains("schema guard: drops allowed (column annonces_de_logement.slug)") == true, "\(allowed?.detail ?? "")")
    }

    @Test func aDatabaseTheGuardCannotReadKeepsTheCMSStoppedUnlessAllowed() async throws {
        let project = try CMSProject()
        defer { project.health.stop() }
        let nowhere = "postgresql://postgres@127.0.0.1:\(LocalCluster.freeLoopbackPort())/app?connect_timeout=5"
        let (cms, commands) = try await project.refusedCMSStep(database: nowhere)
        #expect(cms.status == .failed)
        #expect(cms.detail.hasPrefix("the CMS was not started: the Strapi schema guard cannot read the restored database ("), "\(cms.detail)")
        #expect(cms.detail.hasSuffix("or pass --allow-schema-drops to start the CMS unchecked"), "\(cms.detail)")
        #expect(commands.isEmpty, "docker compose up never ran")

        let allowed = try await project.allowedCMSStep(database: nowhere)
        #expect(allowed?.detail.contains("schema guard: not run (database unreadable, --allow-schema-drops)") == true, "\(allowed?.detail ?? "")")
    }

    @Test func aBadCMSSourceFailsTheRunBeforeItsFirstStep() async throws {
        let files = try StrapiProjectReaderTests.project(schema: #"{"collectionName": "evenements", "attributes": {"titre": {"type": "strnig"}}}"#)
        let sample = try await SampleCache.shared.sample()
        let directory = TestEnvironment.newProjectDirectory()
        let compose = directory.appendingPathComponent("compose/compose.yaml")
        try FileManager.default.createDirectory(at: compose.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "services: {}\n".write(to: compose, atomically: true, encoding: .utf8)
        // Fails closed: a restore (docker compose …) would be an unscripted command.
        let runner = ScriptedRunner([:])
        let context = try TestEnvironment.context(projectDirectory: directory, environment: [
            "RECETTE_TARGET": "compose", "RECETTE_STRAPI_PROJECT": files.directory.path,
        ], runner: runner)
        var options = PopulateOptions()
        options.origin = .file(sample.archive)
        let report = await Populate(context: context, options: options).run { _ in Issue.record("no reset is asked for") }
        #expect(!report.succeeded)
        #expect(report.error?.hasPrefix("src/api/evenement/content-types/evenement/schema.json: attribute 'titre' has type 'strnig'") == true, "\(report.error ?? "")")
        #expect(report.steps.allSatisfy { $0.status == .skipped }, "\(report.steps)")
        #expect(runner.commands.isEmpty)

        // Through the CLI: the file's line, with nothing to resume.
        var environment = TestEnvironment.cliEnvironment
        environment["RECETTE_STRAPI_PROJECT"] = files.directory.path
        let result = try await CLI.run(["populate", "--backup", sample.archive.path, "--target", "compose", "--yes", "--project-dir", directory.path],
                                       environment: environment)
        #expect(result.status == 1)
        let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("error: src/api/evenement/content-types/evenement/schema.json: attribute 'titre' has type 'strnig'"), "\(result.standardError)")
        #expect(!last.contains("--from"), "\(last)")
    }

    @Test func aDryRunShowsTheList() async throws {
        let project = try CMSProject()
        defer { project.health.stop() }
        // The dry run reads the resolved compose file (read-only) to name the CMS service.
        let (probe, _) = try await project.context(allowing: false, runner: ScriptedRunner([:]))
        let config = try ComposeProject.configured(by: probe).command(["config", "--format", "json"])
        let reading = ScriptedRunner([([config.executable] + config.arguments).joined(separator: " "): .success(#"{"name": "guard", "services": {}}"#)])
        let (context, options) = try await project.context(allowing: false, runner: reading)
        let plan = try await Populate(context: context, options: options).plan()
        let text = plan.joined(separator: "\n")
        #expect(text.contains("(the cms step stops: check out the branch that matches recette, or pass --allow-schema-drops)"), "\(text)")
        #expect(text.contains("    would DROP column annonces_de_logement.slug"), "\(text)")
        #expect(text.contains("    would ADD table evenements"), "\(text)")
    }
}
