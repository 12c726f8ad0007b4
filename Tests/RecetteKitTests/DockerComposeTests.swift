import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// A real Docker engine and Docker Compose v2: `docker compose up --wait` on the project's
/// compose file with the test override, then queries to the containerised PostgreSQL.
///
/// scripts/test.sh sets RECETTE_REQUIRE_DOCKER=1: there a missing engine fails the test
/// instead of skipping it. Elsewhere, without an engine, the test is reported as skipped.
@Suite(.tags(.docker, .slow), .dockerSlot, .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct DockerComposeTests {
    @Test func composeUpWaitThenQueryTheContainerisedPostgres() async throws {
        let runner = SubprocessRunner()
        let project = "recette-test-\(getpid())"
        let port = LocalCluster.freeLoopbackPort()
        let files = ["-f", TestEnvironment.packageRoot.appendingPathComponent("compose/compose.yaml").path,
                     "-f", TestEnvironment.packageRoot.appendingPathComponent("compose/testing/compose.test.yaml").path]
        let environment = ["RECETTE_TEST_DB_PORT": String(port)]
        func compose(_ arguments: [String]) -> Command {
            Command("docker", ["compose", "--project-name", project] + files + arguments, environment: environment)
        }
        defer {
            let down = Process()
            down.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            down.arguments = ["docker", "compose", "--project-name", project] + files + ["down", "--volumes", "--timeout", "5"]
            down.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            down.standardOutput = FileHandle.nullDevice
            down.standardError = FileHandle.nullDevice
            try? down.run()
            down.waitUntilExit()
        }
        try await runner.run(compose(["up", "--detach", "--wait", "--wait-timeout", "120", "db"]))

        let connection = try PostgresConnection(url: "postgresql://postgres@127.0.0.1:\(port)/postgres?connect_timeout=10")
        let version = try connection.query("SELECT current_setting('server_version_num')::int / 10000").scalar
        #expect(version == "15")
        try connection.execute("CREATE TABLE offres_de_stage (id int PRIMARY KEY); INSERT INTO offres_de_stage SELECT generate_series(1, 250)")
        #expect(try connection.query("SELECT count(*) FROM offres_de_stage").scalar == "250")

        // The same server seen from inside its container.
        let inside = try await runner.output(of: compose(["exec", "-T", "db", "psql", "-U", "postgres", "-Atc", "SELECT count(*) FROM offres_de_stage"]))
        #expect(inside == "250")
    }
}

let dockerShouldRun: Bool = {
    if TestLane.isUnit { return false }
    if ProcessInfo.processInfo.environment["RECETTE_REQUIRE_DOCKER"] == "1" { return true }
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["docker", "info"]
    probe.standardOutput = FileHandle.nullDevice
    probe.standardError = FileHandle.nullDevice
    do { try probe.run() } catch { return false }
    probe.waitUntilExit()
    return probe.terminationStatus == 0
}()
