import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

extension SearchProject {
    /// Replaces the project's `search.indexes` with one index `uid` built from `query`.
    func useIndex(_ uid: String, query: String) throws {
        let indented = query.split(separator: "\n", omittingEmptySubsequences: false).map { "        " + $0 }.joined(separator: "\n")
        let yaml = """
            search:
              indexes:
                - uid: \(uid)
                  primary_key: _meilisearch_id
                  query: |
            \(indented)

            """
        try yaml.write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
    }

    /// Builds the live offre-de-stage index, then unpublishes every offer (a wrong WHERE, an
    /// emptied table: the query returns nothing). Returns the live index's count and documents.
    func liveIndexWhoseQueryNowReturnsNothing() async throws -> (published: Int, before: [Data], connection: PostgresConnection) {
        let published = try publishedOfferIDs().count
        try #require(try await recette(["reindex", "--index", "offre-de-stage"]).status == 0)
        let before = meilisearch.rawDocuments(in: "offre-de-stage")
        let connection = try PostgresConnection(url: databaseURL)
        try connection.execute("UPDATE offres_de_stage SET published_at = NULL")
        return (published, before, connection)
    }

    var meilisearchClient: MeilisearchClient {
        MeilisearchClient(baseURL: meilisearch.baseURL, apiKey: meilisearch.masterKey.map(Secret.init), transport: URLSessionTransport())
    }
}

extension CLIResult {
    var lastErrorLine: String { standardError.split(separator: "\n").last.map(String.init) ?? "" }
}

/// The guards of a direct rebuild: what it refuses, what it cleans up, what it explains.
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct SearchGuardTests {
    @Test func aQueryEndingInACommentIsWrappedOnItsOwnLines() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        try project.useIndex("offre-de-stage", query: """
            SELECT 'offre-de-stage-' || o.id AS _meilisearch_id, o.id, o.title
            FROM offres_de_stage o
            WHERE o.published_at IS NOT NULL -- drafts are not searchable
            """)
        let result = try await project.recette(["reindex"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == (try project.publishedOfferIDs()))
        let verify = try await project.recette(["search", "verify"])
        #expect(verify.status == 0 && verify.standardOutput.contains("in sync"), "\(verify.standardOutput)\(verify.standardError)")
    }

    @Test func aRebuildThatLosesMoreThanTheAllowedShareIsRefusedUnlessAsked() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let (published, before, connection) = try await project.liveIndexWhoseQueryNowReturnsNothing()
        let refused = try await project.recette(["reindex", "--index", "offre-de-stage"])
        #expect(refused.status == 1)
        #expect(refused.lastErrorLine.contains("holds 0 documents, the live one \(published)") && refused.lastErrorLine.contains("--allow-shrink"), "\(refused.standardError)")
        #expect(meilisearch.rawDocuments(in: "offre-de-stage") == before, "live index unchanged")
        #expect(meilisearch.indexUIDs() == ["offre-de-stage"], "the rebuilt index was removed")

        // The share is a setting; the flag lets it through.
        let stricter = try await project.recette(["reindex", "--index", "offre-de-stage"], ["RECETTE_SEARCH_MAX_SHRINK": "1"])
        #expect(stricter.status == 0, "1 allows any loss: \(stricter.standardError)")
        try connection.execute("UPDATE offres_de_stage SET published_at = now()")
        try #require(try await project.recette(["reindex", "--index", "offre-de-stage"], ["RECETTE_SEARCH_MAX_SHRINK": "1"]).status == 0)
        try connection.execute("UPDATE offres_de_stage SET published_at = NULL WHERE id % 10 = 0")
        let tenPercent = try await project.recette(["reindex", "--index", "offre-de-stage"], ["RECETTE_SEARCH_MAX_SHRINK": "0.05"])
        #expect(tenPercent.status == 1 && tenPercent.standardError.contains("RECETTE_SEARCH_MAX_SHRINK allows 5%"), "\(tenPercent.standardError)")
        let allowed = try await project.recette(["reindex", "--index", "offre-de-stage", "--allow-shrink"], ["RECETTE_SEARCH_MAX_SHRINK": "0.05"])
        #expect(allowed.status == 0, "\(allowed.standardError)")
        #expect(allowed.standardError.contains("as --allow-shrink asks"))
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == (try project.publishedOfferIDs()))

        let bad = try await project.recette(["reindex", "--index", "offre-de-stage"], ["RECETTE_SEARCH_MAX_SHRINK": "50%"])
        #expect(bad.status == 1 && bad.standardError.contains(#"RECETTE_SEARCH_MAX_SHRINK (search.max_shrink) from the environment is "50%": expected a number from 0 to 1"#), "\(bad.standardError)")
    }

    @Test func verifyFixDoesNotEmptyAnIndexWithoutAsking() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let (published, before, _) = try await project.liveIndexWhoseQueryNowReturnsNothing()
        let refused = try await project.recette(["search", "verify", "--index", "offre-de-stage", "--fix"])
        #expect(refused.status == 1)
        #expect(refused.lastErrorLine.contains("--fix would delete \(published) of its \(published) documents") && refused.lastErrorLine.contains("--allow-shrink"), "\(refused.standardError)")
        #expect(meilisearch.rawDocuments(in: "offre-de-stage") == before, "the index was left as it was")
        let allowed = try await project.recette(["search", "verify", "--index", "offre-de-stage", "--fix", "--allow-shrink"])
        #expect(allowed.status == 0, "\(allowed.standardError)")
        #expect(meilisearch.documentCount(in: "offre-de-stage") == 0)
    }

    @Test func aFirstBuildWhoseSwapFailsLeavesNoIndexBehind() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        meilisearch.failNextTask(ofType: .indexSwap, code: "internal", message: "swap failed")
        let failed = try await project.recette(["reindex", "--index", "offre-de-stage"])
        #expect(failed.status == 1 && failed.standardError.contains("swap failed"), "\(failed.standardError)")
        _ = await meilisearch.waitUntilIdle()
        #expect(meilisearch.indexUIDs() == [], "no live index that did not exist before, no new one: \(failed.standardError)")
    }

    @Test func missingDocumentsAreExplainedFromTheIdSets() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        // Small batches and slow tasks: the rebuild is under way long enough to lose some.
        meilisearch.taskProcessingDelay = .milliseconds(15)
        async let run = project.recette(["reindex", "--index", "offre-de-stage"], ["RECETTE_SEARCH_BATCH_MB": "0.05"])
        var lost: [String] = []
        for _ in 0..<2_000 where lost.isEmpty {
            let added = meilisearch.tasks().first { $0.type == .documentAdditionOrUpdate && $0.status == .succeeded }
            if let temporary = added?.indexUID, temporary.hasPrefix("offre-de-stage_") {
                lost = Array(meilisearch.documentIDs(in: temporary).prefix(3))
                try await project.meilisearchClient.wait(for: try await project.meilisearchClient.deleteDocuments(temporary, ids: lost))
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let failed = try await run
        try #require(lost.count == 3, "three documents of the first batch were deleted behind recette's back")
        // Meilisearch runs tasks in order: the deletion counts only if batches came after it.
        let deletion = try #require(meilisearch.tasks().last { $0.type == .documentDeletion })
        try #require(meilisearch.tasks().contains { $0.type == .documentAdditionOrUpdate && $0.uid > deletion.uid },
                     "the deletion was queued before the last batch")
        #expect(failed.status == 1)
        let last = failed.lastErrorLine
        #expect(last.contains("3 of the query's documents never arrived (\(lost.sorted().joined(separator: ", ")))"), "\(failed.standardError)")
        #expect(!last.contains("repeats"), "the query repeats nothing: \(last)")

        // A query that does repeat ids is told so, with examples.
        try project.useIndex("offre-de-stage", query: "SELECT 'offre-' || (o.id % 7) AS _meilisearch_id, o.id FROM offres_de_stage o")
        meilisearch.taskProcessingDelay = .milliseconds(1)
        let repeated = try await project.recette(["reindex"])
        #expect(repeated.status == 1)
        let line = repeated.lastErrorLine
        #expect(line.contains("'_meilisearch_id' value(s) (offre-0, offre-1, offre-2, …): make them unique") && !line.contains("never arrived"), "\(line)")
        #expect(meilisearch.indexUIDs() == [], "nothing left behind")
    }

    @Test func ctrlCWhileAMeilisearchTaskIsStuckEndsWithALinePerWait() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        try #require(try await project.recette(["reindex", "--index", "offre-de-stage"]).status == 0)
        let before = meilisearch.rawDocuments(in: "offre-de-stage")
        // Nothing gets processed: the new index's creation stays enqueued, and so does every
        // task of the clean-up after Ctrl-C.
        meilisearch.pauseTaskProcessing()
        let (process, errors) = try CLI.launch(["reindex", "--index", "offre-de-stage", "--project-dir", project.directory.path, "--no-progress"],
                                               environment: project.environment())
        for _ in 0..<400 where !meilisearch.tasks().contains(where: { $0.type == .indexCreation && $0.status == .enqueued }) {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(300))
        kill(process.processIdentifier, SIGINT)
        let clock = ContinuousClock()
        let signalled = clock.now
        for _ in 0..<1_200 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        let stillRunning = process.isRunning
        if stillRunning { process.terminate() }
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!stillRunning, "recette did not stop within 60 s of Ctrl-C (\(clock.now - signalled)): \(stderr)")
        #expect(process.terminationStatus == 130, "\(stderr)")
        // Each bounded wait of the clean-up ended with a line naming what it waited for.
        #expect(stderr.contains("could not cancel the tasks queued for offre-de-stage_") && stderr.contains("(taskCancelation) after"), "\(stderr)")
        #expect(stderr.range(of: #"could not delete the unfinished index offre-de-stage_\S+ \(gave up waiting for Meilisearch task \d+ \(indexDeletion on offre-de-stage_"#,
                             options: .regularExpression) != nil, "\(stderr)")

        meilisearch.resumeTaskProcessing()
        #expect(await meilisearch.waitUntilIdle())
        #expect(meilisearch.rawDocuments(in: "offre-de-stage") == before, "live index unchanged")
        // Whatever the queue did once it ran again, the next rebuild of this checkout finds
        // nothing of the stopped run but the live index.
        let next = try await project.recette(["reindex", "--index", "offre-de-stage"])
        #expect(next.status == 0, "\(next.standardError)")
        #expect(meilisearch.indexUIDs() == ["offre-de-stage"], "\(next.standardError)")
    }

    @Test func twoCheckoutsRebuildingTheSameIndexLeaveEachOtherAlone() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let first = try await SearchProject.make(meilisearch: meilisearch)
        let second = try await SearchProject.make(meilisearch: meilisearch)
        let published = try first.publishedOfferIDs()
        meilisearch.taskProcessingDelay = .milliseconds(10)
        async let firstRun = first.recette(["reindex", "--index", "offre-de-stage"], ["RECETTE_SEARCH_BATCH_MB": "0.1"])
        // The second starts once the first's new index is being filled.
        for _ in 0..<2_000 where !meilisearch.tasks().contains(where: { $0.type == .documentAdditionOrUpdate && $0.indexUID?.hasPrefix("offre-de-stage_") == true }) {
            try await Task.sleep(for: .milliseconds(10))
        }
        let building = meilisearch.indexUIDs().filter { $0.hasPrefix("offre-de-stage_") }
        try #require(building.count == 1, "the first rebuild is under way: \(building)")
        let secondResult = try await second.recette(["reindex", "--index", "offre-de-stage"])
        let firstResult = try await firstRun
        #expect(secondResult.status == 0, "\(secondResult.standardError)")
        #expect(secondResult.standardError.contains("leaving \(building[0]) alone: another checkout or machine"), "\(secondResult.standardError)")
        #expect(firstResult.status == 0, "the first rebuild was not disturbed: \(firstResult.standardError)")
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == published)
        #expect(meilisearch.indexUIDs() == ["offre-de-stage"])
    }
}
