import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// `recette backups` / `recette download` as a user runs them, against the Scalingo stand-in;
/// the downloaded sample backup is then restored into the local target.
@Suite(.tags(.postgres), .skippedInUnitLane) struct ScalingoCLITests {
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

    /// A login the stand-in refuses (another account's token), stored as the real CLI stores it.
    static func storeLogin(token: String, home: URL, fixture: ScalingoStandInTests.Fixture) throws -> URL {
        let directory = home.appendingPathComponent(".config/scalingo")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let host = "\(fixture.standIn.authURL.host!):\(fixture.standIn.authURL.port!)"
        let auth = directory.appendingPathComponent("auth")
        try Data(#"{"auth_data_version":"2.1","auth_config_data":{"\#(host)":{"tokens":{"token":"\#(token)"},"user":{"username":"someone-else"}}}}"#.utf8).write(to: auth)
        return auth
    }

    static var fixturesPath: String { TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures").path }

    @Test func theStandInCLIStoresTheVariablesTokenThenPrefersItsStoredLogin() async throws {
        let fixture = try await Self.fixture()
        let home = fixture.project.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        func scalingo(token: String) async throws -> CLIResult {
            try await CLI.collect(Command(Self.fixturesPath + "/scalingo", ["--app", ScalingoStandInTests.app, "--addon", "postgresql", "backups"],
                                          environment: Self.environment(fixture, extra: ["HOME": home.path, "SCALINGO_API_TOKEN": token])),
                                  currentDirectory: fixture.project)
        }
        // No stored login: it logs in with the variable (users/self) and stores the token.
        let first = try await scalingo(token: ScalingoStandIn.defaultAPIToken)
        #expect(first.status == 0, "\(first.standardError)")
        let stored = try String(contentsOf: home.appendingPathComponent(".config/scalingo/auth"), encoding: .utf8)
        #expect(stored.contains(ScalingoStandIn.defaultAPIToken))
        #expect(fixture.standIn.count(.userSelf) == 1 && fixture.standIn.count(.regions) == 1)
        // A stored login: the variable is ignored, even a wrong one; the regions come from the cache.
        let second = try await scalingo(token: "tk-us-not-a-token")
        #expect(second.status == 0, "\(second.standardError)")
        #expect(fixture.standIn.count(.userSelf) == 1 && fixture.standIn.count(.regions) == 1)
        // Another account's stored login wins over the right variable.
        _ = try Self.storeLogin(token: "tk-us-another-account", home: home, fixture: fixture)
        let third = try await scalingo(token: ScalingoStandIn.defaultAPIToken)
        #expect(third.status == 1 && third.standardError.contains("401"), "\(third.standardError)")
    }

    @Test func theScalingoCLIRouteIgnoresALoginStoredInTheHomeAndStoresNothingThere() async throws {
        let fixture = try await Self.fixture()
        let home = fixture.project.appendingPathComponent("home")
        let temporary = fixture.project.appendingPathComponent("tmp")
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        let auth = try Self.storeLogin(token: "tk-us-another-account", home: home, fixture: fixture)
        let before = try Data(contentsOf: auth)
        let environment = Self.environment(fixture, extra: [
            "PATH": Self.fixturesPath + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "HOME": home.path, "TMPDIR": temporary.path,
        ])
        let result = try await CLI.run(["download", "--scalingo-cli", "--backup", "b-newest", "--project-dir", fixture.project.path], environment: environment)
        #expect(result.status == 0, "the other account's login is not used: \(result.standardError)")
        #expect(fixture.standIn.count(.userSelf) == 1, "the CLI logged in with SCALINGO_API_TOKEN")
        #expect(try Data(contentsOf: auth) == before, "the stored login is left as it was")
        let homeFiles = FileManager.default.enumerator(atPath: home.path)?.compactMap { $0 as? String } ?? []
        for file in homeFiles {
            let text = (try? String(contentsOf: home.appendingPathComponent(file), encoding: .utf8)) ?? ""
            #expect(!text.contains(ScalingoStandIn.defaultAPIToken), "the token landed in \(file)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path).isEmpty, "the run's own CLI configuration is removed")
    }
}
