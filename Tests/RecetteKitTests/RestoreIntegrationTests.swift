import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The walking skeleton on real PostgreSQL and real pg_dump/pg_restore: a sample backup built
/// like Scalingo's, restored into the local target, counted; bad inputs leave the database alone.
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct RestoreIntegrationTests {
    static let offers = 1_200
    static let housing = 500

    /// Built once per test run (pg_dump + tar), shared by the tests of this suite.
    static func sample() async throws -> SampleBackup {
        try await SampleCache.shared.sample()
    }

    private func countOffers(database: String) async throws -> Int {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: database, port: port))
        return Int(try connection.query("SELECT count(*) FROM offres_de_stage").scalar ?? "") ?? -1
    }

    @Test func theSampleLooksLikeAScalingoBackup() async throws {
        let sample = try await Self.sample()
        #expect(sample.archive.lastPathComponent.range(of: #"^\d{14}_recette-tests_1\.tar\.gz$"#, options: .regularExpression) != nil)
        let listing = try await SubprocessRunner().output(of: Command("tar", ["--list", "--gzip", "--file", sample.archive.path]))
        #expect(listing.split(separator: "\n").count == 1)
        #expect(listing.hasPrefix("./") && listing.hasSuffix(".pgsql"))
        // Its objects belong to a role that no longer exists, as on a real target.
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        #expect(try admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [sample.ownerRole]).rows.isEmpty)
        let context = try TestEnvironment.machineContext()
        let archive = try await BackupArchive.inspect(sample.archive, runner: context.runner)
        let dump = try await archive.dumpFile(extractingInto: TestEnvironment.scratchDirectory.appendingPathComponent(UUID().uuidString), runner: context.runner)
        let toc = try await DumpReader(pgRestore: context.postgresTools.require(.pgRestore), runner: context.runner).tableOfContents(of: dump, describedAs: "sample")
        #expect(toc.ownerRoles == [sample.ownerRole])
        #expect(toc.entries.contains { $0.type == "TABLE DATA" && $0.name == "offres_de_stage" })
    }

    @Test func restoresTheSampleWithTheGeneratorsRowCounts() async throws {
        let sample = try await Self.sample()
        let context = try TestEnvironment.machineContext()
        let outcome = try await LocalRestore(context: context, database: "restore_counts").restore(archiveFile: sample.archive)
        let counts = Dictionary(uniqueKeysWithValues: outcome.rowCounts.map { ($0.table, $0.rows) })
        #expect(counts == sample.expectedRowCountsAfterPrepare)
        #expect(counts["offres_de_stage"] == Self.offers)
        #expect(counts["annonces_de_logement"] == Self.housing)

        // Published rows are what the search index will hold later.
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "restore_counts", port: port))
        let published = try connection.query("SELECT count(*) FROM offres_de_stage WHERE published_at IS NOT NULL").scalar
        #expect(Int(published ?? "") == sample.expectedPublishedCounts["offres_de_stage"])
        #expect(sample.expectedPublishedCounts["offres_de_stage"]! < Self.offers)

        // A second restore replaces the first one (no duplicate rows, same counts).
        let again = try await LocalRestore(context: context, database: "restore_counts").restore(archiveFile: sample.archive)
        #expect(Dictionary(uniqueKeysWithValues: again.rowCounts.map { ($0.table, $0.rows) }) == sample.expectedRowCountsAfterPrepare)
    }

    @Test func keepOwnersCreatesTheOwnerRolesAndKeepsOwnership() async throws {
        let sample = try await Self.sample()
        var options = RestoreOptions()
        options.keepOwners = true
        let context = try TestEnvironment.machineContext(environment: ["SCALINGO_DB_USER": "recette_team_user"])
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        defer {
            // Other tests of this suite expect the owner role not to exist.
            try? admin.execute("DROP DATABASE IF EXISTS roles_kept WITH (FORCE)")
            try? admin.execute("DROP ROLE IF EXISTS \(PostgresConnection.quoteIdentifier(sample.ownerRole))")
            try? admin.execute("DROP ROLE IF EXISTS recette_team_user")
        }
        let outcome = try await LocalRestore(context: context, database: "roles_kept", options: options).restore(archiveFile: sample.archive)
        #expect(outcome.rowCounts.first { $0.table == "offres_de_stage" }?.rows == Self.offers)
        let connection = try PostgresConnection(url: cluster.url(database: "roles_kept", port: port))
        #expect(try connection.query("SELECT tableowner FROM pg_tables WHERE tablename = 'offres_de_stage'").scalar == sample.ownerRole)
        #expect(try connection.query("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = $1", [sample.ownerRole]).rows == [["f", "f"]])
        #expect(try connection.query("SELECT count(*) FROM pg_roles WHERE rolname = 'recette_team_user'").scalar == "1")
    }

    @Test(arguments: BadInput.allCases)
    func badInputFailsClearlyAndLeavesTheDatabaseAlone(_ input: BadInput) async throws {
        let sample = try await Self.sample()
        let context = try TestEnvironment.machineContext()
        let database = "restore_bad_\(input.rawValue)"
        _ = try await LocalRestore(context: context, database: database).restore(archiveFile: sample.archive)
        #expect(try await countOffers(database: database) == Self.offers)

        let file = try await input.make(from: sample.archive)
        do {
            _ = try await LocalRestore(context: context, database: database).restore(archiveFile: file)
            Issue.record("restoring \(input) should fail")
        } catch {
            let message = "\(error)"
            #expect(!message.contains("\n"), "one line: \(message)")
            #expect(message.contains(input.expectedWords), "\(message)")
            #expect(message.contains(file.lastPathComponent) || message.contains(file.path))
        }
        #expect(try await countOffers(database: database) == Self.offers, "the existing database must be untouched")
    }
}

enum BadInput: String, CaseIterable, CustomTestStringConvertible {
    case missingFile, notGzip, tarWithoutDump, truncatedArchive, unreadableDump, dumpTruncatedInData, dumpIsASymlink, dumpOutsideTheArchive

    var testDescription: String { rawValue }

    var expectedWords: String {
        switch self {
        case .missingFile: "does not exist"
        case .notGzip: "is not a gzip archive"
        case .tarWithoutDump: "holds no PostgreSQL dump"
        case .truncatedArchive: "corrupt or truncated"
        case .unreadableDump: "pg_restore cannot read the dump"
        case .dumpTruncatedInData: "pg_restore failed"
        case .dumpIsASymlink: "is a symbolic link to '"
        case .dumpOutsideTheArchive: "unsafe path ('../20261120030000_my-app_1.pgsql'"
        }
    }

    func make(from archive: URL) async throws -> URL {
        let directory = TestEnvironment.scratchDirectory.appendingPathComponent("recette-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let runner = SubprocessRunner()
        let file = directory.appendingPathComponent("20261120030000_my-app_1.tar.gz")
        let staging = directory.appendingPathComponent("staging")
        func pack(_ name: String, _ contents: Data, tarOptions: [String] = []) async throws {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            try contents.write(to: staging.appendingPathComponent(name))
            try await runner.run(Command("tar", ["--create", "--gzip", "--file", file.path, "--directory", staging.path] + tarOptions + ["./" + name]))
        }
        /// The sample's own dump, a good one, as a file of its own.
        func sampleDump() async throws -> URL {
            let extracted = directory.appendingPathComponent("extracted")
            try FileManager.default.createDirectory(at: extracted, withIntermediateDirectories: true)
            try await runner.run(Command("tar", ["--extract", "--gzip", "--file", archive.path, "--directory", extracted.path]))
            return try FileManager.default.contentsOfDirectory(at: extracted, includingPropertiesForKeys: nil).first { $0.pathExtension == "pgsql" }!
        }
        switch self {
        case .missingFile:
            break
        case .notGzip:
            try Data("<html>403 Forbidden</html>".utf8).write(to: file)
        case .tarWithoutDump:
            try await pack("README.txt", Data("nothing here".utf8))
        case .truncatedArchive:
            let bytes = try Data(contentsOf: archive)
            try bytes.prefix(bytes.count / 2).write(to: file)
        case .unreadableDump:
            try await pack("20261120030000_my-app_1.pgsql", Data("PGDMP but not really a dump at all".utf8))
        case .dumpTruncatedInData:
            // The table of contents is intact (pg_restore --list succeeds) but table data is cut.
            let bytes = try Data(contentsOf: try await sampleDump())
            try await pack("20261120030000_my-app_1.pgsql", bytes.prefix(bytes.count * 6 / 10))
        case .dumpIsASymlink:
            // A good dump elsewhere on the machine, which the archive only points at.
            let elsewhere = try await sampleDump()
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: staging.appendingPathComponent("20261120030000_my-app_1.pgsql").path, withDestinationPath: elsewhere.path)
            try await runner.run(Command("tar", ["--create", "--gzip", "--file", file.path, "--directory", staging.path, "./20261120030000_my-app_1.pgsql"]))
        case .dumpOutsideTheArchive:
            // A good dump, stored as ../NAME (-P keeps the ..).
            try await pack("20261120030000_my-app_1.pgsql", try Data(contentsOf: try await sampleDump()), tarOptions: ["--absolute-names", "--transform=s,^\\./,../,"])
        }
        return file
    }
}

actor SampleCache {
    static let shared = SampleCache()
    /// A task, so concurrent callers (the actor is re-entered while building) share one build.
    private var building: Task<SampleBackup, any Error>?

    func sample() async throws -> SampleBackup {
        if building == nil {
            building = Task {
                _ = try await TestEnvironment.startedCluster()
                let context = try TestEnvironment.machineContext()
                let builder = SampleBackupBuilder(context: context, offers: RestoreIntegrationTests.offers, housingAds: RestoreIntegrationTests.housing, appName: "recette-tests")
                return try await builder.build(into: TestEnvironment.clusterDirectory.appendingPathComponent("backups"))
            }
        }
        return try await building!.value
    }
}

/// Ctrl-C, SIGHUP (the terminal closed) or a killed recette in the middle of a restore,
/// through the binary.
@Suite(.tags(.postgres, .slow), .skippedInUnitLane) struct RestoreInterruptTests {
    /// A restore long enough to be caught mid-COPY, built once for the tests below.
    static let big = Task {
        try await SampleBackupBuilder(context: try TestEnvironment.machineContext(), offers: 250_000, housingAds: 0, appName: "interrupt-big")
            .build(into: TestEnvironment.clusterDirectory.appendingPathComponent("big"))
    }

    /// Starts `recette restore` of the big backup into `database` (holding the small sample
    /// first) and returns once pg_restore is copying rows.
    static func restoreCaughtMidCopy(into database: String, standardError: Pipe = Pipe(), logging: String = "--quiet",
                                     environment: [String: String] = [:]) async throws -> Process {
        let small = try await SampleCache.shared.sample()
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let context = try TestEnvironment.machineContext()
        let big = try await Self.big.value
        _ = try await LocalRestore(context: context, database: database).restore(archiveFile: small.archive)

        let (process, _) = try CLI.launch(["restore", big.archive.path, logging],
                                          environment: TestEnvironment.cliEnvironment.merging(["RECETTE_DATABASE": database]) { $1 }.merging(environment) { $1 },
                                          standardError: standardError)
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        let copying = await Self.sawCopy(into: database + "__recette_incoming", while: process, admin: admin)
        // A recette that stopped before its COPY says why on its standard error (-v or not).
        let why = process.isRunning ? "still running" : "exited with status \(process.terminationStatus): "
            + String(decoding: standardError.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).suffix(2000)
        #expect(copying, "pg_restore never reached COPY; recette \(why)")
        return process
    }

    /// Polls `pg_stat_activity` every 20 ms for a COPY into `database` until one is seen or
    /// recette exits. On a thread of its own, not the cooperative pool: with two cores, tests
    /// running beside this one can block both of the pool's threads in synchronous calls (libpq,
    /// `waitUntilExit`) for seconds at a time, long enough for the 250,000-offer restore to
    /// finish unseen (recette exited 0 before the poll saw COPY in 3 of 7 CI runs).
    /// A liveness bound only: 120 s.
    static func sawCopy(into database: String, while process: Process, admin: PostgresConnection) async -> Bool {
        await withCheckedContinuation { (seen: CheckedContinuation<Bool, Never>) in
            Thread {
                let deadline = ContinuousClock.now + .seconds(120)
                while process.isRunning && ContinuousClock.now < deadline {
                    if let rows = try? admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY%'", [database]).rows, !rows.isEmpty {
                        return seen.resume(returning: true)
                    }
                    usleep(20_000)
                }
                seen.resume(returning: false)
            }.start()
        }
    }

    @Test(arguments: [SIGINT, SIGHUP])
    func interruptingARestoreKeepsThePreviousDatabaseAndExits130(signal: Int32) async throws {
        let database = "interrupted_\(signal)"
        let errors = Pipe()
        let process = try await Self.restoreCaughtMidCopy(into: database, standardError: errors)
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        let start = ContinuousClock.now
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        #expect(ContinuousClock.now - start < .seconds(15))
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(process.terminationReason.rawValue) \(process.terminationStatus)")
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("interrupted"), "\(stderr)")

        // No pg_restore left, the previous database as it was, no half-restored copy.
        let incoming = database + "__recette_incoming"
        #expect(try admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1", [incoming]).rows.isEmpty)
        #expect(try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [incoming]).rows.isEmpty)
        let connection = try PostgresConnection(url: cluster.url(database: database, port: port))
        #expect(try connection.query("SELECT count(*) FROM offres_de_stage").scalar == String(RestoreIntegrationTests.offers))
    }

    /// `kill -9` of recette runs none of its clean-up: its children must still die with it
    /// (the guardian ends their process groups), not go on loading as orphans. pg_restore
    /// here writes nothing to standard error (a wrapper sends it to /dev/null): a chatty one
    /// dies of SIGPIPE at its next line anyway, a silent one would load to the end.
    @Test func pgRestoreDiesWithAKilledRecette() async throws {
        let database = "killed"
        let context = try TestEnvironment.machineContext()
        let realPgRestore = try #require(context.postgresTools.path(of: .pgRestore))
        let realBinDirectory = URL(fileURLWithPath: realPgRestore).deletingLastPathComponent()
        let binDirectory = TestEnvironment.scratchDirectory.appendingPathComponent("silent-bin-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: binDirectory, withIntermediateDirectories: true)
        for program in try FileManager.default.contentsOfDirectory(atPath: realBinDirectory.path) where program != "pg_restore" {
            try FileManager.default.createSymbolicLink(at: binDirectory.appendingPathComponent(program), withDestinationURL: realBinDirectory.appendingPathComponent(program))
        }
        let wrapper = binDirectory.appendingPathComponent("pg_restore")
        try Data("#!/bin/sh\nexec '\(realPgRestore)' \"$@\" 2>/dev/null\n".utf8).write(to: wrapper)
        chmod(wrapper.path, 0o755)

        let process = try await Self.restoreCaughtMidCopy(into: database, environment: ["RECETTE_PG_BINDIR": binDirectory.path])
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let start = ContinuousClock.now
        var loading = true
        while loading && ContinuousClock.now - start < .seconds(30) {
            try await Task.sleep(for: .milliseconds(100))
            loading = try !admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1", [database + "__recette_incoming"]).rows.isEmpty
        }
        #expect(!loading, "pg_restore still loading 30 s after recette was killed")
        // Stopped at once (SIGTERM from the guardian), not done loading: an orphan would
        // have finished its COPY (its sessions end then too), and the rows would be there.
        // A liveness bound only (4.8 s was seen on a loaded CI run): the row count below is
        // what tells a stopped pg_restore from an orphan that finished.
        #expect(ContinuousClock.now - start < .seconds(10))
        let incoming = try PostgresConnection(url: cluster.url(database: database + "__recette_incoming", port: port))
        let rows = try incoming.query("SELECT count(*) FROM offres_de_stage").scalar.flatMap { Int($0) } ?? 0
        #expect(rows < 250_000, "the killed restore's pg_restore went on to load every row")
    }

    /// Standard error is a pipe nobody reads any more (a closed log pipe): the next message
    /// (`-v` logs every pg_restore line) stops the restore as SIGTERM would, instead of
    /// SIGPIPE killing recette on the spot and leaving pg_restore loading as an orphan.
    @Test func aClosedLogPipeStopsTheRestoreLikeSIGTERM() async throws {
        let database = "broken_pipe"
        let errors = Pipe()
        let process = try await Self.restoreCaughtMidCopy(into: database, standardError: errors, logging: "-v")
        try errors.fileHandleForReading.close()
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        let start = ContinuousClock.now
        while process.isRunning && ContinuousClock.now - start < .seconds(60) { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning)
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 130, "\(process.terminationReason.rawValue) \(process.terminationStatus)")
        let incoming = database + "__recette_incoming"
        #expect(try admin.query("SELECT 1 FROM pg_stat_activity WHERE datname = $1", [incoming]).rows.isEmpty)
        #expect(try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [incoming]).rows.isEmpty)
    }
}

@Suite(.tags(.postgres), .skippedInUnitLane) struct ExcludeTableTests {
    @Test func anExcludedTableGoesWithEverythingThatDependsOnIt() async throws {
        let sample = try await SampleCache.shared.sample()
        var options = RestoreOptions()
        // The link table has indexes, a unique constraint, a sequence and a foreign key.
        options.excludedTables = ["offres_de_stage_components"]
        let outcome = try await LocalRestore(context: try TestEnvironment.machineContext(), database: "exclude_table", options: options).restore(archiveFile: sample.archive)
        #expect(!outcome.rowCounts.contains { $0.table == "offres_de_stage_components" })
        #expect(outcome.rowCounts.first { $0.table == "offres_de_stage" }?.rows == RestoreIntegrationTests.offers)
        #expect(outcome.report.errors.isEmpty)
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "exclude_table", port: port))
        #expect(try connection.query("SELECT count(*) FROM pg_class WHERE relname LIKE 'offres_de_stage_components%'").scalar == "0")
        #expect(try connection.query("SELECT count(*) FROM pg_class WHERE relname = 'offres_de_stage'").scalar == "1")
    }
}
