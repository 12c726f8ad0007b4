import Foundation
import Testing
@testable import RecetteKit

@Suite struct SearchUnitTests {
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
        var batches: [DocumentBatchChannel.Batch] = []
        let limit = BatchSizeLimit(bytes: 1024)
        let batcher = NDJSONBatcher(limit: limit) { batches.append($0) }
        let row = Data((#"{"_meilisearch_id":"x-1","title":""# + String(repeating: "a", count: 80) + "\"}\n").utf8)
        for _ in 0..<100 { try row.withUnsafeBytes { try batcher.append(row: $0) } }
        // A document larger than the limit travels alone.
        let big = Data((#"{"_meilisearch_id":"big","t":""# + String(repeating: "b", count: 3000) + "\"}").utf8)
        try big.withUnsafeBytes { try batcher.append(row: $0) }
        try batcher.flush()
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

    @Test func recognisesItsOwnTemporaryIndexes() {
        #expect(DirectReindexer.isTemporary("offre-de-stage_20261122101500", of: "offre-de-stage"))
        #expect(!DirectReindexer.isTemporary("offre-de-stage_2026112210150", of: "offre-de-stage"))
        #expect(!DirectReindexer.isTemporary("offre-de-stage_archive", of: "offre-de-stage"))
        #expect(!DirectReindexer.isTemporary("offre_20261122101500", of: "offre-de-stage"))
        #expect(!DirectReindexer.isTemporary("offre-de-stage", of: "offre-de-stage"))
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
        #expect(PopulateStep.allCases.allSatisfy(options.runs))
        options.from = .reindex
        #expect(PopulateStep.allCases.filter(options.runs) == [.reindex, .check])
        options.from = nil
        options.only = .restore
        #expect(PopulateStep.allCases.filter(options.runs) == [.restore])
        options.only = nil
        options.skip = [.cms]
        #expect(PopulateStep.allCases.filter(options.runs) == [.backup, .restore, .reindex, .check])
    }

    @Test func routeDefaultsToDirectOnlyWithIndexes() throws {
        let none = Configuration(values: [:], projectDirectory: URL(fileURLWithPath: "/tmp"))
        #expect(try SearchSetup.route(requested: nil, configuration: none) == .plugin)
        let some = Configuration(values: [:], projectDirectory: URL(fileURLWithPath: "/tmp"),
                                 searchIndexes: [SearchIndexDefinition(uid: "a", query: "SELECT 1")])
        #expect(try SearchSetup.route(requested: nil, configuration: some) == .direct)
        #expect(try SearchSetup.route(requested: .plugin, configuration: some) == .plugin)
        let bad = Configuration(values: [.reindexVia: ResolvedValue(value: "magic", source: .environment)], projectDirectory: URL(fileURLWithPath: "/tmp"))
        #expect(throws: RecetteFailure.self) { try SearchSetup.route(requested: nil, configuration: bad) }
    }
}
