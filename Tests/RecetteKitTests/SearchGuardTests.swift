import Foundation
import StandIns
import Testing
@testable import RecetteKit

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

    var meilisearchClient: MeilisearchClient {
        MeilisearchClient(baseURL: meilisearch.baseURL, apiKey: meilisearch.masterKey.map(Secret.init), transport: URLSessionTransport())
    }
}

/// The guards of a direct rebuild: what it refuses, what it cleans up, what it explains.
@Suite(.serialized) struct SearchGuardTests {
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
}
