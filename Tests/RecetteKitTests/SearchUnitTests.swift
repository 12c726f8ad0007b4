import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct SearchUnitTests {
    @Test func updateStampsAreInstantsInMillisecondsFromEitherSide() {
        let instant: Int64 = 1_662_019_200_123  // 2022-09-01T08:00:00.123Z
        for text in ["2022-09-01T08:00:00.123456+00:00", "2022-09-01T08:00:00.123Z", "2022-09-01 10:00:00.123+02:00",
                     "2022-09-01T03:30:00.123-0430", "2022-09-01T06:00:00.1239-02", "2022-09-01T08:00:00.123"] {
            #expect(UpdateStamp.milliseconds(text) == instant, "\(text)")
        }
        #expect(UpdateStamp.milliseconds("1969-12-31T23:59:59Z") == -1000)
        #expect(UpdateStamp.milliseconds("2022-09-01T08:00:00.5Z") == 1_662_019_200_500)
        for text in ["2022-13-01T00:00:00Z", "2022-09-01T08:00", "2022-09-01T08:00:00+0", "2022-09-01T08:00:00.Z", "2022-09-01T08:00:00Zx", "abc", ""] {
            #expect(UpdateStamp.milliseconds(text) == nil, "\(text)")
        }
        #expect(!UpdateStamp.differ("2022-09-01T08:00:00.123456+00:00", "2022-09-01T08:00:00.123Z"))
        #expect(UpdateStamp.differ("2022-09-01T08:00:00.124Z", "2022-09-01T08:00:00.123Z"))
    }

    /// The day arithmetic against Foundation's calendar, every 13th day from 1890 to 2110.
    @Test func theDaysSince1970AreTheGregorianCalendars() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
        var date = try #require(calendar.date(from: DateComponents(year: 1890, month: 1, day: 1)))
        let end = try #require(calendar.date(from: DateComponents(year: 2110, month: 1, day: 1)))
        var checked = 0
        while date < end {
            let parts = calendar.dateComponents([.year, .month, .day], from: date)
            let days = UpdateStamp.daysSince1970(year: Int64(parts.year!), month: Int64(parts.month!), day: Int64(parts.day!))
            #expect(days * 86_400 == Int64(date.timeIntervalSince1970), "\(parts)")
            date = date.addingTimeInterval(13 * 86_400)
            checked += 1
        }
        #expect(checked > 6000)
    }

    @Test func readsIndexDefinitionsFromRecetteYml() throws {
        let yaml = """
            search:
              cms_service: strapi
              indexes:
                - uid: offre-de-stage
                  content_type: api::offre-de-stage.offre-de-stage
                  query: |
                    SELECT 'offre-de-stage-' || id AS _meilisearch_id, title FROM offres_de_stage;
                  settings:
                    filterableAttributes: [domaine]
                - uid: annonce
                  primary_key: id
                  query: SELECT id FROM annonces
            """
        let definitions = try SearchIndexDefinition.parse(yaml: yaml, path: "recette.yml")
        #expect(definitions.map(\.uid) == ["offre-de-stage", "annonce"])
        #expect(definitions[0].primaryKey == "_meilisearch_id")
        #expect(definitions[0].contentType == "api::offre-de-stage.offre-de-stage")
        #expect(definitions[0].subquery.hasSuffix("FROM offres_de_stage\n"), "no trailing semicolon: \(definitions[0].subquery)")
        let settings = try #require(definitions[0].settingsJSON)
        #expect(String(decoding: settings, as: UTF8.self) == #"{"filterableAttributes":["domaine"]}"#)
        #expect(definitions[1].primaryKey == "id")
        #expect(definitions[1].settingsJSON == nil)
        // The flat settings still read around the list.
        #expect(try ProjectConfigFile.flatten(yaml: yaml, path: "recette.yml")["search.cms_service"] == "strapi")
    }

    @Test(arguments: [
        ("search:\n  indexes: nope", "must be a list"),
        ("search:\n  indexes:\n    - uid: 'bad uid'\n      query: SELECT 1", "uid must be an index name"),
        ("search:\n  indexes:\n    - uid: a\n", "needs a query"),
        ("search:\n  indexes:\n    - uid: a\n      query: SELECT 1\n    - uid: a\n      query: SELECT 2", "defined twice"),
        ("search:\n  indexes:\n    - uid: a\n      query: SELECT 1\n      settings: [x]", "settings (a) must be a mapping"),
        ("search:\n  indexes:\n    - uid: a\n      query: SELECT 1\n      primarykey: id", "primarykey (a) is not a known key"),
    ])
    func refusesBadIndexDefinitions(yaml: String, message: String) {
        #expect {
            _ = try SearchIndexDefinition.parse(yaml: yaml, path: "recette.yml")
        } throws: { error in
            "\(error)".contains(message) && "\(error)".contains("recette.yml")
        }
    }

    @Test func cutsRowsIntoBoundedBatches() throws {
        let emitted = LockedValue<[DocumentBatchChannel.Batch]>([])
        let limit = BatchSizeLimit(bytes: 1024)
        let batcher = NDJSONBatcher(limit: limit) { batch in emitted.mutate { $0.append(batch) } }
        let row = Data((#"{"_meilisearch_id":"x-1","title":""# + String(repeating: "a", count: 80) + "\"}\n").utf8)
        for _ in 0..<100 { try row.withUnsafeBytes { try batcher.append(row: $0) } }
        // A document larger than the limit travels alone.
        let big = Data((#"{"_meilisearch_id":"big","t":""# + String(repeating: "b", count: 3000) + "\"}").utf8)
        try big.withUnsafeBytes { try batcher.append(row: $0) }
        try batcher.flush()
        let batches = emitted.get()
        #expect(batches.reduce(0) { $0 + $1.documents } == 101)
        #expect(batches.dropLast().allSatisfy { $0.body.count <= 1024 })
        #expect(batches.last?.documents == 1 && batches.last!.body.last == UInt8(ascii: "\n"), "newline added")
        for batch in batches {
            let lines = batch.body.split(separator: UInt8(ascii: "\n"))
            #expect(lines.count == batch.documents)
            #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0))) != nil })
        }
        let (first, second) = try #require(NDJSONBatcher.halves(of: batches[0]))
        #expect(first.documents + second.documents == batches[0].documents)
        #expect(first.body + second.body == batches[0].body)
        #expect(NDJSONBatcher.halves(of: batches.last!) == nil, "one document cannot be split")
        limit.lower(to: 10)
        #expect(limit.current == 1024, "never below 1 KiB")
    }

    @Test func recognisesTemporaryIndexesAndTheirOwners() {
        #expect(TemporaryIndexName(parsing: "offre-de-stage_20261122101500_0123456789ab", of: "offre-de-stage")
                == TemporaryIndexName(uid: "offre-de-stage", stamp: "20261122101500", owner: "0123456789ab"))
        #expect(TemporaryIndexName(parsing: "offre-de-stage_20261122101500", of: "offre-de-stage")?.owner == .some(nil), "before owners")
        #expect(TemporaryIndexName(parsing: "offre-de-stage_20261122101500_0123456789ab", of: "offre-de-stage")?.description
                == "offre-de-stage_20261122101500_0123456789ab")
        #expect(TemporaryIndexName(parsing: "offre-de-stage_20261122101500_archive", of: "offre-de-stage") == nil)
        #expect(TemporaryIndexName(parsing: "offre-de-stage_2026112210150", of: "offre-de-stage") == nil)
        #expect(TemporaryIndexName(parsing: "offre-de-stage_archive", of: "offre-de-stage") == nil)
        #expect(TemporaryIndexName(parsing: "offre_20261122101500", of: "offre-de-stage") == nil)
        #expect(TemporaryIndexName(parsing: "offre-de-stage", of: "offre-de-stage") == nil)
    }

    @Test func aTemporaryIndexIsALeftoverOnlyWhenItsOwnerIsProvablyGone() throws {
        let state = TestEnvironment.newProjectDirectory().appendingPathComponent(".recette")
        let claims = try TemporaryIndexClaims(stateDirectory: state)
        #expect(try TemporaryIndexClaims(stateDirectory: state).ownerID == claims.ownerID, "the owner id is kept")
        let name = claims.newName(for: "offre-de-stage", at: Date(timeIntervalSince1970: 1_764_000_000))
        #expect(TemporaryIndexName(parsing: name.description, of: "offre-de-stage") == name)

        let claim = try claims.claim(name, command: "recette reindex offre-de-stage")
        guard case .building(let holder) = try claims.standing(of: name) else { Issue.record("a held claim is being built"); return }
        #expect(holder?.pid == getpid() && holder?.command == "recette reindex offre-de-stage")
        #expect(throws: RecetteFailure.self, "the same name twice") { try claims.claim(name, command: "again") }
        claim.release()
        guard case .abandoned(let cleanup) = try claims.standing(of: name) else { Issue.record("a released claim is a leftover"); return }
        cleanup.release()

        var foreign = name
        foreign.owner = String(claims.ownerID.reversed())
        guard case .foreign = try claims.standing(of: foreign) else { Issue.record("another owner's index is not ours to judge"); return }
        foreign.owner = nil
        guard case .foreign = try claims.standing(of: foreign) else { Issue.record("an index without owner is not ours to judge"); return }

        // A copied .recette/ is another checkout: its claims are not the original's.
        let copy = TestEnvironment.newProjectDirectory().appendingPathComponent(".recette")
        try FileManager.default.copyItem(at: state, to: copy)
        #expect(try TemporaryIndexClaims(stateDirectory: copy).ownerID != claims.ownerID)
    }

    @Test func theShrinkGuardCountsTheShareLost() {
        #expect(IndexShrink(live: 22_500, rebuilt: 0).exceeds(0.5))
        #expect(IndexShrink(live: 22_500, rebuilt: 0).percentLost == 100)
        #expect(!IndexShrink(live: 1_000, rebuilt: 500).exceeds(0.5), "exactly the allowed share")
        #expect(IndexShrink(live: 1_000, rebuilt: 499).exceeds(0.5))
        #expect(!IndexShrink(live: 1_000, rebuilt: 2_000).exceeds(0), "growing loses nothing")
        #expect(!IndexShrink(live: 0, rebuilt: 0).exceeds(0), "an empty live index has nothing to lose")
        #expect(!IndexShrink(live: 1_000, rebuilt: 0).exceeds(1), "1 turns the guard off")
    }

    @Test func explainsTheStringBatchStop() throws {
        let stop = try #require(PluginReindexer.diagnose(documents: 10_000, publishedRows: 22_500, cmsEnvironment: ["MEILISEARCH_BATCH_SIZE": "5000", "NODE_ENV": "development"]))
        #expect(stop.contains("2 × 5000"))
        #expect(stop.contains("MEILISEARCH_BATCH_SIZE=\"5000\""))
        #expect(stop.contains("--via direct"))
        let unnamed = try #require(PluginReindexer.diagnose(documents: 10_000, publishedRows: 22_500, cmsEnvironment: [:]))
        #expect(unnamed.contains("e.g. MEILISEARCH_BATCH_SIZE"))
        #expect(PluginReindexer.diagnose(documents: 22_500, publishedRows: 22_500, cmsEnvironment: [:]) == nil)
        #expect(PluginReindexer.diagnose(documents: 1_234, publishedRows: 22_500, cmsEnvironment: [:])?.contains("2 ×") == false)
        #expect(PluginReindexer.diagnose(documents: 23_000, publishedRows: 22_500, cmsEnvironment: [:])?.contains("more than") == true)
    }

    @Test func populateStepSelection() {
        var options = PopulateOptions()
        #expect(PopulateStep.allCases.filter(options.runs) == [.backup, .restore, .cms, .reindex, .check], "a plain run never resets to the template")
        options.from = .reindex
        #expect(PopulateStep.allCases.filter(options.runs) == [.reindex, .check])
        options.from = nil
        options.only = .restore
        #expect(PopulateStep.allCases.filter(options.runs) == [.restore])
        options.only = nil
        options.skip = [.cms]
        #expect(PopulateStep.allCases.filter(options.runs) == [.backup, .restore, .reindex, .check])
        // --from reset: the pristine template in place of backup and restore.
        options.skip = []
        options.from = .reset
        #expect(options.steps == [.reset, .cms, .reindex, .check])
        #expect(PopulateStep.allCases.filter(options.runs) == [.reset, .cms, .reindex, .check])
        options.from = .restore
        #expect(PopulateStep.allCases.filter(options.runs) == [.restore, .cms, .reindex, .check])
        options.from = nil
        options.only = .reset
        #expect(PopulateStep.allCases.filter(options.runs) == [.reset])
    }

    @Test func routeDefaultsToDirectOnlyWithIndexes() throws {
        let none = Configuration(values: [:], projectDirectory: URL(fileURLWithPath: "/tmp"))
        #expect(try SearchSetup.route(requested: nil, configuration: none) == .plugin)
        let some = Configuration(values: [:], projectDirectory: URL(fileURLWithPath: "/tmp"),
                                 searchIndexes: [SearchIndexDefinition(uid: "a", query: "SELECT 1")])
        #expect(try SearchSetup.route(requested: nil, configuration: some) == .direct)
        #expect(try SearchSetup.route(requested: .plugin, configuration: some) == .plugin)
        let bad = Configuration(values: [.reindexVia: ResolvedValue(value: "magic", source: .environment)], projectDirectory: URL(fileURLWithPath: "/tmp"))
        #expect(throws: ConfigurationError.self) { try SearchSetup.route(requested: nil, configuration: bad) }
    }
}
