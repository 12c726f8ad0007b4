import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The pristine template on the compose target (issue 16), on a real engine: kept in the db
/// service's server by a restore, cloned back by `reset --pristine` with the CMS service
/// stopped around the swap, used by a second restore of the same backup instead of a volume
/// reset.
@Suite(.tags(.docker, .postgres, .slow), .dockerSlot, .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct ComposePristineTests {
    func recette(_ stack: ComposeTestStack, _ arguments: [String], _ extra: [String: String] = [:]) async throws -> CLIResult {
        try await CLI.run(arguments + ["--target", "compose", "--yes", "--no-progress", "--project-dir", stack.directory.path],
                          environment: stack.cliEnvironment(extra))
    }

    func fingerprint(_ stack: ComposeTestStack) throws -> [String: String] {
        try PristineTests.fingerprint(PostgresConnection(url: stack.url(database: "app")))
    }

    func containerStartedAt(_ stack: ComposeTestStack, _ service: String) async throws -> String {
        let id = try #require(try await stack.runningContainerIDs([service]).first, "\(service) is not running")
        return try await SubprocessRunner().output(of: Command("docker", ["inspect", "--format", "{{.State.StartedAt}}", id]))
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The db service's cluster: a volume reset means a new initdb, hence a new identifier.
    func systemIdentifier(_ stack: ComposeTestStack) throws -> String? {
        try PostgresConnection(url: stack.url(database: "postgres")).query("SELECT system_identifier::text FROM pg_control_system()").scalar
    }

    /// Sessions connected to `app` under this application name.
    func sessions(_ stack: ComposeTestStack, named name: String) throws -> Int {
        Int(try PostgresConnection(url: stack.url(database: "postgres"))
            .query("SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND application_name = $1", [name]).scalar ?? "") ?? -1
    }

    @Test func aRestoreKeepsATemplateAndAResetBringsTheRowsBackWithTheCMSStoppedAroundTheSwap() async throws {
        let sample = try await SampleCache.shared.sample()
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase(services: ["db", "search", "cms"])

        let restore = try await recette(stack, ["restore", sample.archive.path])
        #expect(restore.status == 0, "\(restore.standardError)")
        #expect(restore.standardOutput.contains("pristine template 'app__recette_pristine' kept"), "\(restore.standardOutput)")
        let admin = try PostgresConnection(url: stack.url(database: "postgres"))
        let row = try #require(try admin.query("SELECT datistemplate, datallowconn, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'app__recette_pristine'").rows.first)
        #expect(row[0] == "t" && row[1] == "f")
        let marker = try #require(row[2].flatMap(PristineTemplate.marker(fromComment:)))
        #expect(marker.checksum == (try await PristineTemplate.checksum(of: sample.archive, runner: SubprocessRunner())) && marker.database == "app")
        #expect(throws: PostgresError.self) { try PostgresConnection(url: stack.url(database: "app__recette_pristine")) }
        let restored = try fingerprint(stack)
        #expect(restored.count > 10)

        // A developer's day on the copy, and "the CMS" connected to it from its own container.
        try PostgresConnection(url: stack.url(database: "app")).execute("""
            UPDATE offres_de_stage SET title = 'changed' WHERE id % 3 = 0; DELETE FROM offres_de_stage_components;
            INSERT INTO offres_de_stage (title) VALUES ('new'); CREATE TABLE scratch (id int)
            """)
        #expect(try fingerprint(stack) != restored)
        try await SubprocessRunner().run(stack.compose(["exec", "-d", "-e", "PGAPPNAME=cms-standin", "cms", "sh", "-c",
                                                        "sleep 600 | psql -h 127.0.0.1 -p \(stack.port) -U postgres -d app"]))
        var connected = false
        for _ in 0..<200 where !connected {
            connected = try sessions(stack, named: "cms-standin") == 1
            if !connected { try await Task.sleep(for: .milliseconds(100)) }
        }
        try #require(connected, "the CMS stand-in's session never showed up")
        let cmsStarted = try await containerStartedAt(stack, "cms")

        let reset = try await recette(stack, ["reset", "--pristine", "--skip-reindex"])
        #expect(reset.status == 0, "\(reset.standardError)")
        #expect(reset.standardOutput.contains("'app' is the pristine copy again"), "\(reset.standardOutput)")
        // The restore left a ready copy of the template being made in the db service: renamed into place.
        #expect(reset.standardOutput.contains("renamed into place"), "\(reset.standardOutput)")
        #expect(reset.standardOutput.contains("the CMS service 'cms' was stopped for the swap and started again"), "\(reset.standardOutput)")
        // Stopped before the swap: its session went with it, so the rename had none to end.
        #expect(!reset.standardOutput.contains("session(s) ended"), "\(reset.standardOutput)")
        #expect(try sessions(stack, named: "cms-standin") == 0)
        #expect(try await containerStartedAt(stack, "cms") != cmsStarted, "the CMS service was started again")
        #expect(try fingerprint(stack) == restored, "every table holds exactly the restored rows again; scratch is gone")
        let left = try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, 'app') ORDER BY 1").column("datname").compactMap { $0 }
        // The next ready copy may still be being made (not yet in the catalog).
        #expect(left.filter { $0 != "app__recette_spare" } == ["app", "app__recette_pristine"], "\(left)")

        // Without the CMS running, nothing is started. Without a ready copy, the template is
        // cloned; the engine is this machine's: its files are read ahead through the container's root.
        try await SubprocessRunner().run(stack.compose(["stop", "cms"]))
        let again = try await recette(stack, ["reset", "--pristine", "--skip-reindex"], ["RECETTE_PRISTINE_SPARE": "false"])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardError.contains("reading the template's files ahead"), "\(again.standardError)")
        #expect(again.standardOutput.contains("the CMS service 'cms' is not running: nothing was stopped or started"), "\(again.standardOutput)")
        #expect(try await stack.runningContainerIDs(["cms"]).isEmpty)

        // populate --from reset: the reset leaves the CMS service stopped, the cms step starts it.
        try await SubprocessRunner().run(stack.compose(["up", "--detach", "--wait", "cms"]))
        let health = try LoopbackHTTPServer { request in request.path == "/_health" ? .text(204, "") : .text(404, "not found") }
        defer { health.stop() }
        let populate = try await recette(stack, ["populate", "--from", "reset", "--skip", "reindex", "--skip", "check"],
                                         ["RECETTE_CMS_HEALTH_URL": health.baseURL.appendingPathComponent("_health").absoluteString])
        #expect(populate.status == 0, "\(populate.standardError)")
        #expect(populate.standardOutput.contains("the CMS service 'cms' was stopped for the swap; the cms step starts it again"), "\(populate.standardOutput)")
        #expect(populate.standardOutput.range(of: "\ncms\\s+succeeded", options: .regularExpression) != nil, "\(populate.standardOutput)")
        #expect(try await stack.runningContainerIDs(["cms"]).count == 1)
        #expect(try fingerprint(stack) == restored)
    }

    @Test func aStaleOrMissingTemplateIsRefusedAndTheSameBackupIsClonedUnlessFresh() async throws {
        let sample = try await SampleCache.shared.sample()
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase()
        let before = try await stack.snapshot()
        let missing = try await recette(stack, ["reset", "--pristine", "--skip-reindex"])
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("there is no pristine template of 'app' on the 'db' service"), "\(missing.standardError)")
        #expect(try await stack.snapshot() == before, "same container, same volume, same row")

        let owner = ["SCALINGO_DB_USER": "app_owner"]
        let restore = try await recette(stack, ["restore", sample.archive.path], owner)
        #expect(restore.status == 0, "\(restore.standardError)")
        let restored = try fingerprint(stack)
        try PostgresConnection(url: stack.url(database: "app")).execute("CREATE TABLE scratch (id int)")
        let cluster = try systemIdentifier(stack)
        let stale = try await recette(stack, ["reset", "--pristine", "--skip-reindex"], ["SCALINGO_DB_USER": "someone_else"])
        #expect(stale.status == 1)
        #expect(stale.standardError.contains("was made with other prepare settings"), "\(stale.standardError)")
        #expect(try fingerprint(stack)["public.scratch"] != nil, "the database was not replaced")

        let status = try await CLI.run(["pristine", "status", "--target", "compose", "--project-dir", stack.directory.path], environment: stack.cliEnvironment(owner))
        #expect(status.status == 0, "\(status.standardError)")
        #expect(status.standardOutput.contains("template: app__recette_pristine on the 'db' service"), "\(status.standardOutput)")
        #expect(status.standardOutput.contains("backup: \(sample.archive.lastPathComponent)") && status.standardOutput.contains("(today's)"), "\(status.standardOutput)")

        // The same backup again, the db service stopped meanwhile: it is started, the template
        // cloned, the volume left alone.
        try await SubprocessRunner().run(stack.compose(["stop", "db"]))
        let cloned = try await recette(stack, ["restore", sample.archive.path], owner)
        #expect(cloned.status == 0, "\(cloned.standardError)")
        #expect((cloned.standardOutput + cloned.standardError).contains("cloning it instead of resetting the 'db' volume"), "\(cloned.standardError)")
        #expect(cloned.standardOutput.contains("cloned from the pristine template 'app__recette_pristine'"), "\(cloned.standardOutput)")
        #expect(!cloned.standardOutput.contains("pg_restore"), "\(cloned.standardOutput)")
        #expect(try systemIdentifier(stack) == cluster, "no volume reset: the same cluster, no new initdb")
        #expect(try fingerprint(stack) == restored)

        // --fresh: the volume reset and pg_restore anyway, and a new template.
        let fresh = try await recette(stack, ["restore", sample.archive.path, "--fresh"], owner)
        #expect(fresh.status == 0, "\(fresh.standardError)")
        #expect(fresh.standardOutput.contains("pg_restore") && fresh.standardOutput.contains("pristine template 'app__recette_pristine' kept"), "\(fresh.standardOutput)")
        #expect(try systemIdentifier(stack) != cluster, "the volume was reset: a new cluster")

        let dropped = try await CLI.run(["pristine", "drop", "--target", "compose", "--yes", "--project-dir", stack.directory.path], environment: stack.cliEnvironment(owner))
        #expect(dropped.status == 0, "\(dropped.standardError)")
        #expect(try PostgresConnection(url: stack.url(database: "postgres")).query("SELECT count(*) FROM pg_database WHERE datname = 'app__recette_pristine'").scalar == "0")
    }
}
