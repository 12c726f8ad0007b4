import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld
import StandIns

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
        #expect(try await rows("SELECT key FROM strapi_core_store_settings WHERE key IN ('plugin_meilisearch_meilisearch_host', 'plugin_meilisearch_meilisearch_api_key')", in: "wiring_local").isEmpty,
                "the plugin's stored host and key are gone: the CMS config applies")
        #expect(try await rows("SELECT count(*) FROM strapi_core_store_settings WHERE key = 'plugin_meilisearch_meilisearch_listened_content_types'", in: "wiring_local") == [["1"]],
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
        let pgDump = try TestEnvironment.machineContext().postgresTools.require(.pgDump)
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
        #expect(result.standardError.contains(#"RECETTE_ANONYMIZE (anonymize) from the environment is "maybe": expected auto, true or false"#), "\(result.standardError)")
        let admin = try PostgresConnection(url: try await url("postgres"))
        #expect(try admin.query("SELECT 1 FROM pg_database WHERE starts_with(datname, 'people_never')").rows.isEmpty)
    }
}

/// The configured admin can log in to a restored copy (issue 14): the Strapi stand-in checks
/// the stored bcrypt hash the way Strapi does.
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct AdminAccessTests {
    static let password = "Local-Admin é 42 'x' $HOME"

    func url(_ database: String) async throws -> String {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return cluster.url(database: database, port: port)
    }

    func login(_ strapi: StrapiStandIn, _ email: String, _ password: String) async throws -> HTTPReply {
        try await StandInClient(baseURL: strapi.baseURL, bearer: nil).send("POST", "/admin/login", json: ["email": email, "password": password])
    }

    func restore(into database: String, _ environment: [String: String]) async throws -> CLIResult {
        let sample = try await SampleCache.shared.sample()
        return try await CLI.run(["restore", sample.archive.path, "--target-url", try await url(database), "--yes", "--drop-previous", "--no-pristine", "-v"],
                                 environment: TestEnvironment.cliEnvironment.merging(environment) { $1 })
    }

    @Test func theConfiguredAdminCanLogInAfterARestore() async throws {
        // An editor of the backup (not a super admin, staging's password), and a new admin.
        let editor = "louis.bernard@recette.example", newcomer = "dev@local.test"
        let meilisearch = try MeilisearchStandIn(taskProcessingDelay: .zero)
        defer { meilisearch.stop() }

        let untouched = try await restore(into: "admin_before", ["STRAPI_ADMIN_EMAIL": editor, "STRAPI_ADMIN_PASSWORD": ""])
        #expect(untouched.status == 0, "\(untouched.standardError)")
        let before = try StrapiStandIn(databaseURL: try await url("admin_before"), meilisearchURL: meilisearch.baseURL, meilisearchAPIKey: nil, adminLogin: .storedInDatabase)
        defer { before.stop() }
        #expect(try await login(before, editor, Self.password).status == 400, "staging's admin, staging's password")

        for (database, email) in [("admin_editor", "Louis.Bernard@Recette.example"), ("admin_new", newcomer)] {
            let result = try await restore(into: database, ["STRAPI_ADMIN_EMAIL": email, "STRAPI_ADMIN_PASSWORD": Self.password])
            #expect(result.status == 0, "\(result.standardError)")
            let strapi = try StrapiStandIn(databaseURL: try await url(database), meilisearchURL: meilisearch.baseURL, meilisearchAPIKey: nil, adminLogin: .storedInDatabase)
            defer { strapi.stop() }
            let accepted = try await login(strapi, email, Self.password)
            #expect(accepted.status == 200, "\(database): \(accepted)")
            #expect(try await login(strapi, email, Self.password + "!").status == 400)

            let rows = try PostgresConnection(url: try await url(database)).query(
                "SELECT password, is_active::text, blocked::text FROM admin_users WHERE email = $1", [email.lowercased()]).rows
            #expect(rows.count == 1 && rows[0][1] == "true" && rows[0][2] == "false", "\(rows)")
            let hash = try #require(rows.first?[0] ?? nil)
            #expect(hash.hasPrefix("$2a$10$"), "as Strapi stores it")
            #expect(result.standardOutput.contains("prepare: admin access: \(email == newcomer ? "created" : "updated") \(email.lowercased())"), "\(result.standardOutput)")

            let report = try #require(result.standardOutput.split(separator: "\n").first { $0.hasPrefix("report: ") }.map { String($0.dropFirst(8)) })
            let reportText = try String(contentsOfFile: report, encoding: .utf8)
            #expect(reportText.contains("admin access"))
            for text in [result.standardOutput, result.standardError, reportText] {
                #expect(!text.contains(Self.password) && !text.contains(hash), "neither the password nor its hash is shown")
            }
        }
        // The editor kept its own role and got the super admin's; the backup's other admins stay.
        let roles = try PostgresConnection(url: try await url("admin_editor")).query("""
            SELECT r.code FROM admin_users_roles_links l JOIN admin_roles r ON r.id = l.role_id JOIN admin_users u ON u.id = l.user_id
            WHERE u.email = $1 ORDER BY r.code
            """, [editor]).rows.compactMap { $0.first ?? nil }
        #expect(roles == ["strapi-editor", "strapi-super-admin"], "\(roles)")
    }

    @Test func aCloneOfThePristineTemplateHasTodaysPassword() async throws {
        // The template's marker records the admin's e-mail, never its password: a clone gets
        // today's password set before it is swapped in, by a restore and by reset --pristine.
        let database = "admin_pristine", email = "dev@local.test"
        let meilisearch = try MeilisearchStandIn(taskProcessingDelay: .zero)
        defer { meilisearch.stop() }
        let sample = try await SampleCache.shared.sample()
        let target = try await url(database)
        func environment(_ password: String) -> [String: String] {
            TestEnvironment.cliEnvironment.merging(["STRAPI_ADMIN_EMAIL": email, "STRAPI_ADMIN_PASSWORD": password, "DATABASE_URL": target]) { $1 }
        }
        let project = TestEnvironment.newProjectDirectory()
        let first = try await CLI.run(["restore", sample.archive.path, "--target-url", target, "--yes", "--drop-previous", "--fresh"],
                                      environment: environment("First-Password-1"), currentDirectory: project)
        #expect(first.status == 0, "\(first.standardError)")
        let cloned = try await CLI.run(["restore", sample.archive.path, "--target-url", target, "--yes", "--drop-previous"],
                                       environment: environment("Second-Password-2"), currentDirectory: project)
        #expect(cloned.status == 0, "\(cloned.standardError)")
        #expect((cloned.standardOutput + cloned.standardError).contains("cloning it instead of restoring"), "\(cloned.standardError)")
        let strapi = try StrapiStandIn(databaseURL: target, meilisearchURL: meilisearch.baseURL, meilisearchAPIKey: nil, adminLogin: .storedInDatabase)
        defer { strapi.stop() }
        #expect(try await login(strapi, email, "Second-Password-2").status == 200)
        #expect(try await login(strapi, email, "First-Password-1").status == 400)

        let reset = try await CLI.run(["reset", "--pristine", "--skip-reindex", "--target-url", target, "--yes", "--drop-previous"],
                                      environment: environment("Third-Password-3"), currentDirectory: project)
        #expect(reset.status == 0, "\(reset.standardError)")
        #expect(try await login(strapi, email, "Third-Password-3").status == 200)
        for text in [cloned.standardOutput, cloned.standardError, reset.standardOutput, reset.standardError] {
            #expect(!text.contains("Second-Password-2") && !text.contains("Third-Password-3"))
        }
    }

    @Test func withoutASuperAdminRoleTheRestoreStopsAndKeepsThePreviousDatabase() async throws {
        let source = "admin_odd_source", database = "admin_fails"
        let admin = try PostgresConnection(url: try await url("postgres"))
        for name in [source, database] { try admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)"); try admin.execute("CREATE DATABASE \(name)") }
        try PostgresConnection(url: try await url(source)).execute("""
            CREATE TABLE admin_users (id serial PRIMARY KEY, email text, password text, is_active boolean, blocked boolean);
            CREATE TABLE admin_roles (id serial PRIMARY KEY, code text);
            CREATE TABLE admin_users_roles_links (id serial PRIMARY KEY, user_id int, role_id int);
            INSERT INTO admin_roles (code) VALUES ('strapi-editor')
            """)
        try PostgresConnection(url: try await url(database)).execute("CREATE TABLE marker (id int); INSERT INTO marker VALUES (1), (2)")
        let dump = TestEnvironment.scratchDirectory.appendingPathComponent("no-super-admin-\(UUID().uuidString).pgsql")
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let pgDump = try TestEnvironment.context().postgresTools.require(.pgDump)
        _ = try await SubprocessRunner().run(Command(pgDump, ["-Fc", "-f", dump.path], environment: cluster.clientEnvironment(database: source, port: port)))

        let failed = try await CLI.run(["restore", dump.path, "--target-url", try await url(database), "--yes", "--no-pristine"],
                                       environment: TestEnvironment.cliEnvironment.merging(["STRAPI_ADMIN_EMAIL": "dev@local.test", "STRAPI_ADMIN_PASSWORD": Self.password]) { $1 })
        #expect(failed.status == 1)
        #expect(failed.standardError.contains("prepare action 'admin access' failed in the new database: admin_roles has no 'strapi-super-admin' role"), "\(failed.standardError)")
        #expect(!failed.standardError.contains(Self.password))
        #expect(try PostgresConnection(url: try await url(database)).query("SELECT count(*) FROM marker").scalar == "2")
    }
}

/// `post_restore:` SQL files of recette.yml run in order in the new database (issue 14).
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct PostRestoreSQLTests {
    func url(_ database: String) async throws -> String {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return cluster.url(database: database, port: port)
    }

    /// A project whose recette.yml lists `files` (name → SQL) as post_restore, in that order.
    func project(_ files: [(String, String?)]) throws -> URL {
        let directory = TestEnvironment.newProjectDirectory()
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("sql"), withIntermediateDirectories: true)
        for case let (name, sql?) in files { try sql.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        try ("post_restore:\n" + files.map { "  - \($0.0)\n" }.joined()).write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
        return directory
    }

    func restore(_ database: String, in project: URL) async throws -> CLIResult {
        let sample = try await SampleCache.shared.sample()
        return try await CLI.run(["restore", sample.archive.path, "--target-url", try await url(database), "--yes", "--drop-previous", "--no-pristine"],
                                 currentDirectory: project)
    }

    func previousCopy(_ database: String) async throws -> PostgresConnection {
        let admin = try PostgresConnection(url: try await url("postgres"))
        try admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(database)")
        let previous = try PostgresConnection(url: try await url(database))
        try previous.execute("CREATE TABLE marker (id int); INSERT INTO marker VALUES (1), (2), (3)")
        return previous
    }

    @Test func filesRunInOrderInTheNewDatabaseEachTimed() async throws {
        // The second file needs the first one's table: the order is recette.yml's.
        let directory = try project([
            ("sql/01-accounts.sql", "CREATE TABLE test_accounts (email text);\nINSERT INTO test_accounts SELECT email FROM up_users ORDER BY id LIMIT 2;"),
            ("sql/02-shout.sql", "UPDATE test_accounts SET email = upper(email);"),
        ])
        let result = try await restore("post_ok", in: directory)
        #expect(result.status == 0, "\(result.standardError)")
        let rows = try PostgresConnection(url: try await url("post_ok")).query("SELECT email FROM test_accounts").rows.compactMap { $0.first ?? nil }
        #expect(rows.count == 2 && rows.allSatisfy { $0 == $0.uppercased() }, "\(rows)")
        for name in ["sql/01-accounts.sql", "sql/02-shout.sql"] {
            #expect(result.standardOutput.contains("prepare: post_restore \(name): ran in "), "\(result.standardOutput)")
        }
        let report = try #require(result.standardOutput.split(separator: "\n").first { $0.hasPrefix("report: ") }.map { String($0.dropFirst(8)) })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        let timed = (json["prepare"] as? [[String: Any]] ?? []).filter { ($0["action"] as? String ?? "").hasPrefix("post_restore ") }
        #expect(timed.count == 2 && timed.allSatisfy { $0["seconds"] is Double }, "\(json["prepare"] ?? "none")")
    }

    @Test func aFailingFileLeavesThePreviousDatabaseWholeAndNamesTheFile() async throws {
        let database = "post_fails"
        _ = try await previousCopy(database)
        let directory = try project([
            ("sql/01-fine.sql", "CREATE TABLE test_accounts (email text);"),
            ("sql/02-broken.sql", "INSERT INTO no_such_table VALUES (1);"),
        ])
        let result = try await restore(database, in: directory)
        #expect(result.status == 1)
        #expect(result.standardError.contains("prepare action 'post_restore sql/02-broken.sql' failed in the new database"), "\(result.standardError)")
        #expect(result.standardError.contains("no_such_table"), "the server's reason: \(result.standardError)")
        #expect(result.standardError.contains("the existing '\(database)' database was left as it was"), "\(result.standardError)")
        #expect(try PostgresConnection(url: try await url(database)).query("SELECT count(*) FROM marker").scalar == "3")
        let admin = try PostgresConnection(url: try await url("postgres"))
        #expect(try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, 'post_fails_')").rows.isEmpty, "the new copy is dropped")
    }

    @Test func aMissingFileStopsTheRestoreBeforeItStarts() async throws {
        let database = "post_missing"
        _ = try await previousCopy(database)
        let directory = try project([("sql/01-fine.sql", "SELECT 1;"), ("sql/missing.sql", nil)])
        let result = try await restore(database, in: directory)
        #expect(result.status == 1)
        #expect(result.standardError.contains("post_restore file 'sql/missing.sql' cannot be read"), "\(result.standardError)")
        #expect(!result.standardError.contains("restoring"), "nothing was restored")
        #expect(try PostgresConnection(url: try await url(database)).query("SELECT count(*) FROM marker").scalar == "3")
        let admin = try PostgresConnection(url: try await url("postgres"))
        #expect(try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, 'post_missing_')").rows.isEmpty)
    }
}

/// Restores of the sample into the test cluster for a project whose recette.yml is given.
protocol SampleRestoring {}

extension SampleRestoring {
    func url(_ database: String) async throws -> String {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return cluster.url(database: database, port: port)
    }

    func restore(_ database: String, recetteYML: String) async throws -> CLIResult {
        let directory = TestEnvironment.newProjectDirectory()
        try recetteYML.write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
        let sample = try await SampleCache.shared.sample()
        return try await CLI.run(["restore", sample.archive.path, "--target-url", try await url(database), "--yes", "--drop-previous", "--no-pristine"],
                                 currentDirectory: directory)
    }

    /// A database holding only `marker` (3 rows): what a refused restore must leave whole.
    func markerDatabase(_ database: String) async throws {
        let admin = try PostgresConnection(url: try await url("postgres"))
        try admin.execute("DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        try admin.execute("CREATE DATABASE \(database)")
        try PostgresConnection(url: try await url(database)).execute("CREATE TABLE marker (id int); INSERT INTO marker VALUES (1), (2), (3)")
    }
}

/// recette.yml's anonymisation rules per column (issue 14).
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct AnonymizationRulesTests: SampleRestoring {

    func column(_ sql: String, in database: String) async throws -> [String?] {
        try PostgresConnection(url: try await url(database)).query(sql).rows.map { $0.first ?? nil }
    }

    @Test func everyRuleAppliesToEveryRow() async throws {
        let kept = try await restore("rules_off", recetteYML: "anonymize:\n  enabled: false\n")
        #expect(kept.status == 0, "\(kept.standardError)")
        let emails = try await column("SELECT email FROM up_users ORDER BY id", in: "rules_off").compactMap { $0 }
        #expect(emails.count > 5 && emails.allSatisfy { $0.hasSuffix("@etudiant.example") }, "the long form's enabled: false keeps the backup's values")

        let result = try await restore("rules_on", recetteYML: """
            anonymize:
              rules:
                up_users:
                  email: keep_domain_email
                  username: { constant: anonyme }
                  password: hash
                  provider: null
                admin_users:
                  firstname: { sql: "upper(left(firstname, 1))" }
                  lastname: email
            """)
        #expect(result.status == 0, "\(result.standardError)")
        let db = "rules_on"
        let now = try await column("SELECT email FROM up_users ORDER BY id", in: db).compactMap { $0 }
        #expect(now.count == emails.count && now.allSatisfy { $0.hasPrefix("user-") && $0.hasSuffix("@etudiant.example") }, "\(now)")
        #expect(Set(now).count == now.count, "unique")
        #expect(try await column("SELECT DISTINCT username FROM up_users", in: db) == ["anonyme"])
        #expect(try await column("SELECT count(*) FROM up_users WHERE provider IS NOT NULL", in: db) == ["0"])
        let hashes = try await column("SELECT password FROM up_users", in: db)
        #expect(hashes.allSatisfy { ($0 ?? "").count == 64 && ($0 ?? "").allSatisfy(\.isHexDigit) }, "\(hashes)")
        #expect(try await column("SELECT count(*) FROM admin_users WHERE length(firstname) <> 1 OR lastname NOT LIKE 'user-%@example.invalid'", in: db) == ["0"])
        #expect(result.standardOutput.contains("prepare: anonymise up_users (recette.yml rules): \(emails.count) row(s): email (keep_domain_email), password (hash), provider (null), username (constant)"),
                "\(result.standardOutput)")
        for email in emails { #expect(!(result.standardOutput + result.standardError).contains(email)) }
    }

    @Test func aRuleOnAMissingColumnStopsBeforeTheRestoreStarts() async throws {
        let database = "rules_wrong"
        try await markerDatabase(database)
        let admin = try PostgresConnection(url: try await url("postgres"))
        let result = try await restore(database, recetteYML: """
            anonymize:
              enabled: true
              rules:
                up_users: { phone: null, email: email }
                no_such_table: { x: hash }
            """)
        #expect(result.status == 1)
        #expect(result.standardError.contains("table 'no_such_table' is not in the backup; table 'up_users' has no column 'phone' in the backup; fix anonymize.rules"), "\(result.standardError)")
        #expect(!result.standardError.contains("restoring into '"), "\(result.standardError)")
        #expect(try await column("SELECT count(*) FROM marker", in: database) == ["3"])
        #expect(try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, 'rules_wrong_')").rows.isEmpty, "no new database was made")

        let unknown = try await restore(database, recetteYML: "anonymize:\n  rules:\n    up_users:\n      email: scramble\n")
        #expect(unknown.status == 1)
        #expect(unknown.standardError.contains("recette.yml, anonymize.rules.up_users.email: unknown rule 'scramble': use null"), "\(unknown.standardError)")
    }
}

/// `keep:` tables of recette.yml carry the previous copy's rows over (issue 14).
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct KeptTablesTests: SampleRestoring {

    @Test func keptTablesHoldThePreviousCopysRows() async throws {
        let database = "keep_db"
        let first = try await restore(database, recetteYML: "keep: [strapi_api_tokens]\n")
        #expect(first.status == 0, "\(first.standardError)")
        let local = try PostgresConnection(url: try await url(database))
        try local.execute("""
            INSERT INTO strapi_api_tokens (id, name, type, access_key, created_by_id) VALUES (99, 'local token', 'full-access', 'local-key', 1);
            UPDATE strapi_api_tokens SET name = 'renamed locally' WHERE id = 1
            """)
        let before = try local.query("SELECT id::text, name, access_key FROM strapi_api_tokens ORDER BY id").rows

        let again = try await restore(database, recetteYML: "keep: [strapi_api_tokens]\n")
        #expect(again.status == 0, "\(again.standardError)")
        let copy = try PostgresConnection(url: try await url(database))
        #expect(try copy.query("SELECT id::text, name, access_key FROM strapi_api_tokens ORDER BY id").rows == before)
        #expect(try copy.query("INSERT INTO strapi_api_tokens (name) VALUES ('next') RETURNING id::text").scalar == "100", "the sequence goes on after the kept ids")
        #expect(again.standardOutput.contains("prepare: keep tables: copied from the database being replaced: strapi_api_tokens 3 row(s)"), "\(again.standardOutput)")
        #expect(again.standardError.contains("strapi_api_tokens → admin_users") && again.standardError.contains("add admin_users to keep in recette.yml"),
                "the closure is explained: \(again.standardError)")
        #expect(!(again.standardOutput + again.standardError).contains("local-key"), "kept values are never shown")
    }

    @Test func aKeptRowPointingAtWhatTheBackupLacksFailsAndKeepsThePreviousDatabase() async throws {
        let database = "keep_dangling"
        let first = try await restore(database, recetteYML: "")
        #expect(first.status == 0, "\(first.standardError)")
        // A role made locally, and a link to it: the link is kept, the role is not.
        try PostgresConnection(url: try await url(database)).execute("""
            INSERT INTO admin_roles (id, name, code) VALUES (50, 'Local', 'local-role');
            INSERT INTO admin_users_roles_links (user_id, role_id) VALUES (1, 50)
            """)
        let result = try await restore(database, recetteYML: "keep: [admin_users_roles_links]\n")
        #expect(result.status == 1)
        #expect(result.standardError.contains("prepare action 'keep tables' failed in the new database") && result.standardError.contains("foreign key"),
                "\(result.standardError)")
        #expect(result.standardError.contains("add admin_roles, admin_users to keep in recette.yml"), "the closure: \(result.standardError)")
        #expect(try PostgresConnection(url: try await url(database)).query("SELECT count(*) FROM admin_users_roles_links WHERE role_id = 50").scalar == "1",
                "the previous database is whole")
    }

    @Test func aKeptTableMissingFromTheBackupStopsBeforeTheRestore() async throws {
        let database = "keep_missing"
        try await markerDatabase(database)
        let admin = try PostgresConnection(url: try await url("postgres"))
        let result = try await restore(database, recetteYML: "keep:\n  - marker\n  - strapi_api_tokens\n")
        #expect(result.status == 1)
        #expect(result.standardError.contains("keep in recette.yml: 'marker' is not a table of the backup; 'strapi_api_tokens' is not a table of the database being replaced ('keep_missing'); fix the list (nothing was changed)"),
                "\(result.standardError)")
        #expect(try PostgresConnection(url: try await url(database)).query("SELECT count(*) FROM marker").scalar == "3")
        #expect(try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, 'keep_missing_')").rows.isEmpty)
    }
}
