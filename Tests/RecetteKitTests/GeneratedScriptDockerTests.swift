import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The committed populate-with-recette-data.sh on a real engine, downloading through the
/// stand-in `scalingo` CLI from the Scalingo stand-in: it restores exactly what
/// `recette populate --target compose` restores, resets only the db volume, and refuses a bad
/// backup before touching anything.
@Suite(.tags(.docker, .postgres, .slow), .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct GeneratedScriptDockerTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("populate-with-recette-data.sh")

    /// The stack's settings, the stand-in's hosts, token and app, and the stand-in CLI on PATH.
    static func environment(stack: ComposeTestStack, fixture: ScalingoStandInTests.Fixture, argvLog: URL) -> [String: String] {
        let fixtures = TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures").path
        return stack.settings.merging(fixture.environment) { $1 }.merging([
            "PATH": fixtures + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "FAKE_SCALINGO_ARGV_LOG": argvLog.path,
            // The CLI stores its login under HOME unless told otherwise: a home of the test's own
            // (docker's config, where the compose plugin is, stays the user's).
            "HOME": argvLog.deletingLastPathComponent().appendingPathComponent("home").path,
            "DOCKER_CONFIG": ProcessInfo.processInfo.environment["DOCKER_CONFIG"]
                ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".docker").path,
        ]) { $1 }
    }

    @Test func theScriptRestoresWhatRecetteRestoresAndKeepsTheOtherVolumes() async throws {
        let sample = try await SampleCache.shared.sample()
        let fixture = try ScalingoStandInTests.Fixture(archive: sample.archive)
        let stack = ComposeTestStack()
        defer { stack.down() }
        let project = try ComposeProject.configured(by: stack.context())
        try await project.up(services: ["db", "search", "cms"], wait: true, timeout: .seconds(180))
        try await project.waitUntilReady(service: "db", timeout: .seconds(60))

        // recette populate, from the same Scalingo stand-in (its API route), up to the restore.
        let restored = try await CLI.run(["populate", "--target", "compose", "--yes", "--quiet", "--skip", "cms", "--skip", "reindex", "--skip", "check",
                                          "--project-dir", stack.directory.path],
                                         environment: stack.cliEnvironment(fixture.environment))
        #expect(restored.status == 0, "\(restored.standardError)")
        let byRecette = try TableFingerprints(url: stack.url(database: "app"))
        #expect(byRecette.tables.count == sample.expectedRowCounts.count)
        #expect(byRecette.tables["public.offres_de_stage"]?.rows == RestoreIntegrationTests.offers)

        // A row in the database, a file in each other volume: the reset must take the first only.
        let marks = try await stack.writeMarkers(project: project, round: "script")
        let argvLog = stack.directory.appendingPathComponent("scalingo-argv.log")
        let result = try await Bash.run([Self.script.path, "--yes", "--skip-reindex", "--project-dir", stack.directory.path],
                                        environment: Self.environment(stack: stack, fixture: fixture, argvLog: argvLog))
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "restored backup (latest) of \(ScalingoStandInTests.app) into database app of compose service db\n")
        #expect(result.standardError.contains("==> search indexes not rebuilt (--skip-reindex)"))
        #expect(result.standardError.range(of: #"timings: compose \d+s, download \d+s, verify \d+s, reset \d+s, restore \d+s, start \d+s"#, options: .regularExpression) != nil,
                "\(result.standardError)")

        let byScript = try TableFingerprints(url: stack.url(database: "app"))
        #expect(byScript == byRecette, "per-table row counts, checksums and sequences")
        #expect(byScript.tables["public.reset_marker"] == nil, "the database was reset")
        for (service, path) in ComposeTestStack.markerFiles {
            #expect(try await project.exec(service: service, argv: ["cat", path]).outputText == marks.token, "\(service):\(path)")
        }
        #expect(try await stack.runningContainerIDs(["db", "search", "cms"]).count == 3)

        // The CLI kept its login in the script's private directory, not in the user's home.
        let home = stack.directory.appendingPathComponent("home/.config/scalingo")
        #expect(!FileManager.default.fileExists(atPath: home.path), "the CLI stored its login under HOME")
        // The token reached the CLI through its environment only.
        let argv = try String(contentsOf: argvLog, encoding: .utf8)
        #expect(argv.contains("backups-download"))
        #expect(!argv.contains(ScalingoStandIn.defaultAPIToken) && !argv.contains("--api-token"))
        #expect(!(result.standardOutput + result.standardError).contains(ScalingoStandIn.defaultAPIToken))
        // The lock is released (its holder record cleared, as recette does).
        #expect(try String(contentsOf: stack.directory.appendingPathComponent(".recette/lock"), encoding: .utf8) == "")
        // No work files left behind, in the container either.
        #expect(try await project.exec(service: "db", argv: ["ls", "/tmp"]).outputText.contains("populate-with-recette-data") == false)
    }

    @Test func aBadBackupIsRefusedBeforeTheDatabaseIsTouched() async throws {
        let sample = try await SampleCache.shared.sample()
        let truncated = try await BadInput.truncatedArchive.make(from: sample.archive)
        let fixture = try ScalingoStandInTests.Fixture(archive: truncated)
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase()
        let before = try await stack.snapshot()
        let environment = Self.environment(stack: stack, fixture: fixture, argvLog: stack.directory.appendingPathComponent("argv.log"))

        // Downloaded through the CLI, cut in the middle.
        let downloaded = try await Bash.run([Self.script.path, "--yes", "--skip-reindex", "--project-dir", stack.directory.path], environment: environment)
        #expect(downloaded.status == 1)
        let lastLine = downloaded.standardError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(lastLine.hasPrefix("error: 'backup.tar.gz' is corrupt or truncated ("), "\(downloaded.standardError)")
        #expect(lastLine.hasSuffix("; download the backup again; nothing was changed"))
        #expect(try await stack.snapshot() == before, "same container, same volume, same row")

        // recette's lock is recette's and the script's: a run already there is waited for.
        let lock = try RunLock.acquire(stateDirectory: stack.directory.appendingPathComponent(".recette"), command: "recette restore")
        let locked = try await Bash.run([Self.script.path, "--yes", "--skip-reindex", "--project-dir", stack.directory.path], environment: environment)
        lock.release()
        #expect(locked.status == 1)
        #expect(locked.standardError.hasPrefix("error: another run holds \(stack.directory.path)/.recette/lock ({"), "\(locked.standardError)")
        #expect(locked.standardError.contains(#""command":"recette restore""#) && locked.standardError.contains(#""pid":\#(getpid())"#))

        // Given as files.
        for bad in [BadInput.notGzip, .tarWithoutDump, .unreadableDump] {
            let file = try await bad.make(from: sample.archive)
            let result = try await Bash.run([Self.script.path, "--yes", "--skip-reindex", "--backup", file.path, "--project-dir", stack.directory.path],
                                            environment: environment)
            #expect(result.status == 1, "\(bad)")
            #expect(result.standardError.split(separator: "\n").last?.contains(bad.expectedWords) == true, "\(bad): \(result.standardError)")
            #expect(try await stack.snapshot() == before, "\(bad): same container, same volume, same row")
        }
    }
}

/// Per table: row count and an md5 of every row (as text, in order); and every sequence's
/// last value. Equal fingerprints mean the same data, whatever restored it.
struct TableFingerprints: Equatable, CustomStringConvertible {
    struct Table: Equatable {
        var rows: Int
        var md5: String
    }
    var tables: [String: Table] = [:]
    var sequences: [String: String] = [:]

    init(url: String) throws {
        let connection = try PostgresConnection(url: url)
        let names = try connection.query("""
            SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
            WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1
            """).rows.compactMap { $0.first ?? nil }
        for name in names {
            let row = try connection.query("SELECT count(*), coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM \(name) t").rows[0]
            tables[name.replacingOccurrences(of: "\"", with: "")] = Table(rows: Int(row[0] ?? "") ?? -1, md5: row[1] ?? "")
        }
        for row in try connection.query("SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value::text, '') FROM pg_sequences").rows {
            sequences[row[0] ?? ""] = row[1] ?? ""
        }
    }

    var description: String {
        tables.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.rows) \($0.value.md5)" }.joined(separator: "\n")
    }
}
