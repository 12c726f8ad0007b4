import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The sample at its acceptance size (25,000 offers, ~10% drafts), restored once per run into
/// `search_base`; each test works on its own copy (`CREATE DATABASE … TEMPLATE`).
actor SearchSampleDatabase {
    static let shared = SearchSampleDatabase()
    static let offers = 25_000
    static let housing = 2_000
    private var building: Task<Void, any Error>?

    /// A fresh copy of the restored sample; returns its name and URL.
    func copy() async throws -> (name: String, url: String) {
        if building == nil {
            building = Task {
                let (_, _) = try await TestEnvironment.startedCluster()
                let context = try TestEnvironment.machineContext()
                let builder = SampleBackupBuilder(context: context, offers: Self.offers, housingAds: Self.housing, appName: "search-tests")
                let sample = try await builder.build(into: TestEnvironment.clusterDirectory.appendingPathComponent("search-backups"))
                let environment = TestEnvironment.cliEnvironment.merging(["RECETTE_DATABASE": "search_base"]) { $1 }
                let result = try await CLI.run(["restore", sample.archive.path, "--target", "local", "--no-progress"], environment: environment)
                guard result.status == 0 else { throw RecetteFailure("restoring the search sample failed: \(result.standardError)") }
            }
        }
        try await building!.value
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let name = "search_\(UUID().uuidString.prefix(8).lowercased())"
        // One copy at a time: CREATE DATABASE … TEMPLATE needs the template without other users.
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        try admin.execute("CREATE DATABASE \(name) TEMPLATE search_base")
        return (name, cluster.url(database: name, port: port))
    }
}

/// A project directory with the repository's recette.yml (the sample's two indexes, from its
/// CMS source's model) or, `handWritten`, the same two indexes as hand-written queries
/// (`Tests/Fixtures/search/hand-written-indexes.yml`), and the environment that points
/// recette at a database copy and a Meilisearch stand-in.
struct SearchProject {
    let directory = TestEnvironment.newProjectDirectory()
    let database: String
    let databaseURL: String
    let meilisearch: MeilisearchStandIn

    static func make(meilisearch: MeilisearchStandIn, handWritten: Bool = false) async throws -> SearchProject {
        let (name, url) = try await SearchSampleDatabase.shared.copy()
        let project = SearchProject(database: name, databaseURL: url, meilisearch: meilisearch)
        if handWritten {
            try FileManager.default.copyItem(at: TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures/search/hand-written-indexes.yml"),
                                             to: project.directory.appendingPathComponent("recette.yml"))
        } else {
            try RepositoryConfiguration.copy(into: project.directory)
        }
        return project
    }

    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        TestEnvironment.cliEnvironment.merging([
            "RECETTE_TARGET": "local", "RECETTE_DATABASE": database,
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString,
            "PLUGIN_MEILISEARCH_API_KEY": meilisearch.masterKey ?? "",
        ]) { $1 }.merging(extra) { $1 }
    }

    func recette(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> CLIResult {
        try await CLI.run(arguments + ["--project-dir", directory.path, "--no-progress"], environment: environment(extra))
    }

    /// `_meilisearch_id` of every published offer, from the database itself.
    func publishedOfferIDs() throws -> Set<String> {
        let connection = try PostgresConnection(url: databaseURL)
        return Set(try connection.query("SELECT 'offre-de-stage-' || id AS id FROM offres_de_stage WHERE published_at IS NOT NULL").column("id").compactMap { $0 })
    }
}

@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct SearchIntegrationTests {
    @Test func directReindexLeavesExactlyThePublishedOffersAndSwapsThemIn() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let published = try project.publishedOfferIDs()
        #expect(published.count > 20_000 && published.count < SearchSampleDatabase.offers, "~10% drafts: \(published.count)")

        let result = try await project.recette(["reindex"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("offre-de-stage: \(published.count) documents"), "\(result.standardOutput)")
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == published)
        #expect(meilisearch.primaryKey(of: "offre-de-stage") == "_meilisearch_id")
        // Only the live indexes remain; the settings of recette.yml were applied.
        #expect(meilisearch.indexUIDs() == ["annonce-de-logement", "offre-de-stage"])
        let settings = try #require(meilisearch.settings(of: "offre-de-stage").flatMap { try JSONSerialization.jsonObject(with: $0) as? [String: Any] })
        #expect(settings["filterableAttributes"] as? [String] == ["domaine", "localisation.region", "localisation.departement"].sorted()
                || Set(settings["filterableAttributes"] as? [String] ?? []) == ["domaine", "localisation.region", "localisation.departement"])
        // A document as the plugin shapes it: the entry, its components nested.
        let some = try #require(published.first)
        let document = try #require(meilisearch.document(some, in: "offre-de-stage"))
        #expect(document["title"] is String && document["id"] is Int)
        #expect((document["localisation"] as? [String: Any])?["ville"] is String)
        #expect((document["entreprise"] as? [String: Any])?["nom"] is String)
        // Every task succeeded and the settings came before the documents (a swap renames the
        // index in the task history too, as Meilisearch does).
        let tasks = meilisearch.tasks().filter { $0.indexUID?.hasPrefix("offre-de-stage") == true }
        #expect(tasks.allSatisfy { $0.status == .succeeded })
        let firstDocuments = try #require(tasks.firstIndex { $0.type == .documentAdditionOrUpdate })
        #expect(tasks.firstIndex { $0.type == .settingsUpdate }! < firstDocuments)

        let status = try await project.recette(["search", "status"])
        #expect(status.status == 0, "\(status.standardError)")
        #expect(status.standardOutput.range(of: #"offre-de-stage\s+\#(published.count)\s+\#(published.count)\s+ok"#, options: .regularExpression) != nil, "\(status.standardOutput)")
    }

    @Test func theLiveIndexIsNeverEmptyOrPartialDuringARebuild() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let published = try project.publishedOfferIDs().count
        let first = try await project.recette(["reindex", "--index", "offre-de-stage"])
        try #require(first.status == 0, "\(first.standardError)")

        // Slow tasks and small batches: the rebuild takes a while, and searches run throughout.
        meilisearch.taskProcessingDelay = .milliseconds(30)
        let observations = LockedValue<[Observation]>([])
        let url = meilisearch.baseURL.appendingPathComponent("indexes/offre-de-stage/search")
        let statsURL = meilisearch.baseURL.appendingPathComponent("indexes/offre-de-stage/stats")
        let key = meilisearch.masterKey ?? ""
        // Stopped by a flag, not by cancelling the task: cancelling a task in the middle of
        // URLSession.data(for:) can deadlock FoundationNetworking (see URLSessionTransport.send).
        let stop = LockedValue(false)
        let searcher = Task {
            while !stop.get() {
                var request = URLRequest(url: url)
                request.httpMethod = "POST"
                request.httpBody = Data(#"{"q":"","limit":1}"#.utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
                var stats = URLRequest(url: statsURL)
                stats.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
                let rebuilding = meilisearch.indexUIDs().contains { $0.hasPrefix("offre-de-stage_") }
                if let (data, response) = try? await URLSession.shared.data(for: request),
                   let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                   let (statsData, _) = try? await URLSession.shared.data(for: stats),
                   let statsObject = try? JSONSerialization.jsonObject(with: statsData) as? [String: Any] {
                    // Search hits are capped by maxTotalHits (1000); the stats count is not.
                    let hits = (object["hits"] as? [Any])?.count ?? -1
                    let observation = Observation(status: (response as? HTTPURLResponse)?.statusCode ?? 0,
                                                  hits: hits == 1 ? statsObject["numberOfDocuments"] as? Int ?? -1 : -1, rebuilding: rebuilding)
                    observations.mutate { $0.append(observation) }
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        meilisearch.interleaveBatches(of: "offre-de-stage", with: observations)
        let second = try await project.recette(["reindex", "--index", "offre-de-stage"], ["RECETTE_SEARCH_BATCH_MB": "0.5"])
        meilisearch.beforeEachTask(nil)
        stop.set(true)
        _ = await searcher.value
        #expect(second.status == 0, "\(second.standardError)")
        let seen = observations.get()
        #expect(seen.filter(\.rebuilding).count >= 5, "searches ran during the rebuild: \(seen.filter(\.rebuilding).count)")
        #expect(seen.allSatisfy { $0.status == 200 && $0.hits == published }, "every search saw the full index: \(Set(seen.map { "\($0.status) \($0.hits)" }))")
        #expect(meilisearch.documentCount(in: "offre-de-stage") == published)
        #expect(meilisearch.tasks().filter { $0.type == .documentAdditionOrUpdate }.count > 10, "many batches")
    }

    @Test func gzipBatchesArriveIntact() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let result = try await project.recette(["reindex", "--index", "annonce-de-logement"], ["RECETTE_SEARCH_GZIP": "always", "RECETTE_SEARCH_BATCH_MB": "0.2"])
        #expect(result.status == 0, "\(result.standardError)")
        let posts = meilisearch.requests(.addOrReplaceDocuments)
        #expect(posts.count > 1 && posts.allSatisfy { $0.contentEncoding == "gzip" && $0.contentType == "application/x-ndjson" })
        let connection = try PostgresConnection(url: project.databaseURL)
        let published = Int(try connection.query("SELECT count(*) FROM annonces_de_logement WHERE published_at IS NOT NULL").scalar ?? "") ?? -1
        #expect(meilisearch.documentCount(in: "annonce-de-logement") == published)
        // The bytes on the wire were compressed: each body is well under the batch size.
        #expect(posts.allSatisfy { $0.bodyBytes < 200_000 / 3 }, "\(posts.map(\.bodyBytes))")
    }

    @Test func ctrlCDuringARebuildExits130AndLeavesTheLiveIndex() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        try #require(try await project.recette(["reindex", "--index", "offre-de-stage"]).status == 0)
        let before = meilisearch.rawDocuments(in: "offre-de-stage")
        meilisearch.resetLog()
        // Slow tasks, and the new index's batches held until the signal is sent: recette is
        // sending documents or waiting on them when it comes, however fast the stand-in and
        // however loaded the machine (≤ 60 s).
        meilisearch.taskProcessingDelay = .milliseconds(500)
        let signalSent = LockedValue(false)
        meilisearch.holdBatches(of: "offre-de-stage", until: signalSent)
        let process = Process()
        process.executableURL = TestEnvironment.binary
        process.arguments = ["reindex", "--index", "offre-de-stage", "--project-dir", project.directory.path, "--no-progress"]
        process.environment = project.environment()
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<600 where !meilisearch.indexUIDs().contains(where: { $0.hasPrefix("offre-de-stage_") }) || meilisearch.requestCount(.addOrReplaceDocuments) == 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        let clock = ContinuousClock()
        let signalled = clock.now
        #expect(meilisearch.requestCount(.addOrReplaceDocuments) > 0, "documents were on their way")
        #expect(process.isRunning, "the rebuild ended before the signal")
        kill(process.processIdentifier, SIGINT)
        signalSent.set(true)
        // Tasks stay slow: the cleanup cancels the batches queued for the new index instead of
        // waiting for them (1.8–3.6 s here on a quiet machine; 10 s seen under CI load).
        for _ in 0..<600 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        let stillRunning = process.isRunning
        if stillRunning { process.terminate() }
        process.waitUntilExit()
        #expect(!stillRunning, "recette did not stop within 30 s of Ctrl-C (\(clock.now - signalled))")
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 130, "\(stderr)")
        _ = await meilisearch.waitUntilIdle()
        #expect(meilisearch.rawDocuments(in: "offre-de-stage") == before, "live index unchanged")
        #expect(meilisearch.indexUIDs() == ["offre-de-stage"], "the unfinished index was removed: \(stderr)")
        #expect(meilisearch.requestCount(.cancelTasks) == 1, "the batches queued for it were canceled, not waited for")
    }

    /// Builds the live index once, then runs a failing rebuild; the live index must be the same.
    private func expectLiveIndexSurvives(_ meilisearch: MeilisearchStandIn, _ project: SearchProject,
                                         extra: [String: String] = [:], fault: () -> Void,
                                         error expected: String) async throws -> CLIResult {
        let first = try await project.recette(["reindex", "--index", "offre-de-stage"], extra.filter { $0.key != "PLUGIN_MEILISEARCH_API_KEY" })
        try #require(first.status == 0, "\(first.standardError)")
        let before = meilisearch.rawDocuments(in: "offre-de-stage")
        let settingsBefore = meilisearch.settings(of: "offre-de-stage")
        fault()
        let failed = try await project.recette(["reindex", "--index", "offre-de-stage"], extra)
        #expect(failed.status == 1)
        let last = failed.standardError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains(expected), "\(failed.standardError)")
        #expect(!last.contains(meilisearch.masterKey ?? "never"), "no key in the error")
        #expect(meilisearch.rawDocuments(in: "offre-de-stage") == before, "live index unchanged")
        #expect(meilisearch.settings(of: "offre-de-stage") == settingsBefore)
        return failed
    }

    @Test func aFailedTaskLeavesTheLiveIndexAndRemovesTheNewOne() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        _ = try await expectLiveIndexSurvives(meilisearch, project, fault: {
            meilisearch.failNextTask(ofType: .documentAdditionOrUpdate, code: "internal", message: "disk full")
        }, error: "failed: internal: disk full")
        #expect(meilisearch.indexUIDs() == ["offre-de-stage"], "the new index was removed")
    }

    @Test func a413HalvesTheBatchesAndStillSucceeds() async throws {
        let meilisearch = try MeilisearchStandIn(payloadLimitBytes: 300_000)
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let result = try await project.recette(["reindex", "--index", "offre-de-stage", "-v"], ["RECETTE_SEARCH_BATCH_MB": "2"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("refused a"), "the halving is logged: \(result.standardError.suffix(2000))")
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == (try project.publishedOfferIDs()))
    }

    @Test func aDocumentLargerThanThePayloadLimitLeavesTheLiveIndex() async throws {
        let meilisearch = try MeilisearchStandIn(payloadLimitBytes: 100_000)
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        // The live index fits the limit (batches are halved to fit); then one description outgrows it.
        _ = try await expectLiveIndexSurvives(meilisearch, project, extra: ["RECETTE_SEARCH_BATCH_MB": "0.05"], fault: {
            let connection = try? PostgresConnection(url: project.databaseURL)
            _ = try? connection?.execute("UPDATE offres_de_stage SET description = repeat('x', 200000) WHERE id = (SELECT min(id) FROM offres_de_stage WHERE published_at IS NOT NULL)")
        }, error: "larger than Meilisearch's payload limit")
        #expect(meilisearch.indexUIDs() == ["offre-de-stage"])
    }

    @Test func meilisearchUnreachableMidRunLeavesTheLiveIndex() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        // The server goes away after a few requests of the rebuild (connections refused).
        let failed = try await expectLiveIndexSurvives(meilisearch, project, extra: ["RECETTE_SEARCH_BATCH_MB": "0.5"], fault: {
            meilisearch.makeUnavailable(afterRequests: 12, mode: .refuseConnections)
        }, error: "cannot reach Meilisearch at \(meilisearch.baseURL.absoluteString)")
        #expect(failed.standardError.contains("could not delete the unfinished index offre-de-stage_"), "\(failed.standardError)")
    }

    @Test func aLeftoverOfAnInterruptedRebuildIsDeletedByTheNextOne() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let client = MeilisearchClient(baseURL: meilisearch.baseURL, apiKey: Secret(meilisearch.masterKey!), transport: URLSessionTransport())
        // This checkout's own, whose run is gone (nobody holds its claim); an older recette's,
        // without owner; another checkout's; and one that merely looks alike.
        let claims = try TemporaryIndexClaims(stateDirectory: project.directory.appendingPathComponent(".recette"))
        let own = claims.newName(for: "offre-de-stage", at: Date(timeIntervalSince1970: 1_767_225_600)).description
        let foreign = "offre-de-stage_20260101000000_0123456789ab"
        for uid in [own, "offre-de-stage_20260101000000", foreign, "offre-de-stage_archive"] {
            try await client.wait(for: try await client.createIndex(uid, primaryKey: "_meilisearch_id"))
        }
        let result = try await project.recette(["reindex", "--index", "offre-de-stage"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("deleting \(own), left behind by an interrupted rebuild"), "\(result.standardError)")
        #expect(result.standardError.contains("leaving \(foreign) alone: another checkout or machine"), "\(result.standardError)")
        #expect(meilisearch.indexUIDs() == ["offre-de-stage", "offre-de-stage_20260101000000", foreign, "offre-de-stage_archive"].sorted(),
                "only this checkout's provable leftovers are deleted")
    }

    @Test func aWrongAPIKeyLeavesTheLiveIndex() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        _ = try await expectLiveIndexSurvives(meilisearch, project, extra: ["PLUGIN_MEILISEARCH_API_KEY": "not-the-key"], fault: {},
                                              error: "refused the API key (invalid_api_key")
        let missing = try await project.recette(["reindex"], ["PLUGIN_MEILISEARCH_API_KEY": ""])
        #expect(missing.standardError.contains("wants an API key"), "\(missing.standardError)")
    }

    @Test func verifyListsMissingExtraAndStaleIdsAndFixRepairsThem() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        try #require(try await project.recette(["reindex", "--index", "offre-de-stage"]).status == 0)
        let clean = try await project.recette(["search", "verify", "--index", "offre-de-stage"])
        #expect(clean.status == 0 && clean.standardOutput.contains("in sync"), "\(clean.standardOutput)\(clean.standardError)")

        // Drift: the CMS hooks "failed" — 3 documents gone, 1 left behind, 1 row updated.
        let connection = try PostgresConnection(url: project.databaseURL)
        let ids = try connection.query("SELECT id FROM offres_de_stage WHERE published_at IS NOT NULL ORDER BY id LIMIT 4").column("id").compactMap { $0 }
        let client = MeilisearchClient(baseURL: meilisearch.baseURL, apiKey: Secret(meilisearch.masterKey!), transport: URLSessionTransport())
        try await client.wait(for: try await client.deleteDocuments("offre-de-stage", ids: ids.prefix(3).map { "offre-de-stage-\($0)" }))
        try await client.wait(for: try await client.addDocuments("offre-de-stage", ndjson: Data(#"{"_meilisearch_id":"offre-de-stage-999999","title":"gone"}"#.utf8),
                                                                 primaryKey: "_meilisearch_id", gzip: false))
        try connection.execute("UPDATE offres_de_stage SET updated_at = now(), title = 'Nouveau titre' WHERE id = \(ids[3])")

        let drift = try await project.recette(["search", "verify", "--index", "offre-de-stage", "--show", "2"])
        #expect(drift.status == 1)
        #expect(drift.standardOutput.contains("3 missing from the index: offre-de-stage-\(ids[0]), offre-de-stage-\(ids[1]), …"), "\(drift.standardOutput)")
        #expect(drift.standardOutput.contains("1 in the index, not in the database: offre-de-stage-999999"))
        // The model's documents carry Strapi's attribute, as the plugin's do.
        #expect(drift.standardOutput.contains("1 stale (updatedAt differs): offre-de-stage-\(ids[3])"), "\(drift.standardOutput)")
        #expect(drift.standardError.contains("verify --fix"))
        let status = try await project.recette(["search", "status", "--index", "offre-de-stage"])
        #expect(status.status == 1 && status.standardOutput.contains("2 missing"), "\(status.standardOutput)")

        let fixed = try await project.recette(["search", "verify", "--index", "offre-de-stage", "--fix"])
        #expect(fixed.status == 0, "\(fixed.standardError)")
        #expect(fixed.standardOutput.contains("fixed: sent 4 document(s), deleted 1; now in sync"), "\(fixed.standardOutput)")
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == (try project.publishedOfferIDs()))
        #expect(meilisearch.document("offre-de-stage-\(ids[3])", in: "offre-de-stage")?["title"] as? String == "Nouveau titre")
    }

    @Test func verifySaysWhenTheIndexHoldsNoTimestampToJudgeStaleness() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        // An index whose documents carry no update timestamp (a transformEntry that drops it).
        let client = MeilisearchClient(baseURL: meilisearch.baseURL, apiKey: Secret(meilisearch.masterKey!), transport: URLSessionTransport())
        let ndjson = try project.publishedOfferIDs().sorted().map { #"{"_meilisearch_id":"\#($0)","title":"t"}"# }.joined(separator: "\n")
        try await client.wait(for: try await client.addDocuments("offre-de-stage", ndjson: Data(ndjson.utf8), primaryKey: "_meilisearch_id", gzip: false))
        let result = try await project.recette(["search", "verify", "--index", "offre-de-stage"])
        #expect(result.status == 0, "every id is there: \(result.standardError)")
        #expect(result.standardOutput.contains("staleness not checked: the documents of offre-de-stage hold no updated_at or updatedAt"), "\(result.standardOutput)")
    }
}

struct Observation { var status: Int; var hits: Int; var rebuilding: Bool }

extension MeilisearchStandIn {
    /// Each batch into a rebuilt `<uid>_…` index waits (≤ 60 s) until `released` is set: a
    /// rebuild cannot finish before the test has done what it must do during it (a Ctrl-C).
    func holdBatches(of uid: String, until released: LockedValue<Bool>) {
        beforeEachTask { type, index in
            guard type == .documentAdditionOrUpdate, index?.hasPrefix(uid + "_") == true else { return }
            let deadline = Date().addingTimeInterval(60)
            while !released.get(), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        }
    }

    /// Each batch into a rebuilt `<uid>_…` index waits (≤ 30 s) for one more observation made
    /// during the rebuild, so the observations interleave with it however loaded the machine is.
    func interleaveBatches(of uid: String, with observations: LockedValue<[Observation]>) {
        beforeEachTask { type, index in
            guard type == .documentAdditionOrUpdate, index?.hasPrefix(uid + "_") == true else { return }
            let landed = observations.get().filter(\.rebuilding).count
            let deadline = Date().addingTimeInterval(30)
            while observations.get().filter(\.rebuilding).count <= landed, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        }
    }
}
