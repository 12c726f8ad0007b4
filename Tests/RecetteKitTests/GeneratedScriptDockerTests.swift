import Foundation
import StandIns
import Synchronization
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The committed populate-with-recette-data.sh on a real engine, downloading through the
/// stand-in `scalingo` CLI from the Scalingo stand-in: it restores exactly what
/// `recette populate --target compose` restores, resets only the db volume, and refuses a bad
/// backup before touching anything.
@Suite(.tags(.docker, .postgres, .slow), .dockerSlot, .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
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

/// The committed script's own rebuild of the indexes, with no recette on PATH: from a compose
/// db service into the Meilisearch stand-in, past the plugin's 10,000, the same documents as
/// `recette reindex`, the live index never short; a refused batch changes nothing.
@Suite(.tags(.docker, .postgres, .slow), .dockerSlot, .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct GeneratedScriptReindexDockerTests {
    static let uid = "offre-de-stage"
    /// Every offer published: as many documents as offers, past the plugin's 10,000.
    static let documents = 25_000
    static let staleDocuments = 5_000
    static let sample = Task {
        _ = try await TestEnvironment.startedCluster()
        return try await SampleBackupBuilder(context: try TestEnvironment.machineContext(), offers: documents, housingAds: 2_000, appName: "script-reindex")
            .build(into: TestEnvironment.clusterDirectory.appendingPathComponent("script-reindex"))
    }

    @Test func theScriptRebuildsEveryDocumentWithoutRecetteAndTheLiveIndexIsNeverShort() async throws {
        let sample = try await Self.sample.value
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase(services: ["db", "search", "cms"])
        // The project's own search.indexes: the ones rendered into the committed script.
        try RepositoryConfiguration.copy(into: stack.directory)
        let restored = try await CLI.run(["restore", sample.archive.path, "--target", "compose", "--yes", "--quiet", "--project-dir", stack.directory.path],
                                         environment: stack.cliEnvironment())
        try #require(restored.status == 0, "\(restored.standardError)")
        let connection = try PostgresConnection(url: stack.url(database: "app"))
        try connection.execute("UPDATE offres_de_stage SET published_at = '2026-11-20T10:00:00Z' WHERE published_at IS NULL")
        // Text JSON escapes and COPY's text format would both touch: backslashes, quotes,
        // tabs, line breaks, control characters, non-ASCII.
        try connection.execute(#"UPDATE offres_de_stage SET title = E'back\\slash \"quoted\" tab\there new\nline \\n bell\x07 é ✓ 東京' WHERE id % 100 = 1"#)
        try #require(try connection.query("SELECT count(*) FROM offres_de_stage WHERE published_at IS NOT NULL").scalar == String(Self.documents))

        // What recette itself builds from the same database, in a Meilisearch of its own.
        let byRecette = try MeilisearchStandIn()
        defer { byRecette.stop() }
        let reference = try await CLI.run(["reindex", "--project-dir", stack.directory.path],
                                          environment: stack.cliEnvironment(["RECETTE_TARGET": "compose", "PLUGIN_MEILISEARCH_URL": byRecette.baseURL.absoluteString,
                                                                             "PLUGIN_MEILISEARCH_API_KEY": "masterKey"]))
        try #require(reference.status == 0, "\(reference.standardError)")
        try #require(byRecette.documentCount(in: Self.uid) == Self.documents)

        // The script's Meilisearch: a live index already there, with stale documents (some ids
        // of the query's with other content, some the query no longer has).
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        try await Self.fillLiveIndex(meilisearch)
        let shims = stack.directory.appendingPathComponent("bin")
        let curlArgv = stack.directory.appendingPathComponent("curl-argv.log")
        try GenerateTests.shim("curl", in: shims, logTo: curlArgv, then: "exec /usr/bin/curl \"$@\"")
        let environment = stack.settings.merging([
            "PATH": shims.path + ":" + Self.pathWithoutRecette(),
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString, "PLUGIN_MEILISEARCH_API_KEY": "masterKey",
            // Small batches: many of them, so the watcher sees the index while they arrive.
            "RECETTE_SEARCH_BATCH_MB": "2",
        ]) { $1 }
        let script = [GeneratedScriptDockerTests.script.path, "--reindex-only", "--project-dir", stack.directory.path]

        let watcher = LiveIndexWatcher(meilisearch, uid: Self.uid)
        let result = try await watcher.watching { try await Bash.run(script, environment: environment) }
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "rebuilt the search indexes from database app of compose service db\n")
        #expect(result.standardError.contains("    \(Self.uid): \(Self.documents) documents in "), "\(result.standardError)")
        #expect(watcher.samples > 20, "the watcher looked while the script ran")
        #expect(watcher.lowest >= Self.staleDocuments, "the live index held \(watcher.lowest) documents at one point, fewer than its \(Self.staleDocuments)")

        // The same documents as recette's, id by id, compared as JSON values; the same settings.
        for uid in ["offre-de-stage", "annonce-de-logement"] {
            let expected = try Self.documentsByID(byRecette, uid)
            let actual = try Self.documentsByID(meilisearch, uid)
            #expect(actual.count == expected.count, "\(uid)")
            #expect(actual == expected, "\(uid): \(Set(actual.keys).symmetricDifference(expected.keys).prefix(3))")
            #expect(meilisearch.primaryKey(of: uid) == "_meilisearch_id")
        }
        let escaped = try Self.documentsByID(meilisearch, Self.uid)["offre-de-stage-101"]?["title"] as? String
        #expect(escaped == "back\\slash \"quoted\" tab\there new\nline \\n bell\u{07} é ✓ 東京")
        #expect(try Self.json(meilisearch.settings(of: Self.uid)) == Self.json(byRecette.settings(of: Self.uid)))
        #expect(meilisearch.indexUIDs() == ["annonce-de-logement", "offre-de-stage"], "no temporary index left")
        #expect(meilisearch.tasks().contains { $0.type == .indexSwap && $0.status == .succeeded })
        // The key reached curl in a file only; no claim is left held or lying around.
        let curlCommands = try String(contentsOf: curlArgv, encoding: .utf8)
        #expect(curlCommands.contains("/swap-indexes") && !curlCommands.contains("masterKey"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: stack.directory.appendingPathComponent(".recette/search/claims").path) == [])

        // A batch Meilisearch fails: the script stops, the live indexes stay as they were and
        // the unfinished one is deleted.
        let before = ["offre-de-stage", "annonce-de-logement"].map { meilisearch.rawDocuments(in: $0) }
        meilisearch.failNextTask(ofType: .documentAdditionOrUpdate, code: "internal", message: "stand-in: this batch is refused")
        let failedWatcher = LiveIndexWatcher(meilisearch, uid: Self.uid)
        let failed = try await failedWatcher.watching { try await Bash.run(script, environment: environment) }
        #expect(failed.status == 1)
        #expect(failed.lastErrorLine.contains("failed: internal: stand-in: this batch is refused; the live index was left as it was"), "\(failed.standardError)")
        #expect(failed.standardError.contains("removing the unfinished index \(Self.uid)_"))
        #expect(failedWatcher.lowest >= Self.documents)
        let after = ["offre-de-stage", "annonce-de-logement"].map { meilisearch.rawDocuments(in: $0) }
        #expect(after == before, "the live indexes changed: \(after.map(\.count)) documents, \(before.map(\.count)) before")
        #expect(meilisearch.indexUIDs() == ["annonce-de-logement", "offre-de-stage"], "the unfinished index is deleted")

        // Ctrl-C while the batches arrive: exit 130, the live indexes as they were, the
        // unfinished index deleted, no claim left.
        // The new index's batches are held until the signal is sent (≤ 60 s): the script cannot
        // finish first, however loaded the machine.
        meilisearch.taskProcessingDelay = .milliseconds(40)
        let signalSent = LockedValue(false)
        meilisearch.holdBatches(of: Self.uid, until: signalSent)
        let interrupted = try Self.launch(script, environment: environment)
        var building = false
        for _ in 0..<1200 where !building {
            try await Task.sleep(for: .milliseconds(50))
            building = meilisearch.indexUIDs().contains { $0.hasPrefix(Self.uid + "_") }
        }
        #expect(building, "the script never created its new index")
        #expect(interrupted.process.isRunning, "the script ended before the signal")
        kill(interrupted.process.processIdentifier, SIGINT)
        signalSent.set(true)
        for _ in 0..<1200 where interrupted.process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        try #require(!interrupted.process.isRunning, "the interrupted script did not end")
        let interruptedErrors = String(decoding: interrupted.standardError.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(interrupted.process.terminationStatus == 130, "\(interruptedErrors)")
        #expect(interruptedErrors.contains("removing the unfinished index \(Self.uid)_"), "\(interruptedErrors)")
        #expect(["offre-de-stage", "annonce-de-logement"].map { meilisearch.rawDocuments(in: $0) } == before, "the live indexes changed")
        #expect(meilisearch.indexUIDs() == ["annonce-de-logement", "offre-de-stage"], "the unfinished index is deleted")
        #expect(try FileManager.default.contentsOfDirectory(atPath: stack.directory.appendingPathComponent(".recette/search/claims").path) == [])
        meilisearch.taskProcessingDelay = .milliseconds(2)
        meilisearch.beforeEachTask(nil)

        // A first build whose batch is too large for the server: no index at all is left.
        let small = try MeilisearchStandIn(payloadLimitBytes: 1_000_000)
        defer { small.stop() }
        let refused = try await Bash.run(script, environment: environment.merging(["PLUGIN_MEILISEARCH_URL": small.baseURL.absoluteString]) { $1 })
        #expect(refused.status == 1)
        #expect(refused.lastErrorLine.contains("Meilisearch refused a batch of ") && refused.lastErrorLine.contains("lower RECETTE_SEARCH_BATCH_MB (now 2)"),
                "\(refused.standardError)")
        #expect(small.indexUIDs() == [], "nothing left of the first build")

        // A query that now gives a fifth of the documents: refused (RECETTE_SEARCH_MAX_SHRINK,
        // 0.5 by default) with the live index as it was, unless --allow-shrink.
        try connection.execute("UPDATE offres_de_stage SET published_at = NULL WHERE id > \(Self.documents / 5)")
        let shrinking = try await Bash.run(script, environment: environment)
        #expect(shrinking.status == 1)
        #expect(shrinking.lastErrorLine.contains("index \(Self.uid): the rebuilt index holds \(Self.documents / 5) documents, the live one \(Self.documents)"),
                "\(shrinking.standardError)")
        let unshrunk = meilisearch.rawDocuments(in: Self.uid)
        #expect(unshrunk == before[0], "the live index changed: \(unshrunk.count) documents, \(before[0].count) before")
        #expect(meilisearch.indexUIDs() == ["annonce-de-logement", "offre-de-stage"])
        let allowed = try await Bash.run(script + ["--allow-shrink"], environment: environment)
        #expect(allowed.status == 0, "\(allowed.standardError)")
        #expect(meilisearch.documentCount(in: Self.uid) == Self.documents / 5)
    }

    /// `staleDocuments` documents in the live index: half with the query's ids and a stale title,
    /// half with ids the query does not have.
    static func fillLiveIndex(_ meilisearch: MeilisearchStandIn) async throws {
        let client = StandInClient(baseURL: meilisearch.baseURL, bearer: "masterKey")
        let created = try await client.send("POST", "/indexes", json: ["uid": uid, "primaryKey": "_meilisearch_id"])
        try #require(created.status == 202, "\(created)")
        let lines = (1...staleDocuments).map { id in
            id % 2 == 0 ? #"{"_meilisearch_id":"offre-de-stage-\#(id)","title":"stale"}"# : #"{"_meilisearch_id":"gone-\#(id)","title":"gone"}"#
        }
        let added = try await client.send("POST", "/indexes/\(uid)/documents", body: Data(lines.joined(separator: "\n").utf8), contentType: "application/x-ndjson")
        try #require(added.status == 202, "\(added)")
        try #require(await meilisearch.waitUntilIdle())
        try #require(meilisearch.documentCount(in: uid) == staleDocuments)
    }

    /// The script started in the background, its settings neutralised as `Bash.run` does.
    /// This test process ignores SIGINT and SIGTERM (its signal handling), which children
    /// inherit, and bash cannot trap a signal ignored when it started: `env` puts them back.
    static func launch(_ arguments: [String], environment extra: [String: String]) throws -> (process: Process, standardError: Pipe) {
        var environment = ProcessInfo.processInfo.environment
        for setting in ProjectTemplates.scriptSettings { environment[setting.environmentName] = "" }
        environment.merge(extra) { $1 }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["--default-signal=INT,TERM", "bash"] + arguments
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        return (process, errors)
    }

    /// PATH without any directory holding a `recette`: the script must do the job itself.
    static func pathWithoutRecette() -> String {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
            .filter { !FileManager.default.isExecutableFile(atPath: $0 + "/recette") }.joined(separator: ":")
    }

    static func documentsByID(_ meilisearch: MeilisearchStandIn, _ uid: String) throws -> [String: NSDictionary] {
        var byID: [String: NSDictionary] = [:]
        for raw in meilisearch.rawDocuments(in: uid) {
            let document = try #require(try JSONSerialization.jsonObject(with: raw) as? NSDictionary)
            byID[try #require(document["_meilisearch_id"] as? String)] = document
        }
        return byID
    }

    static func json(_ data: Data?) throws -> NSDictionary? {
        try data.map { try JSONSerialization.jsonObject(with: $0) as? NSDictionary } ?? nil
    }
}

/// Polls one index's document count in the stand-in (in process, no HTTP) while `body` runs:
/// the lowest count it saw and how often it looked.
final class LiveIndexWatcher: Sendable {
    private let meilisearch: MeilisearchStandIn
    private let uid: String
    private let state = Mutex((lowest: Int.max, samples: 0))

    init(_ meilisearch: MeilisearchStandIn, uid: String) {
        self.meilisearch = meilisearch
        self.uid = uid
    }

    var lowest: Int { state.withLock { $0.lowest } }
    var samples: Int { state.withLock { $0.samples } }

    func watching<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let polling = Task { [self] in
            while !Task.isCancelled {
                let count = meilisearch.documentCount(in: uid) ?? 0
                self.state.withLock { $0 = (lowest: min($0.lowest, count), samples: $0.samples + 1) }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        defer { polling.cancel() }
        let result = try await body()
        polling.cancel()
        _ = await polling.result
        return result
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
