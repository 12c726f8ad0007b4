import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The prepare phase cuts staging's wiring in the new database before it is swapped in
/// (issue 14, its Meilisearch and webhook actions).
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct LocalWiringTests {
    func url(_ database: String) async throws -> String {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return cluster.url(database: database, port: port)
    }

    func rows(_ sql: String, in database: String) async throws -> [[String?]] {
        try PostgresConnection(url: try await url(database)).query(sql).rows
    }

    @Test func aRestoredCopyNoLongerPointsAtStagingsMeilisearchOrFiresItsWebhooks() async throws {
        let sample = try await SampleCache.shared.sample()
        let before = try await CLI.run(["restore", sample.archive.path, "--target-url", try await url("wiring_kept"), "--yes", "--drop-previous", "--keep-wiring", "--no-pristine"])
        #expect(before.status == 0, "\(before.standardError)")
        // --keep-wiring: the copy is staging's, as the backup holds it.
        #expect(try await rows("SELECT value FROM strapi_core_store_settings WHERE key = 'plugin_meilisearch_meilisearch_host'", in: "wiring_kept")
                == [["\"\(SampleDatabaseSQL.stagingMeilisearchHost)\""]])
        #expect(try await rows("SELECT count(*) FROM strapi_webhooks WHERE enabled", in: "wiring_kept") == [["2"]])

        let result = try await CLI.run(["restore", sample.archive.path, "--target-url", try await url("wiring_local"), "--yes", "--drop-previous", "-v"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try await rows("SELECT key FROM strapi_core_store_settings WHERE key LIKE 'plugin_meilisearch_meilisearch_%'", in: "wiring_local").isEmpty,
                "the plugin's stored host and key are gone: the CMS config applies")
        #expect(try await rows("SELECT count(*) FROM strapi_core_store_settings WHERE key = 'plugin_meilisearch_listened_content_types'", in: "wiring_local") == [["1"]],
                "the plugin's other settings stay")
        #expect(try await rows("SELECT count(*) FROM strapi_webhooks WHERE enabled", in: "wiring_local") == [["0"]])
        #expect(try await rows("SELECT count(*) FROM strapi_webhooks", in: "wiring_local") == [["3"]], "disabled, not deleted")

        let output = result.standardOutput + result.standardError
        #expect(output.contains("removed the plugin's stored host \(SampleDatabaseSQL.stagingMeilisearchHost) and key"), "\(result.standardOutput)")
        #expect(output.contains("disabled 2: Rebuild front (recette) https://front-recette.example.invalid/api/revalidate"), "\(result.standardOutput)")
        let report = try #require(result.standardOutput.split(separator: "\n").first { $0.hasPrefix("report: ") }.map { String($0.dropFirst(8)) })
        let reportText = try String(contentsOfFile: report, encoding: .utf8)
        #expect(reportText.contains("meilisearch wiring") && reportText.contains("webhooks"))
        for text in [output, reportText, before.standardOutput + before.standardError] {
            #expect(!text.contains(SampleDatabaseSQL.stagingMeilisearchKey), "the stored key is never shown")
        }
    }

    @Test func aPrepareFailureLeavesThePreviousDatabaseWholeAndNamesTheAction() async throws {
        // A dump whose store table lacks the `key` column: the prepare statement fails there.
        let source = "wiring_odd_source", database = "wiring_fails"
        let admin = try PostgresConnection(url: try await url("postgres"))
        for name in [source, database] { try admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)"); try admin.execute("CREATE DATABASE \(name)") }
        try PostgresConnection(url: try await url(source)).execute("CREATE TABLE strapi_core_store_settings (id int, value text); CREATE TABLE strapi_webhooks (id int)")
        try PostgresConnection(url: try await url(database)).execute("CREATE TABLE marker (id int); INSERT INTO marker VALUES (1), (2), (3)")
        let dump = TestEnvironment.scratchDirectory.appendingPathComponent("odd-store-\(UUID().uuidString).pgsql")
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let pgDump = try TestEnvironment.context().postgresTools.require(.pgDump)
        _ = try await SubprocessRunner().run(Command(pgDump, ["-Fc", "-f", dump.path], environment: cluster.clientEnvironment(database: source, port: port)))

        let failed = try await CLI.run(["restore", dump.path, "--target-url", try await url(database), "--yes", "--no-pristine"])
        #expect(failed.status == 1)
        #expect(failed.standardError.contains("prepare action 'Meilisearch wiring and webhooks' failed"), "\(failed.standardError)")
        #expect(failed.standardError.contains("the existing 'wiring_fails' database was left as it was"), "\(failed.standardError)")
        #expect(try await rows("SELECT count(*) FROM marker", in: database) == [["3"]])
        #expect(try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, 'wiring_fails_')").rows.isEmpty, "the new copy is dropped")
    }
}

/// The url target's default anonymisation of Strapi's own personal data (issue 14).
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct PersonalDataPresetTests {
    func url(_ database: String) async throws -> String {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return cluster.url(database: database, port: port)
    }

    func column(_ sql: String, in database: String) async throws -> [String] {
        try PostgresConnection(url: try await url(database)).query(sql).rows.compactMap { $0.first ?? nil }
    }

    @Test func aReviewAppCopyHoldsNoEmailOfTheBackup() async throws {
        let sample = try await SampleCache.shared.sample()
        // The backup's own values, from a local copy (not anonymised by default).
        let local = try await CLI.run(["restore", sample.archive.path, "--target-url", try await url("people_kept"), "--yes", "--drop-previous", "--no-pristine"],
                                      environment: TestEnvironment.cliEnvironment.merging(["RECETTE_ANONYMIZE": "false"]) { $1 })
        #expect(local.status == 0, "\(local.standardError)")
        let emails = try await column("SELECT email FROM up_users UNION ALL SELECT email FROM admin_users", in: "people_kept")
        #expect(emails.count > 5 && emails.allSatisfy { !$0.hasSuffix("@example.invalid") })
        let keptAdmin = try #require(try await column("SELECT email FROM admin_users ORDER BY id", in: "people_kept").first)

        let review = try await CLI.run(["restore", sample.archive.path, "--target-url", try await url("people_review"), "--yes", "--drop-previous", "--no-pristine"],
                                       environment: TestEnvironment.cliEnvironment.merging(["STRAPI_ADMIN_EMAIL": keptAdmin.uppercased()]) { $1 })
        #expect(review.status == 0, "\(review.standardError)")
        let left = try await column("SELECT email FROM up_users UNION ALL SELECT email FROM admin_users UNION ALL SELECT username FROM up_users", in: "people_review")
        #expect(Set(left).intersection(Set(emails)) == [keptAdmin], "only the configured admin keeps its e-mail: \(Set(left).intersection(Set(emails)))")
        #expect(try await column("SELECT count(*) FROM up_users WHERE password IS NOT NULL", in: "people_review") == ["0"])
        #expect(try await column("SELECT count(DISTINCT email) = count(*) FROM up_users", in: "people_review") == ["t"], "e-mails stay unique")
        #expect(review.standardOutput.contains("prepare: anonymise up_users: "), "\(review.standardOutput)")
        for email in emails where email != keptAdmin {
            #expect(!(review.standardOutput + review.standardError).contains(email))
        }
    }

    @Test func aWrongAnonymizeValueStopsBeforeAnything() async throws {
        let sample = try await SampleCache.shared.sample()
        let result = try await CLI.run(["restore", sample.archive.path, "--target-url", try await url("people_never"), "--yes"],
                                       environment: TestEnvironment.cliEnvironment.merging(["RECETTE_ANONYMIZE": "maybe"]) { $1 })
        #expect(result.status == 1)
        #expect(result.standardError.contains("RECETTE_ANONYMIZE='maybe': use auto"), "\(result.standardError)")
        let admin = try PostgresConnection(url: try await url("postgres"))
        #expect(try admin.query("SELECT 1 FROM pg_database WHERE starts_with(datname, 'people_never')").rows.isEmpty)
    }
}
