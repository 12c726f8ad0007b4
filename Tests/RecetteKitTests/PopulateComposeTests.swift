import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// `recette populate` on a real Docker engine.
@Suite(.tags(.docker, .postgres, .slow), .dockerSlot, .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct PopulateComposeTests {
    @Test func aDryRunOnAnExistingComposeDatabaseChangesNothing() async throws {
        let sample = try await SampleCache.shared.sample()
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase()
        let before = try await stack.snapshot()

        let result = try await CLI.run(["populate", "--dry-run", "--backup", sample.archive.path, "--target", "compose", "--project-dir", stack.directory.path],
                                       environment: stack.cliEnvironment())
        #expect(result.status == 0, "\(result.standardError)")
        // The plan names what would be destroyed and the concrete commands.
        #expect(result.standardOutput.contains("\(stack.name)_db-data"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("docker compose"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("up --detach --wait cms"), "\(result.standardOutput)")
        #expect(try await stack.snapshot() == before, "same db container, same volume, same row")
        #expect(try await stack.runningContainerIDs(["search", "cms"]).isEmpty, "nothing started")
        #expect(!FileManager.default.fileExists(atPath: stack.directory.appendingPathComponent(".recette/runs").path))
    }

    @Test func populateGoesFromNothingToARestoredDatabaseAndAFullIndex() async throws {
        let sample = try await SampleCache.shared.sample()
        let scalingo = try ScalingoStandInTests.Fixture(archive: sample.archive)
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        // The CMS's health URL (Strapi's /_health): answers once "the CMS" is up.
        let health = try LoopbackHTTPServer { request in request.path == "/_health" ? .text(204, "") : .text(404, "not found") }
        defer { health.stop() }
        let stack = ComposeTestStack()
        defer { stack.down() }
        try RepositoryConfiguration.copy(into: stack.directory)
        let environment = stack.cliEnvironment(scalingo.environment.merging([
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString,
            "PLUGIN_MEILISEARCH_API_KEY": meilisearch.masterKey ?? "",
            "RECETTE_CMS_HEALTH_URL": health.baseURL.appendingPathComponent("_health").absoluteString,
            // The test override runs the db on the host network: no published port to find.
            "RECETTE_SEARCH_DATABASE_URL": stack.url(database: "app"),
        ]) { $1 })

        // Nothing exists yet: no container, no volume, no index.
        #expect(try await stack.volumeCreatedAt("db-data") == nil)
        // The repository's CMS source is a branch that dropped a column the sample has
        // (SampleCMSSource.plantedDrop): its schema guard would stop the cms step.
        let result = try await CLI.run(["populate", "--yes", "--allow-schema-drops", "--target", "compose", "--no-progress", "--project-dir", stack.directory.path],
                                       environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("starting the CMS although its boot sync drops column \(SampleCMSSource.plantedDrop)"), "\(result.standardError)")
        for step in ["backup", "restore", "cms", "reindex", "check"] {
            #expect(result.standardOutput.range(of: "\n\(step)\\s+succeeded\\s+[0-9.]+s", options: .regularExpression) != nil, "\(step): \(result.standardOutput)")
        }
        #expect(result.standardOutput.contains("populate succeeded"))

        // The database: the backup's rows; the index: exactly the published offers.
        let connection = try PostgresConnection(url: stack.url(database: "app"))
        #expect(try connection.query("SELECT count(*) FROM offres_de_stage").scalar == String(RestoreIntegrationTests.offers))
        let published = Set(try connection.query("SELECT 'offre-de-stage-' || id AS id FROM offres_de_stage WHERE published_at IS NOT NULL").column("id").compactMap { $0 })
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == published)
        #expect(meilisearch.documentCount(in: "annonce-de-logement") == Int(try connection.query("SELECT count(*) FROM annonces_de_logement WHERE published_at IS NOT NULL").scalar ?? ""))
        // The CMS was started by compose and is running.
        #expect(try await stack.runningContainerIDs(["cms"]).count == 1)

        // The report on disk lists every step with its duration and outcome.
        let runs = stack.directory.appendingPathComponent(".recette/runs")
        let file = try #require(try FileManager.default.contentsOfDirectory(atPath: runs.path).first { $0.hasPrefix("populate-") })
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: runs.appendingPathComponent(file))) as? [String: Any])
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect(steps.map { $0["step"] as? String } == ["backup", "restore", "cms", "reindex", "check"])
        #expect(steps.allSatisfy { $0["status"] as? String == "succeeded" && ($0["seconds"] as? Double ?? -1) >= 0 })
        #expect(report["succeeded"] as? Bool == true)
        // No secret anywhere in what recette printed or wrote.
        let written = try String(contentsOf: runs.appendingPathComponent(file), encoding: .utf8)
        for secret in [ScalingoStandIn.defaultAPIToken, meilisearch.masterKey ?? "-"] {
            #expect(!(result.standardOutput + result.standardError + written).contains(secret))
        }
    }

    @Test func aCMSThatNeverAnswersIsReportedWithItsLog() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        // The services run already (starting the db can take longer than the short timeout
        // below on a busy machine): what times out is the health URL, where nothing listens.
        try await SubprocessRunner().run(stack.compose(["up", "--detach", "--wait", "--wait-timeout", "120", "db", "cms"]))
        let port = LocalCluster.freeLoopbackPort()
        let result = try await CLI.run(["populate", "--only", "cms", "--target", "compose", "--no-progress", "--project-dir", stack.directory.path],
                                       environment: stack.cliEnvironment(["RECETTE_CMS_HEALTH_URL": "http://127.0.0.1:\(port)/_health", "RECETTE_CMS_TIMEOUT": "4"]))
        #expect(result.status == 1)
        let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("step 'cms' failed: the CMS did not answer http://127.0.0.1:\(port)/_health within 4s"), "\(result.standardError)")
        #expect(last.contains("cms stand-in: idle, serving nothing"), "the log's last lines are quoted: \(last)")
        #expect(last.contains("docker compose logs cms"))
        #expect(last.contains("recette populate --from cms"))
    }
}
