import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The Strapi stand-in: admin login and credentials, the plugin's content-type listing, its
/// documents, and its batch loop run with JavaScript semantics (the "5000" string bug).
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct StrapiStandInTests {
    static let email = "admin@recette.test"
    static let password = "Recette-Admin-1"

    struct Fixture {
        let meilisearch: MeilisearchStandIn
        let strapi: StrapiStandIn
        let database: SampleDatabase
        var meili: StandInClient { StandInClient(baseURL: meilisearch.baseURL, bearer: "masterKey") }
        var anonymous: StandInClient { StandInClient(baseURL: strapi.baseURL, bearer: nil) }

        init(offers: Int, housingAds: Int, batchSize: StrapiStandIn.BatchSize = .unset,
             permissions: Set<String> = ["create", "update", "delete"],
             contentTypes: [StrapiStandIn.ContentType] = [.offers, .housingAds, .users]) async throws {
            database = try await SampleDatabases.shared.database(offers: offers, housingAds: housingAds)
            meilisearch = try MeilisearchStandIn(taskProcessingDelay: .zero)
            strapi = try StrapiStandIn(
                databaseURL: database.url, meilisearchURL: meilisearch.baseURL, meilisearchAPIKey: "masterKey",
                adminEmail: StrapiStandInTests.email, adminPassword: StrapiStandInTests.password, adminPermissions: permissions,
                contentTypes: contentTypes, batchSize: batchSize)
        }

        func stop() {
            strapi.stop()
            meilisearch.stop()
        }

        func admin() async throws -> StandInClient {
            let reply = try await anonymous.send("POST", "/admin/login", json: ["email": StrapiStandInTests.email, "password": StrapiStandInTests.password])
            #expect(reply.status == 200, "\(reply)")
            let token = try #require((reply["data"] as? [String: Any])?["token"] as? String)
            return StandInClient(baseURL: strapi.baseURL, bearer: token)
        }

        /// The "Update" button (PUT) or the first indexing (POST), then Meilisearch's tasks.
        func index(_ contentType: String = StrapiStandIn.ContentType.offers.uid, method: String = "PUT") async throws -> HTTPReply {
            let reply = try await admin().send(method, "/meilisearch/content-type", json: ["contentType": contentType])
            #expect(reply.status == 200, "\(reply)")
            #expect(await meilisearch.waitUntilIdle(timeout: .seconds(300)))
            return reply
        }

        func contentTypes() async throws -> [String: [String: Any]] {
            let reply = try await admin().get("/meilisearch/content-type")
            #expect(reply.status == 200)
            let list = (reply["data"] as? [String: Any])?["contentTypes"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: list.map { ($0["contentType"] as? String ?? "", $0) })
        }

        /// Published offer ids in id order, from the database.
        func publishedIDs(_ table: String = "offres_de_stage") throws -> [Int] {
            let connection = try PostgresConnection(url: database.url)
            return try connection.query("SELECT id FROM \(table) WHERE published_at IS NOT NULL ORDER BY id").rows.compactMap { $0[0].flatMap(Int.init) }
        }
    }

    // MARK: Health and admin

    @Test func healthAnswers204AndCanBeHeldDown() async throws {
        let fixture = try await Fixture(offers: 40, housingAds: 15)
        defer { fixture.stop() }
        let up = try await fixture.anonymous.get("/_health")
        #expect(up.status == 204 && up.body.isEmpty)
        #expect(up.headers["strapi"] == "You are so French!")

        fixture.strapi.health = .serviceUnavailable
        let down = try await fixture.anonymous.get("/_health")
        #expect(down.status == 503)
        #expect((down["error"] as? [String: Any])?["status"] as? Int == 503)
        #expect(try await fixture.anonymous.send("POST", "/admin/login", json: ["email": Self.email, "password": Self.password]).status == 503)

        fixture.strapi.comeUp(afterProbes: 2)
        #expect(try await fixture.anonymous.get("/_health").status == 503)
        #expect(try await fixture.anonymous.get("/_health").status == 503)
        #expect(try await fixture.anonymous.get("/_health").status == 204)

        fixture.strapi.health = .noAnswer
        await #expect(throws: (any Error).self) { _ = try await fixture.anonymous.get("/_health") }
    }

    @Test func adminRoutesNeedTheTokenOfASuccessfulLogin() async throws {
        let fixture = try await Fixture(offers: 40, housingAds: 15)
        defer { fixture.stop() }
        let wrong = try await fixture.anonymous.send("POST", "/admin/login", json: ["email": Self.email, "password": "nope"])
        #expect(wrong.status == 400)
        #expect(wrong.text == #"{"data":null,"error":{"status":400,"name":"ApplicationError","message":"Invalid credentials","details":{}}}"#)

        let missing = try await fixture.anonymous.get("/meilisearch/content-type")
        #expect(missing.status == 401)
        #expect(missing.text == #"{"data":null,"error":{"status":401,"name":"UnauthorizedError","message":"Missing or invalid credentials","details":{}}}"#)
        let forged = try await StandInClient(baseURL: fixture.strapi.baseURL, bearer: "eyJhbGciOiJIUzI1NiJ9.e30.x").get("/meilisearch/content-type")
        #expect(forged.status == 401)
        #expect(try await fixture.anonymous.send("PUT", "/meilisearch/content-type", json: ["contentType": "x"]).status == 401)

        let login = try await fixture.anonymous.send("POST", "/admin/login", json: ["email": "Admin@Recette.test", "password": Self.password])
        #expect(login.status == 200)
        let data = try #require(login["data"] as? [String: Any])
        #expect((data["token"] as? String)?.split(separator: ".").count == 3)
        #expect((data["user"] as? [String: Any])?["email"] as? String == Self.email)
        #expect(try await fixture.admin().get("/meilisearch/content-type").status == 200)
        #expect(fixture.meilisearch.requestLog.isEmpty == false, "the listing asks Meilisearch")
    }

    // MARK: The plugin

    @Test func theListingCountsEveryRowAndTheIndexsDocuments() async throws {
        let fixture = try await Fixture(offers: 40, housingAds: 15)
        defer { fixture.stop() }
        let offers = StrapiStandIn.ContentType.offers.uid
        let ads = StrapiStandIn.ContentType.housingAds.uid
        let before = try await fixture.contentTypes()
        // Every content type of the CMS, configured in the plugin or not: users-permissions'
        // users too (the plugin ignores only its roles and permissions, and admin/upload/i18n).
        #expect(Set(before.keys) == [offers, ads, StrapiStandIn.ContentType.users.uid])
        #expect(before[StrapiStandIn.ContentType.users.uid]?["indexed"] as? Bool == false)
        #expect(before[StrapiStandIn.ContentType.users.uid]?["listened"] as? Bool == false)
        #expect(before[StrapiStandIn.ContentType.users.uid]?["indexUid"] as? String == "user")
        let offer = try #require(before[offers])
        #expect(offer["collection"] as? String == "offre-de-stage")
        #expect(offer["indexUid"] as? String == "offre-de-stage")
        #expect(offer["indexed"] as? Bool == false && offer["isIndexing"] as? Bool == false)
        #expect(offer["numberOfDocuments"] as? Int == 0)
        #expect(offer["numberOfEntries"] as? Int == 40, "drafts included")
        #expect(offer["listened"] as? Bool == true, "read from the plugin's store in strapi_core_store_settings")
        #expect(before[ads]?["numberOfEntries"] as? Int == 15)

        let reply = try await fixture.index(offers, method: "POST")
        let published = fixture.database.sql.expectedPublishedCounts["offres_de_stage"]!
        #expect(published < 40)
        #expect((reply["data"] as? [Int])?.count == 1, "one batch of up to 500: one task uid")
        let after = try await fixture.contentTypes()
        #expect(after[offers]?["indexed"] as? Bool == true)
        #expect(after[offers]?["numberOfDocuments"] as? Int == published)
        #expect(after[offers]?["numberOfEntries"] as? Int == 40)
        #expect(after[ads]?["indexed"] as? Bool == false)

        // An index Meilisearch lost is no longer "indexed".
        _ = try await fixture.meili.send("DELETE", "/indexes/offre-de-stage")
        #expect(await fixture.meilisearch.waitUntilIdle())
        #expect(try await fixture.contentTypes()[offers]?["indexed"] as? Bool == false)
    }

    @Test func documentsArePublishedRowsWithTheirComponentsAndAMeilisearchID() async throws {
        let fixture = try await Fixture(offers: 40, housingAds: 15)
        defer { fixture.stop() }
        _ = try await fixture.index(StrapiStandIn.ContentType.offers.uid, method: "POST")
        _ = try await fixture.index(StrapiStandIn.ContentType.housingAds.uid, method: "POST")

        // What the plugin sent: settings first, then documents keyed by _meilisearch_id.
        let writes = fixture.meilisearch.requestLog.filter { $0.method != "GET" }
        #expect(writes.map(\.route) == [.updateSettings, .addOrReplaceDocuments, .updateSettings, .addOrReplaceDocuments])
        #expect(writes[1].query == ["primaryKey": "_meilisearch_id"])
        #expect(fixture.meilisearch.tasks().allSatisfy { $0.status == .succeeded })

        let ids = try fixture.publishedIDs()
        #expect(fixture.meilisearch.documentIDs(in: "offre-de-stage") == ids.map { "offre-de-stage-\($0)" })
        let connection = try PostgresConnection(url: fixture.database.url)
        let id = try #require(ids.first)
        let doc = try #require(fixture.meilisearch.document("offre-de-stage-\(id)", in: "offre-de-stage"))
        let row = try connection.query(
            "SELECT title, slug, duree_en_mois, to_char(published_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM offres_de_stage WHERE id = $1",
            [String(id)]).rows[0]
        #expect(doc["id"] as? Int == id)
        #expect(doc["title"] as? String == row[0] && doc["slug"] as? String == row[1])
        #expect(doc["duree_en_mois"] as? Int == Int(row[2] ?? ""))
        #expect(doc["publishedAt"] as? String == row[3], "JavaScript's toISOString() under the attribute's name")
        #expect(doc["published_at"] == nil && doc["updatedAt"] is String)
        #expect((doc["createdAt"] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
        #expect(doc["created_by_id"] == nil && doc["updated_by_id"] == nil)
        #expect(doc["_meilisearch_id"] as? String == "offre-de-stage-\(id)")

        let localisation = try #require(doc["localisation"] as? [String: Any])
        let city = try connection.query(
            "SELECT l.ville, l.code_postal FROM offres_de_stage_components c JOIN components_localisation_localisations l ON l.id = c.component_id WHERE c.entity_id = $1 AND c.field = 'localisation'",
            [String(id)]).rows[0]
        #expect(localisation["ville"] as? String == city[0] && localisation["code_postal"] as? String == city[1])
        #expect(localisation["id"] is Int, "components with their own id, as the entity service returns them")
        #expect(localisation["coordonnees"] is [String: Any])
        #expect((doc["entreprise"] as? [String: Any])?["nom"] is String)

        // Drafts are never sent.
        let draft = try #require(try connection.query("SELECT id FROM offres_de_stage WHERE published_at IS NULL ORDER BY id LIMIT 1").scalar)
        #expect(fixture.meilisearch.document("offre-de-stage-\(draft)", in: "offre-de-stage") == nil)

        let adIDs = try fixture.publishedIDs("annonces_de_logement")
        #expect(fixture.meilisearch.documentIDs(in: "annonce-de-logement") == adIDs.map { "annonce-de-logement-\($0)" })
        let ad = try #require(fixture.meilisearch.document("annonce-de-logement-\(adIDs[0])", in: "annonce-de-logement"))
        #expect(ad["titre"] is String && ad["localisation"] is [String: Any] && ad["entreprise"] == nil)
    }

    @Test func privateAttributesAreNotSentAndATableWithoutDraftsIsIndexedWhole() async throws {
        let fixture = try await Fixture(offers: 40, housingAds: 15)
        defer { fixture.stop() }
        _ = try await fixture.index(StrapiStandIn.ContentType.users.uid, method: "POST")
        let users = try PostgresConnection(url: fixture.database.url).query("SELECT count(*) FROM up_users").scalar.flatMap(Int.init)
        #expect(fixture.meilisearch.documentCount(in: "user") == users, "users-permissions has no draft & publish")
        let user = try #require(fixture.meilisearch.document("user-1", in: "user"))
        #expect(user["email"] is String && user["username"] is String)
        #expect(user["password"] == nil && user["reset_password_token"] == nil && user["confirmation_token"] == nil)
    }

    @Test func theConfiguredSettingsAreSentWheneverTheIndexIsCreated() async throws {
        var offers = StrapiStandIn.ContentType.offers
        offers.settings = #"{"filterableAttributes":["domaine"],"pagination":{"maxTotalHits":100000}}"#
        let fixture = try await Fixture(offers: 40, housingAds: 15, contentTypes: [offers])
        defer { fixture.stop() }
        for method in ["POST", "PUT"] {
            _ = try await fixture.index(offers.uid, method: method)
            let settings = try await fixture.meili.get("/indexes/offre-de-stage/settings")
            #expect(settings["filterableAttributes"] as? [String] == ["domaine"], "\(method)")
            #expect((settings["pagination"] as? [String: Any])?["maxTotalHits"] as? Int == 100_000)
        }
    }

    @Test func anAdminWithoutThePluginsPermissionsGets403() async throws {
        let fixture = try await Fixture(offers: 40, housingAds: 15, permissions: ["create"])
        defer { fixture.stop() }
        let admin = try await fixture.admin()
        #expect(try await admin.get("/meilisearch/content-type").status == 200, "listing needs no permission")
        let update = try await admin.send("PUT", "/meilisearch/content-type", json: ["contentType": StrapiStandIn.ContentType.offers.uid])
        #expect(update.status == 403)
        #expect(update.text == #"{"data":null,"error":{"status":403,"name":"PolicyError","message":"Policy Failed","details":{}}}"#)
        #expect(try await admin.send("DELETE", "/meilisearch/content-type/offre-de-stage").status == 403)
        #expect(try await admin.send("POST", "/meilisearch/content-type", json: ["contentType": StrapiStandIn.ContentType.offers.uid]).status == 200)
        #expect(fixture.strapi.reindexRuns.map(\.update) == [false], "the refused update ran nothing")
    }

    @Test func aTransformEntryThatThrowsDropsItsWholeBatchSilently() async throws {
        let published = try await SampleDatabases.shared.database(offers: 40, housingAds: 15).url
        let first = try #require(try PostgresConnection(url: published).query("SELECT min(id) FROM offres_de_stage WHERE published_at IS NOT NULL").scalar.flatMap(Int.init))
        var offers = StrapiStandIn.ContentType.offers
        offers.transformThrowsOn = [first]
        let fixture = try await Fixture(offers: 40, housingAds: 15, batchSize: .number(10), contentTypes: [offers])
        defer { fixture.stop() }
        let reply = try await fixture.index(offers.uid, method: "POST")
        #expect(reply["error"] == nil, "the plugin answers as if all was well: \(reply)")
        let run = try #require(fixture.strapi.reindexRuns.last)
        #expect(run.batches.first?.documents == 0 && run.batches.first?.taskUID != nil, "an empty addition is still sent")
        let ids = try fixture.publishedIDs()
        #expect(fixture.meilisearch.documentIDs(in: "offre-de-stage") == ids.dropFirst(10).map { "offre-de-stage-\($0)" })
    }

    /// `batchSize = limit || 500; for (index = 0; index < count; index += batchSize)`, on a
    /// table of 40 rows (a few of them drafts). nil documents: every published row.
    @Test(arguments: [
        (StrapiStandIn.BatchSize.string("10"), ["0", "010"], 20),
        (.string("7"), ["0", "07"], 14),
        (.number(10), ["0", "10", "20", "30"], nil),
        (.unset, ["0"], nil),
        (.number(0), ["0"], nil),  // 0 || 500
        (.string(""), ["0"], nil),  // "" || 500
    ] as [(StrapiStandIn.BatchSize, [String], Int?)])
    func theBatchLoopFollowsJavaScript(_ batchSize: StrapiStandIn.BatchSize, _ indexes: [String], _ documents: Int?) async throws {
        let fixture = try await Fixture(offers: 40, housingAds: 15, batchSize: batchSize)
        defer { fixture.stop() }
        let published = try fixture.publishedIDs()
        #expect(published.count == fixture.database.sql.expectedPublishedCounts["offres_de_stage"] && published.count < 40)
        _ = try await fixture.index()
        let run = try #require(fixture.strapi.reindexRuns.last)
        #expect(run.count == 40, "the loop counts every row, drafts included")
        #expect(run.batches.map(\.index) == indexes)
        #expect(run.error == nil)
        let expected = published.prefix(documents ?? published.count).map { "offre-de-stage-\($0)" }
        #expect(fixture.meilisearch.documentIDs(in: "offre-de-stage") == Array(expected))
    }

    @Test func aNegativeBatchSizeBreaksOnTheSecondBatchAsInStrapi() async throws {
        // -1 is truthy and means "no limit" to Strapi; then index becomes -1, an invalid start.
        let fixture = try await Fixture(offers: 40, housingAds: 15, batchSize: .number(-1))
        defer { fixture.stop() }
        let reply = try await fixture.index()
        #expect((reply["error"] as? [String: Any])?["message"] as? String == "convertStartQueryParams expected a positive integer got -1")
        #expect(fixture.strapi.reindexRuns.last?.batches.map(\.index) == ["0"])
        #expect(fixture.meilisearch.documentCount(in: "offre-de-stage") == (try fixture.publishedIDs()).count)
    }

    @Test func anUnreachableMeilisearchIsReportedLikeThePluginDoes() async throws {
        let fixture = try await Fixture(offers: 40, housingAds: 15, batchSize: .number(10))
        defer { fixture.stop() }
        // The sample's plugin store lists the offers as indexed, so the Update deletes the index
        // first; that, the settings and the first two batches get through, then Meilisearch goes away.
        fixture.meilisearch.makeUnavailable(afterRequests: 4)
        let reply = try await fixture.admin().send("PUT", "/meilisearch/content-type", json: ["contentType": StrapiStandIn.ContentType.offers.uid])
        #expect(reply.status == 200, "the plugin answers 200 with an error body")
        #expect((reply["error"] as? [String: Any])?["message"] as? String == "Could not connect with Meilisearch, please check your host: \(fixture.meilisearch.baseURL.absoluteString)")
        #expect(fixture.strapi.reindexRuns.last?.batches.count == 2, "two batches went through")
        fixture.meilisearch.makeAvailable()
        #expect(await fixture.meilisearch.waitUntilIdle())
        #expect(fixture.meilisearch.documentCount(in: "offre-de-stage") == 20, "what was sent before stays")
    }

    // MARK: 25,000 offers

    @Test func aStringBatchSizeStopsTheIndexAtExactlyTenThousand() async throws {
        let fixture = try await Fixture(offers: 25_000, housingAds: 0, batchSize: .string("5000"))
        defer { fixture.stop() }
        let reply = try await fixture.index()
        #expect((reply["data"] as? [Int])?.count == 2)
        let run = try #require(fixture.strapi.reindexRuns.last)
        #expect(run.count == 25_000)
        #expect(run.batches.map(\.index) == ["0", "05000"])
        #expect(run.batches.map(\.offset) == [0, 5000] && run.batches.map(\.limit) == [5000, 5000])
        #expect(fixture.meilisearch.documentCount(in: "offre-de-stage") == 10_000)
        #expect(fixture.meilisearch.documentIDs(in: "offre-de-stage") == Array(try fixture.publishedIDs().prefix(10_000)).map { "offre-de-stage-\($0)" })
        let listing = try await fixture.contentTypes()[StrapiStandIn.ContentType.offers.uid]
        #expect(listing?["numberOfDocuments"] as? Int == 10_000 && listing?["numberOfEntries"] as? Int == 25_000)
    }

    @Test func theNumberBatchSizeIndexesEveryPublishedRowAfterDeletingTheIndex() async throws {
        let fixture = try await Fixture(offers: 25_000, housingAds: 0, batchSize: .number(500))
        defer { fixture.stop() }
        let published = try #require(fixture.database.sql.expectedPublishedCounts["offres_de_stage"])
        #expect(published == 22_500)
        _ = try await fixture.index(method: "POST")
        #expect(fixture.meilisearch.documentCount(in: "offre-de-stage") == published)

        // A document the database does not have: the Update button deletes the index first.
        _ = try await fixture.meili.send("POST", "/indexes/offre-de-stage/documents", json: [["_meilisearch_id": "stale-1"]])
        #expect(await fixture.meilisearch.waitUntilIdle())
        fixture.meilisearch.resetLog()
        let reply = try await fixture.index()
        #expect((reply["data"] as? [Int])?.count == 45)
        let run = try #require(fixture.strapi.reindexRuns.last)
        #expect(run.batches.count == 50, "the loop runs to the row count, the last five batches find nothing")
        #expect(run.batches.filter { $0.documents > 0 }.count == 45)
        let writes = fixture.meilisearch.requestLog.filter { $0.method != "GET" }.map(\.route)
        #expect(writes.first == .deleteIndex && writes.dropFirst().first == .updateSettings)
        #expect(writes.filter { $0 == .addOrReplaceDocuments }.count == 45)
        #expect(fixture.meilisearch.documentCount(in: "offre-de-stage") == published)
        #expect(fixture.meilisearch.document("stale-1", in: "offre-de-stage") == nil)
        #expect(fixture.meilisearch.documentIDs(in: "offre-de-stage") == (try fixture.publishedIDs()).map { "offre-de-stage-\($0)" })
    }
}

/// A Strapi-v4-shaped database built straight from `SampleDatabaseSQL` (no dump and restore
/// needed here), once per size and test run, in the shared test cluster.
struct SampleDatabase: Sendable {
    var url: String
    var sql: SampleDatabaseSQL
}

actor SampleDatabases {
    static let shared = SampleDatabases()
    private var building: [String: Task<SampleDatabase, any Error>] = [:]

    func database(offers: Int, housingAds: Int) async throws -> SampleDatabase {
        let name = "strapi_standin_\(offers)_\(housingAds)"
        if building[name] == nil {
            building[name] = Task {
                let (cluster, port) = try await TestEnvironment.startedCluster()
                let sql = SampleDatabaseSQL(offers: offers, housingAds: housingAds, owner: "strapi_standin_owner")
                let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
                try admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
                if try admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'strapi_standin_owner'").rows.isEmpty {
                    try admin.execute("CREATE ROLE strapi_standin_owner NOLOGIN")
                }
                try admin.execute("CREATE DATABASE \(name)")
                let url = cluster.url(database: name, port: port)
                let connection = try PostgresConnection(url: url)
                try connection.execute("BEGIN")
                for statement in sql.statements { try connection.execute(statement) }
                try connection.execute("COMMIT")
                return SampleDatabase(url: url, sql: sql)
            }
        }
        return try await building[name]!.value
    }
}
