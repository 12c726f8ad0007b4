import Foundation
import StandIns
import Testing
@testable import RecetteKit

/// `recette backups` / `recette download` as a user runs them, against the Scalingo stand-in;
/// the downloaded sample backup is then restored into the local target.
@Suite struct ScalingoCLITests {
    /// A stand-in serving this run's sample backup (a real Scalingo-shaped archive).
    static func fixture() async throws -> ScalingoStandInTests.Fixture {
        let sample = try await SampleCache.shared.sample()
        return try ScalingoStandInTests.Fixture(archive: sample.archive)
    }

    static func environment(_ fixture: ScalingoStandInTests.Fixture, extra: [String: String] = [:]) -> [String: String] {
        TestEnvironment.cliEnvironment.merging(fixture.environment) { $1 }.merging(extra) { $1 }
    }

    @Test func backupsTableIsNewestFirstAndJSONIsParseable() async throws {
        let fixture = try await Self.fixture()
        fixture.standIn.listOrder = .unfinishedFirstThenOldest
        let table = try await CLI.run(["backups", "--project-dir", fixture.project.path], environment: Self.environment(fixture))
        #expect(table.status == 0, "\(table.standardError)")
        let lines = table.standardOutput.split(separator: "\n")
        #expect(lines.first?.hasPrefix("id") == true)
        #expect(lines.dropFirst().map { String($0.split(separator: " ")[0]) } == ["b-running", "b-newest", "b-middle", "b-old"])
        #expect(table.standardOutput.contains("2026-11-20 02:00 UTC"))

        let json = try await CLI.run(["backups", "--json", "--project-dir", fixture.project.path], environment: Self.environment(fixture))
        let decoded = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [[String: Any]]
        #expect(decoded?.map { $0["id"] as? String } == ["b-running", "b-newest", "b-middle", "b-old"])
    }

    @Test func downloadThenRestoreEndToEnd() async throws {
        let fixture = try await Self.fixture()
        _ = try await TestEnvironment.startedCluster()
        let environment = Self.environment(fixture, extra: ["RECETTE_DATABASE": "from_scalingo"])
        let downloaded = try await CLI.run(["download", "--verbose", "--project-dir", fixture.project.path], environment: environment)
        #expect(downloaded.status == 0, "\(downloaded.standardError)")
        let path = downloaded.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        try fixture.expectIdentical(URL(fileURLWithPath: path))

        // No secret anywhere in what the user sees, even with --verbose.
        let seen = downloaded.standardOutput + downloaded.standardError
        #expect(!seen.contains(ScalingoStandIn.defaultAPIToken))
        #expect(!seen.contains("eyJ"))

        let again = try await CLI.run(["download", "--project-dir", fixture.project.path], environment: environment)
        #expect(again.standardOutput == downloaded.standardOutput)
        #expect(fixture.standIn.downloadCount == 1, "the second run uses the cache")

        let restored = try await CLI.run(["restore", path, "--quiet", "--project-dir", fixture.project.path], environment: environment)
        #expect(restored.status == 0, "\(restored.standardError)")
        #expect(restored.standardOutput.range(of: #"offres_de_stage\s+\#(RestoreIntegrationTests.offers)\n"#, options: .regularExpression) != nil, "\(restored.standardOutput)")
    }

    @Test func missingTokenOrAppIsOneLine() async throws {
        let fixture = try await Self.fixture()
        var environment = Self.environment(fixture)
        environment["SCALINGO_API_TOKEN"] = nil
        let noToken = try await CLI.run(["backups", "--project-dir", fixture.project.path], environment: environment)
        #expect(noToken.status == 1)
        #expect(noToken.standardError == "error: SCALINGO_API_TOKEN is not set: create an API token in your Scalingo account settings and put it in .env or the environment")
        let badDate = try await CLI.run(["download", "--date", "yesterday"], environment: environment)
        #expect(badDate.status == 2)
    }

    @Test func theScalingoCLIRouteGetsTheTokenOnlyThroughItsEnvironment() async throws {
        let fixture = try await Self.fixture()
        let argvLog = fixture.project.appendingPathComponent("scalingo-argv.log")
        let fixtures = TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures").path
        let environment = Self.environment(fixture, extra: [
            "PATH": fixtures + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "FAKE_SCALINGO_ARGV_LOG": argvLog.path,
        ])
        let result = try await CLI.run(["download", "--scalingo-cli", "--backup", "b-newest", "--project-dir", fixture.project.path], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        let path = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(path.hasSuffix(".recette/backups/scalingo-cli/b-newest.tar.gz"))
        try fixture.expectIdentical(URL(fileURLWithPath: path))
        let argv = try String(contentsOf: argvLog, encoding: .utf8)
        #expect(argv.contains("backups-download"))
        #expect(!argv.contains(ScalingoStandIn.defaultAPIToken))
        #expect(!argv.contains("--api-token"))

        // Without the CLI installed: a clear one-line error.
        let missing = try await CLI.run(["download", "--scalingo-cli", "--project-dir", fixture.project.path],
                                        environment: Self.environment(fixture, extra: ["PATH": "/nonexistent"]))
        #expect(missing.status == 1)
        #expect(missing.standardError.contains("the Scalingo CLI ('scalingo') is not installed"), "\(missing.standardError)")
    }
}
