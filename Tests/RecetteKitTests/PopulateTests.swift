import Foundation
import StandIns
import Synchronization
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// `recette populate` through the binary: dry runs touch nothing, the lock refuses a second
/// run, --notify gets the report, --only restore runs one step.
@Suite struct PopulateTests {
    /// A project whose local database (its own name) already holds the sample and a marker.
    private func projectWithExistingDatabase() async throws -> (project: URL, environment: [String: String], database: String, url: String) {
        let sample = try await SampleCache.shared.sample()
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let database = "populate_\(UUID().uuidString.prefix(8).lowercased())"
        let project = TestEnvironment.newProjectDirectory()
        // The repository's own recette.yml: the sample's indexes.
        try RepositoryConfiguration.copy(into: project)
        let environment = TestEnvironment.cliEnvironment.merging(["RECETTE_DATABASE": database]) { $1 }
        let restored = try await CLI.run(["restore", sample.archive.path, "--target", "local", "--project-dir", project.path, "--no-progress"], environment: environment)
        try #require(restored.status == 0, "\(restored.standardError)")
        let url = cluster.url(database: database, port: port)
        let connection = try PostgresConnection(url: url)
        try connection.execute("CREATE TABLE populate_marker (token text); INSERT INTO populate_marker VALUES ('before')")
        return (project, environment, database, url)
    }

    private func databaseIdentity(_ url: String, database: String) throws -> [String] {
        let connection = try PostgresConnection(url: url)
        return [
            try connection.query("SELECT oid::text FROM pg_database WHERE datname = $1", [database]).scalar ?? "-",
            try connection.query("SELECT string_agg(token, ',') FROM populate_marker").scalar ?? "-",
            try connection.query("SELECT count(*)::text FROM offres_de_stage").scalar ?? "-",
        ]
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func aDryRunOnAnExistingLocalDatabaseChangesNothing() async throws {
        let (project, environment, database, url) = try await projectWithExistingDatabase()
        let sample = try await SampleCache.shared.sample()
        let before = try databaseIdentity(url, database: database)
        let filesBefore = try FileManager.default.subpathsOfDirectory(atPath: project.path).sorted()

        let result = try await CLI.run(["populate", "--dry-run", "--backup", sample.archive.path, "--target", "local", "--project-dir", project.path], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("[restore] check the backup, reset the database, restore"))
        #expect(result.standardOutput.contains("rename it to '\(database)'"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("[reindex] rebuild the Meilisearch indexes"))
        #expect(result.standardOutput.contains("offre-de-stage: new index offre-de-stage_<timestamp>"))
        #expect(result.standardOutput.contains("nothing to start: the local target runs no CMS"))
        #expect(try databaseIdentity(url, database: database) == before)
        #expect(try FileManager.default.subpathsOfDirectory(atPath: project.path).sorted() == filesBefore, "no report, no lock file, no download")
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func onlyRestoreRunsOneStepAndNotifiesTheReport() async throws {
        let (project, environment, _, url) = try await projectWithExistingDatabase()
        let sample = try await SampleCache.shared.sample()
        let received = Received()
        let server = try LoopbackHTTPServer { request in
            received.append(request)
            return .json(204, [:])
        }
        defer { server.stop() }
        let result = try await CLI.run(["populate", "--only", "restore", "--backup", sample.archive.path, "--target", "local",
                                        "--notify", server.baseURL.appendingPathComponent("hook").absoluteString,
                                        "--project-dir", project.path, "--no-progress"], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("populate succeeded"))
        #expect(result.standardOutput.range(of: #"restore\s+succeeded"#, options: .regularExpression) != nil, "\(result.standardOutput)")
        #expect(result.standardOutput.range(of: #"reindex\s+skipped"#, options: .regularExpression) != nil)
        #expect(try PostgresConnection(url: url).query("SELECT to_regclass('public.populate_marker') IS NULL").scalar == "t", "replaced by the backup")

        let requests = received.all
        try #require(requests.count == 1)
        #expect(requests[0].method == "POST" && requests[0].path == "/hook")
        let summary = try #require(try JSONSerialization.jsonObject(with: requests[0].body) as? [String: Any])
        #expect(summary["event"] as? String == "recette.populate")
        let report = try #require(summary["report"] as? [String: Any])
        #expect(report["succeeded"] as? Bool == true)
        let steps = try #require(report["steps"] as? [[String: Any]])
        #expect(steps.map { $0["step"] as? String } == ["backup", "restore", "cms", "reindex", "check"])
        #expect(steps.map { $0["status"] as? String } == ["skipped", "succeeded", "skipped", "skipped", "skipped"])
        let runs = try FileManager.default.contentsOfDirectory(atPath: project.appendingPathComponent(".recette/runs").path)
        #expect(runs.contains { $0.hasPrefix("populate-") && $0.hasSuffix(".json") })
    }

    @Test func aFailedStepSaysHowToResumeAndStillNotifies() async throws {
        let project = TestEnvironment.newProjectDirectory()
        let received = Received()
        let server = try LoopbackHTTPServer { request in
            received.append(request)
            return .json(200, [:])
        }
        defer { server.stop() }
        let missing = project.appendingPathComponent("nope.tar.gz").path
        let result = try await CLI.run(["populate", "--backup", missing, "--target", "local", "--notify", server.baseURL.absoluteString,
                                        "--project-dir", project.path, "--no-progress"])
        #expect(result.status == 1)
        #expect(result.standardError.contains("step 'backup' failed: --backup \(missing): no such file"), "\(result.standardError)")
        #expect(result.standardError.contains("recette populate --from backup"))
        let summary = try #require(try received.all.first.flatMap { try JSONSerialization.jsonObject(with: $0.body) as? [String: Any] })
        #expect((summary["report"] as? [String: Any])?["succeeded"] as? Bool == false)
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func jsonLogsAreOneObjectPerLine() async throws {
        let (project, environment, _, _) = try await projectWithExistingDatabase()
        let sample = try await SampleCache.shared.sample()
        // --fresh: a real restore (the shared cluster may hold this sample's pristine template).
        let result = try await CLI.run(["populate", "--only", "restore", "--backup", sample.archive.path, "--target", "local", "--log-format", "json",
                                        "--json", "--fresh", "--project-dir", project.path, "--no-progress"], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        let lines = result.standardError.split(separator: "\n")
        #expect(lines.count >= 4)
        let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(objects.count == lines.count, "every log line is a JSON object: \(result.standardError)")
        #expect(objects.contains { ($0["message"] as? String)?.hasPrefix("step restore: succeeded") == true }, "\(objects)")
        // --json: the report itself on standard output, one object.
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any])
        #expect(report["succeeded"] as? Bool == true)
    }

    @Test func aSecondRunIsRefusedWithTheHolder() async throws {
        let project = TestEnvironment.newProjectDirectory()
        let held = try RunLock.acquire(stateDirectory: project.appendingPathComponent(".recette"), command: "recette populate")
        defer { held.release() }
        let result = try await CLI.run(["populate", "--only", "cms", "--project-dir", project.path])
        #expect(result.status == 1)
        #expect(result.standardError.contains("another recette run holds this project's lock (pid \(getpid()), 'recette populate', started "), "\(result.standardError)")
    }
}

/// Requests a loopback server received, in order.
final class Received: Sendable {
    private let requests = Mutex<[HTTPRequest]>([])
    func append(_ request: HTTPRequest) { requests.withLock { $0.append(request) } }
    var all: [HTTPRequest] { requests.withLock { $0 } }
}
