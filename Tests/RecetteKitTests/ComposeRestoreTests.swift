import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld
import StandIns

/// `recette restore --target compose` on a real engine: the backup lands in the db service
/// (here with --unlogged; populate's compose test restores without it), the search and media
/// volumes survive, a corrupt archive destroys nothing.
@Suite(.tags(.docker, .postgres, .slow), .dockerSlot, .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct ComposeRestoreTests {
    @Test func restoresTheSampleIntoTheDbServiceAndKeepsTheOtherVolumes() async throws {
        let sample = try await SampleCache.shared.sample()
        let stack = ComposeTestStack()
        defer { stack.down() }
        let project = try ComposeProject.configured(by: stack.context())
        try await project.up(services: ["db", "search", "cms"], wait: true, timeout: .seconds(180))
        try await project.waitUntilReady(service: "db", timeout: .seconds(60))
        let others = try await stack.runningContainerIDs(["search", "cms"])
        let marks = try await stack.writeMarkers(project: project, round: "restore")

        // The prepare phase through the container's psql: the admin, a post-restore file.
        let password = "Compose-Admin é 7"
        let postRestore = stack.directory.appendingPathComponent("post-restore.sql")
        try "UPDATE strapi_webhooks SET name = name || ' (local)';\nUPDATE strapi_webhooks SET name = name || '!';".write(to: postRestore, atomically: true, encoding: .utf8)
        let result = try await CLI.run(["restore", sample.archive.path, "--target", "compose", "--unlogged", "--yes", "--project-dir", stack.directory.path, "-v"],
                                       environment: stack.cliEnvironment(["STRAPI_ADMIN_EMAIL": "dev@local.test", "STRAPI_ADMIN_PASSWORD": password,
                                                                          "RECETTE_POST_RESTORE": postRestore.path]))
        #expect(result.status == 0, "\(result.standardError)")
        #expect(!(result.standardOutput + result.standardError).contains(password))
        #expect(result.standardOutput.range(of: #"offres_de_stage\s+\#(RestoreIntegrationTests.offers)\n"#, options: .regularExpression) != nil, "\(result.standardOutput)")
        #expect(result.standardOutput.contains("restored into compose service 'db', database 'app'"))

        // Checked from the host, independently of recette's own counting.
        let connection = try PostgresConnection(url: stack.url(database: "app"))
        #expect(try connection.query("SELECT count(*) FROM offres_de_stage").scalar == String(RestoreIntegrationTests.offers))
        #expect(try connection.query("SELECT to_regclass('public.reset_marker') IS NULL").scalar == "t", "the old database was replaced")
        #expect(try connection.query("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated").scalar != "0")
        #expect(try connection.query("SELECT count(*) FROM strapi_core_store_settings WHERE key IN ('plugin_meilisearch_meilisearch_host', 'plugin_meilisearch_meilisearch_api_key')").scalar == "0")
        #expect(try connection.query("SELECT count(*) FROM strapi_webhooks WHERE name NOT LIKE '% (local)!'").scalar == "0", "both statements, in order")
        let meilisearch = try MeilisearchStandIn(taskProcessingDelay: .zero)
        defer { meilisearch.stop() }
        let strapi = try StrapiStandIn(databaseURL: stack.url(database: "app"), meilisearchURL: meilisearch.baseURL, meilisearchAPIKey: nil, adminLogin: .storedInDatabase)
        defer { strapi.stop() }
        let login = try await StandInClient(baseURL: strapi.baseURL, bearer: nil).send("POST", "/admin/login", json: ["email": "dev@local.test", "password": password])
        #expect(login.status == 200, "\(login)")
        // Loaded with the bulk-load settings, and back to the server's own afterwards.
        #expect(result.standardOutput.contains("bulk-load settings") && result.standardOutput.contains("normal settings"), "\(result.standardOutput)")
        // The same phase names as the other targets: the template check starts the server first.
        #expect(result.standardOutput.contains("prepare server"), "\(result.standardOutput)")
        #expect(try connection.query("SHOW fsync").scalar == "on")
        #expect(try connection.query("SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'").scalar == "0")
        // --unlogged: every table of the dump was made UNLOGGED between its schema and its rows.
        #expect(try connection.query("SELECT string_agg(DISTINCT relpersistence::text, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE relkind = 'r' AND nspname = 'public'").scalar == "u")
        for (service, path) in ComposeTestStack.markerFiles {
            #expect(try await project.exec(service: service, argv: ["cat", path]).outputText == marks.token, "\(service):\(path)")
        }
        #expect(try await stack.runningContainerIDs(["search", "cms"]) == others)

        // keep: the rows of a kept table are read from the database being replaced before the
        // reset removes its volume, and carried into the new one.
        try connection.execute("UPDATE strapi_webhooks SET name = 'kept from the local copy'")
        let webhooks = try connection.query("SELECT count(*) FROM strapi_webhooks").scalar
        let again = try await CLI.run(["restore", sample.archive.path, "--target", "compose", "--yes", "--project-dir", stack.directory.path],
                                      environment: stack.cliEnvironment(["RECETTE_KEEP": "strapi_webhooks"]))
        #expect(again.status == 0, "\(again.standardError)")
        let renewed = try PostgresConnection(url: stack.url(database: "app"))
        #expect(try renewed.query("SELECT count(*) FROM strapi_webhooks WHERE name = 'kept from the local copy'").scalar == webhooks)
        #expect(try renewed.query("SELECT count(*) FROM strapi_webhooks").scalar == webhooks)
    }

    @Test func aCorruptArchiveLeavesTheComposeDatabaseUntouched() async throws {
        let sample = try await SampleCache.shared.sample()
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase()
        let before = try await stack.snapshot()

        let corrupt = try await BadInput.truncatedArchive.make(from: sample.archive)
        let result = try await CLI.run(["restore", corrupt.path, "--target", "compose", "--yes", "--project-dir", stack.directory.path],
                                       environment: stack.cliEnvironment())
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").last?.contains("is corrupt or truncated") == true, "\(result.standardError)")
        #expect(try await stack.snapshot() == before, "same container, same volume, same row")
    }

    /// The backup passes the checks but pg_restore fails on a row: the error names the item
    /// and says the database is partial, and the server's own settings are back.
    @Test func aRestoreFailingMidwayNamesTheItemAndPutsTheSettingsBack() async throws {
        let sample = try await SampleCache.shared.sample()
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase()

        let broken = try await BadInput.dumpTruncatedInData.make(from: sample.archive)
        let result = try await CLI.run(["restore", broken.path, "--target", "compose", "--yes", "--project-dir", stack.directory.path],
                                       environment: stack.cliEnvironment())
        #expect(result.status == 1)
        let last = String(result.standardError.split(separator: "\n").last ?? "")
        #expect(last.hasPrefix("error: pg_restore failed in the 'db' container on '\(broken.lastPathComponent)': "), "\(result.standardError)")
        #expect(last.hasSuffix("the database is partial: run the restore again"), "\(last)")
        // The dump copied into the container goes too, although the restore failed.
        let project = try ComposeProject.configured(by: stack.context())
        let left = try await project.exec(service: "db", argv: ["ls", "-A", "/tmp"]).outputText
        #expect(!left.contains("recette-restore"), "left in the db container's /tmp: \(left)")
        let connection = try PostgresConnection(url: stack.url(database: "app"))
        #expect(try connection.query("SHOW fsync").scalar == "on")
        #expect(try connection.query("SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'").scalar == "0")
    }

    /// Ctrl-C while pg_restore copies rows inside the container: exit 130, pg_restore gone,
    /// the partial database reported, the server's own settings back.
    @Test func interruptingARestoreStopsPgRestoreAndReportsThePartialDatabase() async throws {
        // A restore long enough to be caught mid-COPY: the local interrupt tests' backup.
        let big = try await RestoreInterruptTests.big.value
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase()

        let (process, errors) = try CLI.launch(["restore", big.archive.path, "--target", "compose", "--yes", "--quiet", "--project-dir", stack.directory.path],
                                               environment: stack.cliEnvironment())
        var copying = false
        for _ in 0..<1200 where !copying {
            try await Task.sleep(for: .milliseconds(50))
            // The volume is recreated during the run: connections fail until the server is back.
            copying = (try? PostgresConnection(url: stack.url(database: "app"))
                .query("SELECT 1 FROM pg_stat_activity WHERE datname = 'app' AND query LIKE 'COPY%'").rows.isEmpty == false) ?? false
        }
        #expect(copying, "pg_restore never reached COPY")
        let start = ContinuousClock.now
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(ContinuousClock.now - start < .seconds(20))
        #expect(process.terminationStatus == 130)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("database 'app' of the 'db' service is partial; run the restore again"), "\(stderr)")
        #expect(stderr.contains("interrupted"), "\(stderr)")
        let left = try await ComposeProject.configured(by: stack.context()).exec(service: "db", argv: ["ls", "-A", "/tmp"]).outputText
        #expect(!left.contains("recette-restore"), "left in the db container's /tmp after Ctrl-C: \(left)")

        let connection = try PostgresConnection(url: stack.url(database: "app"))
        #expect(try connection.query("SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND pid <> pg_backend_pid() AND backend_type = 'client backend'").scalar == "0",
                "no pg_restore session left")
        #expect(try connection.query("SHOW fsync").scalar == "on")
        #expect(try connection.query("SELECT count(*) FROM pg_file_settings WHERE sourcefile LIKE '%postgresql.auto.conf'").scalar == "0")
    }
}
