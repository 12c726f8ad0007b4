import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The built `recette` binary, as a user runs it.
@Suite struct CLITests {
    static let subcommands: [[String]] = [
        ["populate"], ["backups"], ["download"], ["restore"], ["reset"], ["reindex"], ["search"], ["search", "status"],
        ["search", "verify"], ["generate"], ["doctor"], ["local"], ["local", "start"], ["local", "stop"], ["local", "status"], ["sample-backup"],
        ["strapi"], ["strapi", "check"],
    ]

    @Test func topLevelHelpListsEverySubcommand() async throws {
        let result = try await CLI.run(["--help"])
        #expect(result.status == 0)
        for name in ["populate", "backups", "download", "restore", "reset", "reindex", "search", "generate", "doctor", "local", "sample-backup"] {
            #expect(result.standardOutput.contains("  \(name) "), "missing \(name)")
        }
    }

    @Test(arguments: subcommands)
    func everySubcommandHasHelp(_ words: [String]) async throws {
        let result = try await CLI.runInProcess(words + ["--help"])
        #expect(result.status == 0)
        #expect(result.standardOutput.contains("OVERVIEW:"))
        #expect(result.standardOutput.contains("USAGE: recette \(words.joined(separator: " "))"))
    }

    @Test(arguments: [
        (["restore", "x.tar.gz", "--bogus"], "Unknown option '--bogus'"),
        (["restore", "x.tar.gz", "--jobs", "many"], "The value 'many' is invalid for '--jobs"),
        (["restore", "x.tar.gz", "--target", "prod"], "The value 'prod' is invalid for '--target"),
        (["restore"], "Missing expected argument"),
        (["doctor", "--log-format", "xml"], "The value 'xml' is invalid"),
        (["nonsense"], "Unexpected argument 'nonsense'"),
        (["restore", "x", "--jobs", "0"], "--jobs must be at least 1"),
    ])
    func usageErrorsAreOneLineWithStatus2(_ arguments: [String], _ expected: String) async throws {
        let result = try await CLI.runInProcess(arguments)
        #expect(result.status == 2)
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        #expect(result.standardError.contains(expected), "\(result.standardError)")
    }

    @Test func resetWithoutYesAndWithoutATerminalRefusesInOneLine() async throws {
        var environment = TestEnvironment.cliEnvironment
        environment["RECETTE_DATABASE"] = "never_reset"
        let result = try await CLI.runInProcess(["reset", "--target", "local"], environment: environment)
        #expect(result.status == 1)
        #expect(result.standardError == "error: refusing to drop database 'never_reset' without confirmation and there is no terminal to ask on; pass --yes to confirm (or --dry-run to see the plan)")
        let usage = try await CLI.runInProcess(["reset", "--wait-timeout", "0"])
        #expect(usage.status == 2)
    }

    /// doctor judges Compose by the compose target's rule: v5 (after v2) is fine.
    @Test func doctorAcceptsComposeV5() async throws {
        let bin = TestEnvironment.newProjectDirectory().appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        let fake = bin.appendingPathComponent("docker")
        try """
            #!/bin/sh
            if [ "$1 $2 $3" = "compose version --short" ]; then echo v5.0.1; exit 0; fi
            if [ "$1" = version ]; then echo 28.2.2; exit 0; fi
            exit 1
            """.write(to: fake, atomically: true, encoding: .utf8)
        chmod(fake.path, 0o755)
        var environment = TestEnvironment.cliEnvironment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        let result = try await CLI.runInProcess(["doctor"], environment: environment)
        #expect(result.standardOutput.contains("docker compose") && result.standardOutput.contains("v5.0.1"), "\(result.standardOutput)")
        #expect(!result.standardOutput.contains("not found"), "\(result.standardOutput)")
    }

    @Test func doctorShowsTheConfigurationWithSecretsRedacted() async throws {
        var environment = TestEnvironment.cliEnvironment
        environment["SCALINGO_API_TOKEN"] = "tk-us-doctor-must-not-print-this"
        // Unencoded `/` and `?` in the password: where a URL scanner would end the host part.
        environment["DATABASE_URL"] = "postgresql://app:db-pass/word?xyz@127.0.0.1:10000/app"
        environment["SCALINGO_APP"] = "my-recette-app"
        let result = try await CLI.runInProcess(["doctor"], environment: environment)
        let everything = result.standardOutput + result.standardError
        #expect(!everything.contains("tk-us-doctor-must-not-print-this"))
        #expect(!everything.contains("db-pass") && !everything.contains("word?xyz"), "\(everything)")
        #expect(result.standardOutput.contains("my-recette-app"))
        #expect(result.standardOutput.contains("postgresql://app:***@127.0.0.1:10000/app"))
        #expect(result.standardOutput.contains("ok       pg_restore"))
        #expect(result.status == 0, "\(result.standardOutput)")
    }

    /// A project directory recette cannot write to, or a file where `.recette/` should be:
    /// one line naming the path, the cause and the fix, not Foundation's error dump.
    @Test func anUnwritableProjectDirectoryIsOneLine() async throws {
        let readOnly = TestEnvironment.newProjectDirectory()
        chmod(readOnly.path, 0o555)
        defer { chmod(readOnly.path, 0o755) }
        var command = Command(TestEnvironment.binary.path, ["sample-backup", "--offers", "10", "--output", "out"], environment: TestEnvironment.cliEnvironment)
        // Root writes anywhere: run as the postgres user then, as the local server runs.
        if SystemUser.isRoot {
            let postgres: SystemUser = try #require(SystemUser.lookup("postgres"))
            command.user = postgres
        }
        let denied = try await CLI.collect(command, currentDirectory: readOnly)
        #expect(denied.status == 1)
        #expect(denied.standardError.split(separator: "\n").count == 1 && !denied.standardError.contains("Domain="), "\(denied.standardError)")
        #expect(denied.standardError.hasPrefix("error: cannot create \(readOnly.path)/.recette: Permission denied; check the permissions of \(readOnly.path)"),
                "\(denied.standardError)")

        let blocked = TestEnvironment.newProjectDirectory()
        try Data().write(to: blocked.appendingPathComponent(".recette"))
        let inTheWay = try await CLI.runInProcess(["sample-backup", "--offers", "10", "--output", "out"], currentDirectory: blocked)
        #expect(inTheWay.status == 1)
        #expect(inTheWay.standardError.split(separator: "\n").count == 1 && !inTheWay.standardError.contains("Domain="), "\(inTheWay.standardError)")
        #expect(inTheWay.standardError.contains("\(blocked.path)/.recette: File exists; a file is in the way"), "\(inTheWay.standardError)")
    }

    @Test func restoreOfAMissingFileIsOneLineAndStatus1() async throws {
        let result = try await CLI.runInProcess(["restore", "/nonexistent/backup.tar.gz"])
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").last == "error: backup file '/nonexistent/backup.tar.gz' does not exist; check the path, or run 'recette download' to fetch one")
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func sampleBackupThenRestoreThroughTheCLI() async throws {
        _ = try await TestEnvironment.startedCluster()
        let output = TestEnvironment.clusterDirectory.appendingPathComponent("cli-backups")
        let built = try await CLI.run(["sample-backup", "--offers", "300", "--housing", "120", "--app", "cli-app", "--output", output.path, "--quiet"])
        #expect(built.status == 0, "\(built.standardError)")
        let archive = built.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(archive.hasSuffix("_cli-app_1.tar.gz"))

        var environment = TestEnvironment.cliEnvironment
        environment["RECETTE_DATABASE"] = "cli_restore"
        let restored = try await CLI.run(["restore", archive, "--quiet"], environment: environment)
        #expect(restored.status == 0, "\(restored.standardError)")
        #expect(restored.standardOutput.contains("offres_de_stage                           300") || restored.standardOutput.range(of: #"offres_de_stage\s+300\n"#, options: .regularExpression) != nil, "\(restored.standardOutput)")
        #expect(restored.standardOutput.range(of: #"annonces_de_logement\s+120\n"#, options: .regularExpression) != nil)
        #expect(restored.standardOutput.contains("DATABASE_URL=postgresql://postgres@127.0.0.1:"))
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func interruptStopsTheWorkAndExits130() async throws {
        _ = try await TestEnvironment.startedCluster()
        let (process, errors) = try CLI.launch(["sample-backup", "--offers", "5000000", "--housing", "0", "--app", "interrupted",
                                                "--output", TestEnvironment.clusterDirectory.appendingPathComponent("never").path])
        // Wait until the build is under way (a long INSERT on the server), then Ctrl-C.
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        var busy = false
        for _ in 0..<400 where !busy {
            try await Task.sleep(for: .milliseconds(50))
            busy = try !admin.query("SELECT 1 FROM pg_stat_activity WHERE datname LIKE 'recette\\_sample\\_build\\_\(process.processIdentifier)\\_%' AND state = 'active'").rows.isEmpty
        }
        #expect(busy)
        let start = ContinuousClock.now
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        #expect(ContinuousClock.now - start < .seconds(15))
        #expect(process.terminationStatus == 130)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("interrupted"))
        // The half-built database was dropped on the way out.
        #expect(try admin.query("SELECT 1 FROM pg_database WHERE datname LIKE 'recette\\_sample\\_build\\_\(process.processIdentifier)\\_%'").rows.isEmpty)
    }
}
