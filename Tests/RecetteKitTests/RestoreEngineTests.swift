import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct RestoreEngineUnitTests {
    static let toc = TableOfContents.parse("""
        ; Dump Version: 1.14-0
        ; Format: CUSTOM
        2; 3079 16385 EXTENSION - postgis 
        215; 1259 16390 TABLE public offres_de_stage owner
        216; 1259 16391 TABLE public strapi_webhooks owner
        3345; 0 16390 TABLE DATA public offres_de_stage owner
        3346; 0 16391 TABLE DATA public strapi_webhooks owner
        3347; 0 16392 TABLE DATA audit strapi_logs owner
        3400; 1259 16500 INDEX public offres_de_stage_slug owner
        3410; 2606 16420 FK CONSTRAINT public offres_de_stage offres_de_stage_created_by_fk owner
        """)

    @Test func parallelVerboseLinesAreTimedByItemAndErrorsKeptWithTheirEntry() {
        let log = PgRestoreLog(toc: Self.toc)
        for line in [
            "pg_restore: connecting to database for restore",
            "pg_restore: processing item 215 TABLE offres_de_stage",
            "pg_restore: creating TABLE \"public.offres_de_stage\"",
            "pg_restore: entering main parallel loop",
            "pg_restore: launching item 3345 TABLE DATA offres_de_stage",
            "pg_restore: launching item 3400 INDEX offres_de_stage_slug",
            "pg_restore: processing data for table \"public.offres_de_stage\"",
            "pg_restore: finished item 3400 INDEX offres_de_stage_slug",
            "pg_restore: from TOC entry 3345; 0 16390 TABLE DATA public offres_de_stage owner",
            "pg_restore: error: could not execute query: ERROR:  value too long",
            "Command was: COPY public.offres_de_stage (id, title) FROM stdin;",
            "pg_restore: finished item 3345 TABLE DATA offres_de_stage",
            "pg_restore: finished main parallel loop",
            "pg_restore: warning: errors ignored on restore: 1",
        ] { log.consume(line) }
        log.finish()
        let timings = log.itemTimings
        #expect(timings.map(\.type) == ["TABLE", "INDEX", "TABLE DATA"])
        #expect(timings.map(\.id) == [215, 3400, 3345])
        #expect(timings.allSatisfy { $0.seconds >= 0 })
        #expect(log.restoreErrors == [RestoreError(tocEntry: "3345; 0 16390 TABLE DATA public offres_de_stage owner",
                                                   message: "could not execute query: ERROR:  value too long",
                                                   command: "COPY public.offres_de_stage (id, title) FROM stdin;")])
        #expect(log.reportedIgnoredCount == 1)
    }

    @Test func interleavedWorkerOutputIsStillParsed() {
        // Shapes seen on this machine with -j2: workers and leader share lines.
        let log = PgRestoreLog(toc: Self.toc)
        for line in [
            "pg_restore: launching item 3345 TABLE DATA offres_de_stage",
            "pg_restore: processing data for table \"public.offres_de_stage\"pg_restore: launching item 3346 TABLE DATA strapi_webhooks",
            "pg_restore: pg_restore:finished item 3345 TABLE DATA offres_de_stage",
            " finished item 3346 TABLE DATA strapi_webhooks",
        ] { log.consume(line) }
        log.finish()
        #expect(log.itemTimings.map(\.id) == [3345, 3346])
    }

    @Test func serialVerboseLinesEndWhenTheNextBegins() {
        let log = PgRestoreLog(toc: Self.toc)
        for line in [
            "pg_restore: creating TABLE \"public.offres_de_stage\"",
            "pg_restore: processing data for table \"public.offres_de_stage\"",
            "pg_restore: executing SEQUENCE SET offres_de_stage_id_seq",
            "pg_restore: creating INDEX \"public.offres_de_stage_slug\"",
        ] { log.consume(line) }
        log.finish()
        #expect(log.itemTimings.map(\.type) == ["TABLE", "TABLE DATA", "SEQUENCE SET", "INDEX"])
        #expect(log.itemTimings.map(\.name) == ["offres_de_stage", "offres_de_stage", "offres_de_stage_id_seq", "offres_de_stage_slug"])
    }

    @Test func theUseListCommentsOutExcludedDataAndForeignKeys() {
        var options = RestoreOptions(jobs: 2)
        options.excludedTableData = ["strapi_*", "audit.*"]
        let (list, foreignKeys) = PgRestoreRun.mainList(toc: Self.toc, options: options)
        #expect(list.filter { $0.hasPrefix(";") }.map { $0.split(separator: ";")[0] } == ["3346", "3347", "3410"])
        #expect(foreignKeys.map(\.id) == [3410])
        options.foreignKeysNotValid = false
        #expect(PgRestoreRun.mainList(toc: Self.toc, options: options).foreignKeys.isEmpty)
    }

    @Test func foreignKeysBecomeNotValidAndPsqlMetaCommandsGo() {
        let sql = """
            \\restrict abc123
            SET statement_timeout = 0;
            ALTER TABLE ONLY public.offres_de_stage
                ADD CONSTRAINT offres_de_stage_created_by_fk FOREIGN KEY (created_by_id) REFERENCES public.admin_users(id) ON DELETE SET NULL;
            ALTER TABLE ONLY public.x
                ADD CONSTRAINT x_fk FOREIGN KEY (a) REFERENCES public.y(id);
            \\unrestrict abc123
            """
        let (rewritten, count) = PgRestoreRun.notValid(sql)
        #expect(count == 2)
        #expect(!rewritten.contains("\\restrict") && !rewritten.contains("\\unrestrict"))
        #expect(rewritten.contains("ON DELETE SET NULL NOT VALID;"))
        #expect(rewritten.contains("REFERENCES public.y(id) NOT VALID;"))
        #expect(rewritten.contains("SET statement_timeout = 0;"))
    }

    @Test func archiveVersionsAgainstPgRestoreVersions() throws {
        let v114 = ArchiveVersion(major: 1, minor: 14), v115 = ArchiveVersion(major: 1, minor: 15), v116 = ArchiveVersion(major: 1, minor: 16)
        #expect(throws: Never.self) { try RestorePreflight(pgRestoreMajor: 15).checkArchiveVersion(v114, dumpName: "x") }
        #expect(throws: Never.self) { try RestorePreflight(pgRestoreMajor: 17).checkArchiveVersion(v115, dumpName: "x") }
        do {
            try RestorePreflight(pgRestoreMajor: 15).checkArchiveVersion(v116, dumpName: "'x.pgsql'")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("this pg_restore (15) reads up to 1.14: install PostgreSQL 17+ client tools"))
        }
    }

    @Test func missingExtensionsAreNamed() {
        #expect(RestorePreflight(pgRestoreMajor: 15).missingExtensions(toc: Self.toc, available: ["plpgsql", "pg_trgm"]) == ["postgis"])
        #expect(RestorePreflight(pgRestoreMajor: 15).missingExtensions(toc: Self.toc, available: ["postgis"]).isEmpty)
    }
}

/// The restore engine on real PostgreSQL.
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct RestoreEngineIntegrationTests {
    @Test func foreignKeysAreAddedNotValidAndTheReportIsWritten() async throws {
        let sample = try await SampleCache.shared.sample()
        let context = try TestEnvironment.machineContext()
        let outcome = try await LocalRestore(context: context, database: "engine_fk").restore(archiveFile: sample.archive)
        let fkEntries = outcome.tableOfContents.entries.filter { $0.type == "FK CONSTRAINT" }.count
        #expect(fkEntries > 0)
        #expect(outcome.report.foreignKeysAddedNotValid == fkEntries)
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "engine_fk", port: port))
        #expect(try connection.query("SELECT count(*) FROM pg_constraint WHERE contype = 'f' AND NOT convalidated").scalar == String(fkEntries))
        // New writes are still checked.
        #expect(throws: PostgresError.self) { try connection.query("INSERT INTO offres_de_stage_components (entity_id, component_id, component_type, field, \"order\") VALUES (-1, 1, 'x', 'x', 1)") }
        #expect(try connection.query("SHOW wal_level").scalar == "minimal")
        // ANALYZE ran on two sessions (the default jobs here) and reached every table that has rows.
        let unanalysed = try connection.query("""
            SELECT count(*) FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
            WHERE c.reltuples > 0 AND NOT EXISTS (SELECT FROM pg_statistic WHERE starelid = s.relid)
            """).scalar
        #expect(unanalysed == "0")

        let file = try #require(outcome.reportFile)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any]
        let kinds = (json?["kinds"] as? [[String: Any]])?.compactMap { $0["type"] as? String } ?? []
        #expect(kinds.starts(with: ["TABLE DATA", "INDEX", "CONSTRAINT"]))
        let tableData = outcome.report.kinds.first { $0.type == "TABLE DATA" }
        #expect(tableData?.count == sample.expectedRowCounts.count)
        #expect(tableData?.slowest.count == 3)
    }

    @Test func unloggedMakesEveryTableUnloggedBeforeItsRowsAndRestoresTheSameRows() async throws {
        let sample = try await SampleCache.shared.sample()
        var options = RestoreOptions()
        options.unlogged = true
        let outcome = try await LocalRestore(context: try TestEnvironment.machineContext(), database: "engine_unlogged", options: options).restore(archiveFile: sample.archive)
        #expect(Dictionary(uniqueKeysWithValues: outcome.rowCounts.map { ($0.table, $0.rows) }) == sample.expectedRowCountsAfterPrepare)
        #expect(outcome.report.pgRestorePhases.map(\.name).contains("SET UNLOGGED"))
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "engine_unlogged", port: port))
        let persistence = try connection.query("""
            SELECT c.relpersistence, count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind = 'r' AND n.nspname = 'public' GROUP BY 1
            """).rows.map { "\($0[0] ?? "?")=\($0[1] ?? "?")" }
        #expect(persistence == ["u=\(sample.expectedRowCounts.count)"], "every table unlogged")
        let fkEntries = outcome.tableOfContents.entries.filter { $0.type == "FK CONSTRAINT" }.count
        #expect(try connection.query("SELECT count(*) FROM pg_constraint WHERE contype = 'f'").scalar == String(fkEntries), "foreign keys between unlogged tables")
    }

    @Test func unloggedIsRefusedOnTheURLTargetBeforeAnythingIsTouched() async throws {
        let sample = try await SampleCache.shared.sample()
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let url = try PostgresURL(cluster.url(database: "engine_unlogged_url", port: port))
        var options = RestoreOptions()
        options.unlogged = true
        do {
            _ = try await DatabaseRestore(context: try TestEnvironment.machineContext(), destination: URLDestination(target: url, dropPrevious: false),
                                          database: "engine_unlogged_url", options: options).restore(archiveFile: sample.archive)
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".hasPrefix("--unlogged is for throwaway copies (local, compose targets)"), "\(error)")
        }
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        #expect(try admin.query("SELECT count(*) FROM pg_database WHERE starts_with(datname, 'engine_unlogged_url')").scalar == "0")
    }

    @Test func excludedTableDataLeavesThoseTablesEmpty() async throws {
        let sample = try await SampleCache.shared.sample()
        var options = RestoreOptions()
        options.excludedTableData = ["strapi_*", "files"]
        let outcome = try await LocalRestore(context: try TestEnvironment.machineContext(), database: "engine_exclude", options: options).restore(archiveFile: sample.archive)
        for count in outcome.rowCounts {
            let excluded = count.table.hasPrefix("strapi_") || count.table == "files"
            #expect(count.rows == (excluded ? 0 : sample.expectedRowCounts[count.table]), "\(count.table)")
        }
    }

    @Test func aMissingExtensionIsRefusedBeforeAnythingIsTouched() async throws {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        do {
            try RestorePreflight(pgRestoreMajor: 15).checkExtensions(toc: RestoreEngineUnitTests.toc, on: connection, serverDescription: "the local server")
            Issue.record("postgis is not installed here: expected an error")
        } catch {
            #expect("\(error)".contains("the dump needs the extension postgis, which the local server (PostgreSQL 15) does not have: install postgresql-15-postgis-3"))
        }
    }

    @Test func aNewerArchiveIsRefusedWithTheFix() async throws {
        let sample = try await SampleCache.shared.sample()
        let directory = TestEnvironment.scratchDirectory.appendingPathComponent("recette-v116-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let runner = SubprocessRunner()
        try await runner.run(Command("tar", ["--extract", "--gzip", "--file", sample.archive.path, "--directory", directory.path]))
        let dump = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil).first { $0.pathExtension == "pgsql" }!
        var bytes = try Data(contentsOf: dump)
        bytes[6] = 16  // archive format 1.16, as pg_dump 17 writes
        try bytes.write(to: dump)
        do {
            _ = try await LocalRestore(context: try TestEnvironment.machineContext(), database: "engine_v116").restore(archiveFile: dump)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("(archive format 1.16); this pg_restore (15) reads up to 1.14: install PostgreSQL 17+ client tools"), "\(error)")
        }
    }
}


@Suite struct ArchiveDataSizesTests {
    @Test(.tags(.postgres), .skippedInUnitLane) func everyTableDataBlockOfARealDumpHasASize() async throws {
        let sample = try await SampleCache.shared.sample()
        let directory = TestEnvironment.scratchDirectory.appendingPathComponent("recette-sizes-\(UUID().uuidString)")
        let context = try TestEnvironment.machineContext()
        let archive = try await BackupArchive.inspect(sample.archive, runner: context.runner)
        let dump = try await archive.dumpFile(extractingInto: directory, runner: context.runner)
        let toc = try await DumpReader(pgRestore: context.postgresTools.require(.pgRestore), runner: context.runner).tableOfContents(of: dump, describedAs: "sample")
        let sizes = try #require(ArchiveDataSizes.read(from: dump))
        let dataIDs = Set(toc.entries.filter { $0.type == "TABLE DATA" }.map(\.id))
        #expect(Set(sizes.keys) == dataIDs)
        let fileSize = try #require(BackupDownloader.fileSize(dump))
        #expect(sizes.values.reduce(0, +) < fileSize)
        #expect(sizes.values.reduce(0, +) > fileSize / 2, "table data is most of the dump")
        // The biggest blocks are the biggest tables.
        let biggest = sizes.max { $0.value < $1.value }.map(\.key)
        let name = toc.entries.first { $0.id == biggest }?.name
        #expect(["offres_de_stage", "components_localisation_localisations", "offres_de_stage_components", "annonces_de_logement", "components_entreprise_entreprises"].contains(name ?? ""), "\(name ?? "none")")
        let small = toc.entries.first { $0.type == "TABLE DATA" && $0.name == "i18n_locale" }!.id
        #expect(sizes[small]! < 200, "a one-row table's block is small")
    }

    @Test func anUnknownLayoutGivesNil() throws {
        let file = TestEnvironment.scratchDirectory.appendingPathComponent("recette-sizes-\(UUID().uuidString).pgsql")
        try Data("PGDMP\u{1}\u{10}\u{0}garbage".utf8).write(to: file)
        #expect(ArchiveDataSizes.read(from: file) == nil)
    }
}

@Suite struct RestoreProgressTests {
    @Test func progressIsWeightedByDataSize() {
        let toc = TableOfContents.parse("""
            1; 1259 1 TABLE public big o
            2; 1259 2 TABLE public small o
            3; 0 1 TABLE DATA public big o
            4; 0 2 TABLE DATA public small o
            """)
        let drawn = LineCollector()
        let bar = ProgressBar(label: "restoring", enabled: true, showsBytes: false) { drawn.append($0) }
        let progress = RestoreProgress(toc: toc, dataSizes: [3: 900, 4: 100], bar: bar)
        // Two schema items share half the data weight: 250 each; total 1500.
        #expect(progress.total == 1500)
        progress.finished(ItemTiming(id: 3, type: "TABLE DATA", name: "big", seconds: 1))
        #expect(drawn.all.last?.contains("restoring  60%") == true, "\(drawn.all)")
        #expect(drawn.all.last?.contains("table data big") == true)

        let unknown = RestoreProgress(toc: toc, dataSizes: nil, bar: ProgressBar(label: "r", enabled: false))
        #expect(unknown.total == 4)
    }
}

/// ANALYZE on as many sessions as the restore has jobs.
@Suite struct ParallelAnalyzeTests {
    /// Answers the table listing and records every statement; anything else fails the test.
    final class RecordingServer: RestoreServer, Sendable {
        let tables: [[String?]]
        let statements = LockedValue<[String]>([])
        init(tables: [[String?]]) { self.tables = tables }
        var serverDescription: String { "a recording server" }
        func query(_ sql: String, database: String) async throws -> [[String?]] {
            #expect(sql == RestoreFinish.analyzedTablesSQL)
            return tables
        }
        func execute(_ sql: String, database: String) async throws { statements.mutate { $0.append(sql) } }
        func session<T: Sendable>(database: String, _ body: (SQLSession) async throws -> T) async throws -> T { throw RecetteFailure("unexpected session") }
        func stage(dump: URL, list: URL) async throws -> StagedRestoreInput { throw RecetteFailure("unexpected stage") }
        func unstage() async {}
        func pgRestore(_ arguments: [String], input: StagedRestoreInput, database: String, onStandardErrorLine: @escaping @Sendable (String) -> Void) async throws {
            throw RecetteFailure("unexpected pg_restore")
        }
    }

    @Test func tablesAreSharedLargestFirstIntoTheLightestGroup() {
        let groups = RestoreFinish.balanced([("a", 10), ("b", 100), ("c", 60), ("d", 50), ("e", 0)], into: 2)
        #expect(groups == [["b", "a", "e"], ["c", "d"]], "b 100 | c 60, d 50 → 110 | a 10 → 110 | e ties, goes to the first")
        #expect(RestoreFinish.balanced([("a", 1)], into: 3) == [["a"], [], []])
    }

    @Test func twoJobsAnalyseTheTablesInTwoStatementsOneJobInOne() async throws {
        let server = RecordingServer(tables: [["public.offres", "900", "r"], ["public.annonces", "500", "r"], ["public.links", "450", "r"], ["pg_catalog.pg_class", "40", "r"]])
        try await RestoreFinish.analyze(server, database: "app", jobs: 2)
        #expect(Set(server.statements.get()) == ["ANALYZE public.offres, pg_catalog.pg_class", "ANALYZE public.annonces, public.links"])

        let single = RecordingServer(tables: [])
        try await RestoreFinish.analyze(single, database: "app", jobs: 1)
        #expect(single.statements.get() == ["ANALYZE"])
    }

    @Test func aPartitionedTableMeansOneWholeAnalyze() async throws {
        let server = RecordingServer(tables: [["public.events", "0", "p"], ["public.events_2026", "900", "r"], ["public.offres", "500", "r"]])
        try await RestoreFinish.analyze(server, database: "app", jobs: 2)
        #expect(server.statements.get() == ["ANALYZE"])
    }
}
