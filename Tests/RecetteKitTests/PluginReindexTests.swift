import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// `recette reindex --via plugin` against the Strapi admin + Meilisearch plugin stand-in, which
/// reads the restored sample and reproduces the plugin's loop, string batch size included.
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct PluginReindexTests {
    private func run(batchSize: StrapiStandIn.BatchSize, password: String = "Recette-Admin-1", pluginKey: String? = nil,
                     permissions: Set<String> = ["create", "update", "delete"],
                     check: (SearchProject, MeilisearchStandIn, CLIResult) async throws -> Void,
                     strapiCheck: (StrapiStandIn) throws -> Void = { _ in }) async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let strapi = try StrapiStandIn(databaseURL: project.databaseURL, meilisearchURL: meilisearch.baseURL,
                                       meilisearchAPIKey: pluginKey ?? meilisearch.masterKey, adminPermissions: permissions, batchSize: batchSize)
        defer { strapi.stop() }
        let result = try await project.recette(["reindex", "--via", "plugin"], [
            "STRAPI_URL": strapi.baseURL.absoluteString, "STRAPI_ADMIN_EMAIL": "admin@recette.test", "STRAPI_ADMIN_PASSWORD": password,
        ])
        try await check(project, meilisearch, result)
        try strapiCheck(strapi)
        #expect(!(result.standardOutput + result.standardError).contains(password), "no password in output")
    }

    @Test func aStringBatchSizeStopsAt10000AndRecetteSaysWhy() async throws {
        try await run(batchSize: .string("5000")) { project, meilisearch, result in
            let published = try project.publishedOfferIDs().count
            #expect(result.status == 1)
            #expect(meilisearch.documentCount(in: "offre-de-stage") == 10_000)
            #expect(result.standardOutput.contains("offre-de-stage (api::offre-de-stage.offre-de-stage): 10000 documents, \(published) published rows in the database"), "\(result.standardOutput)")
            #expect(result.standardOutput.contains("INCOMPLETE"))
            #expect(result.standardOutput.range(of: #"annonce-de-logement \(.*\): (\d+) documents, \1 published rows.*complete"#, options: .regularExpression) != nil,
                    "fewer than 5000 published ads: one batch, complete: \(result.standardOutput)")
            let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.contains("stops at 10000 of \(published) published rows, exactly 2 × 5000"), "\(last)")
            #expect(last.contains("batch size is a string"))
            #expect(last.contains("recette reindex --via direct"))
        }
    }

    @Test func theDefaultNumericBatchSizeIndexesEveryPublishedRow() async throws {
        try await run(batchSize: .unset) { project, meilisearch, result in
            #expect(result.status == 0, "\(result.standardError)")
            let published = try project.publishedOfferIDs()
            #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == published)
            #expect(result.standardOutput.components(separatedBy: "— complete").count == 3, "\(result.standardOutput)")
        }
    }

    @Test func onlyTheContentTypesThePluginIndexesAreRebuiltNeverTheUsers() async throws {
        try await run(batchSize: .unset) { _, meilisearch, result in
            #expect(result.status == 0, "\(result.standardError)")
            // The plugin lists users-permissions' users too (every Strapi has them), not indexed.
            #expect(meilisearch.indexUIDs() == ["annonce-de-logement", "offre-de-stage"], "no index of the users' e-mails")
            #expect(!result.standardOutput.contains("plugin::users-permissions.user"), "\(result.standardOutput)")
        } strapiCheck: { strapi in
            #expect(Set(strapi.reindexRuns.map(\.contentType)) == ["api::offre-de-stage.offre-de-stage", "api::annonce-de-logement.annonce-de-logement"])
        }
    }

    @Test func aFailureThePluginAnswersWith200IsReported() async throws {
        // The plugin's own Meilisearch key is wrong: its controller catches Meilisearch's 403
        // and answers 200 with an `error` body, as the real one does.
        try await run(batchSize: .unset, pluginKey: "not-the-key") { _, meilisearch, result in
            #expect(result.status == 1)
            let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.contains("the Meilisearch plugin of Strapi at http://127.0.0.1:"), "\(result.standardError)")
            #expect(last.contains("failed to reindex api::"), "\(last)")
            #expect(last.contains("The provided API key is invalid."), "\(last)")
            #expect(meilisearch.indexUIDs().isEmpty)
        }
    }

    @Test func verifyFindsAStaleDocumentOfThePluginsIndexByItsUpdatedAt() async throws {
        try await run(batchSize: .unset) { project, meilisearch, result in
            try #require(result.status == 0, "\(result.standardError)")
            let clean = try await project.recette(["search", "verify", "--index", "offre-de-stage"])
            #expect(clean.status == 0 && clean.standardOutput.contains("in sync"), "\(clean.standardOutput)\(clean.standardError)")
            #expect(!clean.standardOutput.contains("staleness not checked"), "\(clean.standardOutput)")

            // The row changed after the plugin indexed it; the plugin's document holds Strapi's
            // attribute `updatedAt` (milliseconds, Z), the query's row `updated_at`.
            let connection = try PostgresConnection(url: project.databaseURL)
            let id = try #require(try connection.query("SELECT min(id) FROM offres_de_stage WHERE published_at IS NOT NULL").scalar)
            try connection.execute("UPDATE offres_de_stage SET updated_at = updated_at + interval '1 second' WHERE id = \(id)")
            let drift = try await project.recette(["search", "verify", "--index", "offre-de-stage"])
            #expect(drift.status == 1)
            #expect(drift.standardOutput.contains("1 stale (updatedAt differs): offre-de-stage-\(id)"), "\(drift.standardOutput)")
        }
    }

    @Test func anAdminWithoutThePluginsPermissionsIsExplained() async throws {
        try await run(batchSize: .unset, permissions: []) { _, meilisearch, result in
            #expect(result.status == 1)
            let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.contains("does not let the admin STRAPI_ADMIN_EMAIL reindex api::"), "\(last)")
            #expect(last.contains("Roles → Plugins → Meilisearch"), "\(last)")
            #expect(meilisearch.indexUIDs().isEmpty)
        }
    }

    @Test func aWrongAdminPasswordIsExplained() async throws {
        try await run(batchSize: .unset, password: "not-the-password") { _, meilisearch, result in
            #expect(result.status == 1)
            #expect(result.standardError.contains("refused the admin login (Invalid credentials): check STRAPI_ADMIN_EMAIL and STRAPI_ADMIN_PASSWORD"), "\(result.standardError)")
            #expect(meilisearch.indexUIDs().isEmpty, "nothing was reindexed")
        }
    }

    @Test func missingCredentialsAreExplained() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await SearchProject.make(meilisearch: meilisearch)
        let result = try await project.recette(["reindex", "--via", "plugin"], ["STRAPI_ADMIN_EMAIL": "", "STRAPI_ADMIN_PASSWORD": ""])
        #expect(result.status == 1)
        #expect(result.standardError.contains("set STRAPI_ADMIN_EMAIL and STRAPI_ADMIN_PASSWORD"), "\(result.standardError)")
    }
}
