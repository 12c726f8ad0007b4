import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Meilisearch stand-in answers as Meilisearch v1.x documents it: auth errors, async tasks
/// and their failure codes, payload limits, content types, paging, stats and atomic swaps.
@Suite struct MeilisearchStandInTests {
    static let key = "masterKey"

    static func standIn(
        masterKey: String? = key, payloadLimit: Int = 100_000_000, delay: Duration = .milliseconds(1)
    ) throws -> (MeilisearchStandIn, StandInClient) {
        let standIn = try MeilisearchStandIn(masterKey: masterKey, payloadLimitBytes: payloadLimit, taskProcessingDelay: delay)
        return (standIn, StandInClient(baseURL: standIn.baseURL, bearer: masterKey))
    }

    /// Polls `GET /tasks/{uid}` until the task has finished.
    static func finished(_ client: StandInClient, _ reply: HTTPReply) async throws -> [String: Any] {
        let uid = try #require(reply["taskUid"] as? Int, "not a task summary: \(reply)")
        for _ in 0..<6000 {
            let task = try await client.get("/tasks/\(uid)").object
            if let status = task["status"] as? String, ["succeeded", "failed", "canceled"].contains(status) { return task }
            try await Task.sleep(for: .milliseconds(5))
        }
        Issue.record("task \(uid) never finished")
        return [:]
    }

    /// Sends a write and waits for its task.
    static func run(_ client: StandInClient, _ method: String, _ path: String, json: Any) async throws -> [String: Any] {
        let reply = try await client.send(method, path, json: json)
        #expect(reply.status == 202, "\(method) \(path): \(reply)")
        return try await finished(client, reply)
    }

    static func documents(_ range: ClosedRange<Int>, _ extra: (Int) -> [String: Any] = { _ in [:] }) -> [[String: Any]] {
        range.map { ["id": $0, "title": "Document \($0)"].merging(extra($0)) { $1 } }
    }

    // MARK: Authentication

    @Test func authenticationErrorsHaveMeilisearchsStatusesAndBodies() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        let anonymous = StandInClient(baseURL: standIn.baseURL, bearer: nil)

        let health = try await anonymous.get("/health")
        #expect(health.status == 200)
        #expect(health.object as? [String: String] == ["status": "available"])

        let missing = try await anonymous.get("/indexes")
        #expect(missing.status == 401)
        #expect(missing.meiliError == [
            "message": "The Authorization header is missing. It must use the bearer authorization method.",
            "code": "missing_authorization_header", "type": "auth",
            "link": "https://docs.meilisearch.com/errors#missing_authorization_header",
        ])
        let basic = try await anonymous.send("GET", "/indexes", headers: ["Authorization": "Basic bWFzdGVyS2V5Og=="])
        #expect(basic.status == 401 && basic.meiliError?["code"] == "missing_authorization_header")

        let wrong = try await StandInClient(baseURL: standIn.baseURL, bearer: "not-the-key").get("/indexes")
        #expect(wrong.status == 403)
        #expect(wrong.meiliError == [
            "message": "The provided API key is invalid.", "code": "invalid_api_key", "type": "auth",
            "link": "https://docs.meilisearch.com/errors#invalid_api_key",
        ])
        #expect(try await client.get("/indexes").status == 200)
        #expect(try await client.get("/version")["pkgVersion"] as? String == MeilisearchStandIn.emulatedVersion)

        // An API key is checked against the action of the route.
        standIn.addAPIKey("search-only", actions: ["search"])
        let searcher = StandInClient(baseURL: standIn.baseURL, bearer: "search-only")
        let denied = try await searcher.send("POST", "/indexes/movies/documents", json: [["id": 1]])
        #expect(denied.status == 403 && denied.meiliError?["code"] == "invalid_api_key")
        let allowed = try await searcher.send("POST", "/indexes/movies/search", json: ["q": "x"])
        #expect(allowed.status == 404 && allowed.meiliError?["code"] == "index_not_found", "authenticated, then no such index")

        // Without a master key, nothing is protected.
        let (openStandIn, open) = try Self.standIn(masterKey: nil)
        defer { openStandIn.stop() }
        #expect(try await StandInClient(baseURL: open.baseURL, bearer: nil).get("/indexes").status == 200)
    }

    @Test func unknownAndUnimplementedRoutesSayWhatTheyAre() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        #expect(try await client.get("/no-such-route").status == 404)
        #expect(try await client.send("DELETE", "/health").status == 405)
        let keys = try await client.get("/keys")
        #expect(keys.status == 501)
        #expect(keys.meiliError?["message"]?.contains("stand-in does not implement") == true, "\(keys)")
    }

    // MARK: Tasks

    @Test func anIndexCreationGoesThroughTheTaskLifecycle() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        standIn.pauseTaskProcessing()
        let accepted = try await client.send("POST", "/indexes", json: ["uid": "movies", "primaryKey": "id"])
        #expect(accepted.status == 202)
        #expect(Set(accepted.object.keys) == ["taskUid", "indexUid", "status", "type", "enqueuedAt"])
        #expect(accepted["status"] as? String == "enqueued")
        #expect(accepted["type"] as? String == "indexCreation")
        #expect(accepted["indexUid"] as? String == "movies")

        let enqueued = try await client.get("/tasks/0").object
        #expect(enqueued["status"] as? String == "enqueued")
        #expect(enqueued["startedAt"] is NSNull && enqueued["finishedAt"] is NSNull && enqueued["duration"] is NSNull)
        #expect(enqueued["error"] is NSNull)
        #expect(try await client.get("/indexes/movies").status == 404, "not created before its task runs")

        standIn.resumeTaskProcessing()
        let done = try await Self.finished(client, accepted)
        #expect(done["status"] as? String == "succeeded")
        #expect((done["duration"] as? String)?.hasPrefix("PT") == true)
        #expect(done["startedAt"] is String && done["finishedAt"] is String)
        #expect((done["details"] as? [String: String]) == ["primaryKey": "id"])
        let index = try await client.get("/indexes/movies")
        #expect(index.status == 200)
        #expect(index["uid"] as? String == "movies" && index["primaryKey"] as? String == "id")

        // The same uid again: accepted, then the task fails.
        let again = try await Self.run(client, "POST", "/indexes", json: ["uid": "movies"])
        #expect(again["status"] as? String == "failed")
        #expect(again["error"] as? [String: String] == [
            "message": "Index `movies` already exists.", "code": "index_already_exists", "type": "invalid_request",
            "link": "https://docs.meilisearch.com/errors#index_already_exists",
        ])

        // An invalid uid is refused at once: no task.
        let before = standIn.tasks().count
        let invalid = try await client.send("POST", "/indexes", json: ["uid": "bad uid!"])
        #expect(invalid.status == 400 && invalid.meiliError?["code"] == "invalid_index_uid", "\(invalid)")
        #expect(try await client.get("/indexes/bad%20uid!").meiliError?["code"] == "invalid_index_uid")
        #expect(standIn.tasks().count == before)

        let missing = try await client.get("/indexes/ghost")
        #expect(missing.status == 404)
        #expect(missing.meiliError?["message"] == "Index `ghost` not found.")
        #expect(try await client.get("/tasks/999").meiliError?["code"] == "task_not_found")
        let deletion = try await Self.run(client, "DELETE", "/indexes/ghost", json: NSNull())
        #expect(deletion["status"] as? String == "failed")
        #expect((deletion["error"] as? [String: String])?["code"] == "index_not_found")
    }

    @Test(.tags(.slow), .skippedInUnitLane) func tasksRunOneAtATimeInOrderAndIndexingShowsInStats() async throws {
        let (standIn, client) = try Self.standIn(delay: .zero)
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes", json: ["uid": "slow", "primaryKey": "id"])
        // Long enough that the checks below fall inside task 1's processing even on a busy machine.
        standIn.taskProcessingDelay = .seconds(5)
        _ = try await client.send("POST", "/indexes/slow/documents", json: Self.documents(1...3))  // task 1
        _ = try await client.send("POST", "/indexes/slow/documents", json: Self.documents(4...6))  // task 2
        // One task list is one snapshot: when it shows task 1 processing, task 2 must wait.
        func statuses() async throws -> [Int: String] {
            let list = try await client.get("/tasks?indexUids=slow").object["results"] as? [[String: Any]] ?? []
            return Dictionary(list.compactMap { task in (task["uid"] as? Int).map { ($0, task["status"] as? String ?? "?") } }) { first, _ in first }
        }
        var snapshot: [Int: String] = [:]
        for _ in 0..<1000 where snapshot[1] != "processing" {
            snapshot = try await statuses()
            if snapshot[1] != "processing" { try await Task.sleep(for: .milliseconds(5)) }
        }
        #expect(snapshot[1] == "processing")
        #expect(snapshot[2] == "enqueued")
        // While task 1 is processing: the index is indexing, nothing applied yet.
        let during = try await client.get("/indexes/slow/stats").object
        #expect(try await statuses()[1] == "processing", "the stats above were read during task 1")
        #expect(during["isIndexing"] as? Bool == true)
        #expect(during["numberOfDocuments"] as? Int == 0)
        #expect(await standIn.waitUntilIdle())
        let after = try await client.get("/indexes/slow/stats").object
        #expect(after["isIndexing"] as? Bool == false)
        #expect(after["numberOfDocuments"] as? Int == 6)
        let tasks = standIn.tasks()
        #expect(tasks.map(\.status) == [.succeeded, .succeeded, .succeeded])
        #expect(try #require(tasks[1].finishedAt) <= (try #require(tasks[2].startedAt)))
    }

    /// `POST /tasks/cancel` needs a filter; its task runs before the queue and cancels the
    /// matching enqueued tasks, which then never run; other indexes' tasks are untouched.
    @Test func aTaskCancelationJumpsTheQueueAndCancelsWhatItMatches() async throws {
        let (standIn, client) = try Self.standIn(delay: .zero)
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes", json: ["uid": "doomed", "primaryKey": "id"])
        let missing = try await client.send("POST", "/tasks/cancel")
        #expect(missing.status == 400)
        #expect(missing.meiliError?["code"] == "missing_task_filters", "\(missing)")

        // Queued while the worker is paused: the order is known whatever the machine's load.
        standIn.pauseTaskProcessing()
        var queued: [Int] = []
        for batch in 0..<4 {
            let reply = try await client.send("POST", "/indexes/doomed/documents", json: Self.documents((batch * 10 + 1)...(batch * 10 + 10)))
            queued.append(try #require(reply["taskUid"] as? Int))
        }
        let other = try await client.send("POST", "/indexes/kept/documents?primaryKey=id", json: Self.documents(1...2))
        let cancel = try await client.send("POST", "/tasks/cancel?indexUids=doomed&statuses=enqueued,processing")
        #expect(cancel.status == 202)
        #expect(cancel["type"] as? String == "taskCancelation")
        standIn.resumeTaskProcessing()
        let finished = try await Self.finished(client, cancel)
        #expect(finished["status"] as? String == "succeeded")
        let details = finished["details"] as? [String: Any]
        #expect(details?["matchedTasks"] as? Int == 4)
        #expect(details?["canceledTasks"] as? Int == 4)
        #expect(await standIn.waitUntilIdle())
        let tasks = Dictionary(uniqueKeysWithValues: standIn.tasks().map { ($0.uid, $0) })
        #expect(queued.map { tasks[$0]?.status } == Array(repeating: .canceled, count: 4))
        let cancelUID = try #require(cancel["taskUid"] as? Int)
        let otherUID = try #require(other["taskUid"] as? Int)
        #expect(try #require(tasks[cancelUID]?.finishedAt) <= (try #require(tasks[otherUID]?.startedAt)), "the cancelation ran before the task enqueued ahead of it")
        #expect(tasks[otherUID]?.status == .succeeded)
        let first = try await client.get("/tasks/\(try #require(queued.first))").object
        #expect(first["canceledBy"] as? Int == cancelUID)
        #expect(try await client.get("/indexes/doomed/stats").object["numberOfDocuments"] as? Int == 0)
    }

    @Test func anInjectedFailureFailsTheNextTaskOfThatTypeAndChangesNothing() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        standIn.failNextTask(ofType: .documentAdditionOrUpdate, code: "internal", message: "disk on fire", errorType: "internal")
        let failed = try await Self.run(client, "POST", "/indexes/movies/documents?primaryKey=id", json: Self.documents(1...5))
        #expect(failed["status"] as? String == "failed")
        #expect(failed["error"] as? [String: String] == [
            "message": "disk on fire", "code": "internal", "type": "internal", "link": "https://docs.meilisearch.com/errors#internal",
        ])
        #expect((failed["details"] as? [String: Int]) == ["receivedDocuments": 5, "indexedDocuments": 0])
        #expect(standIn.documentCount(in: "movies") == nil, "not even the index was created")
        let next = try await Self.run(client, "POST", "/indexes/movies/documents?primaryKey=id", json: Self.documents(1...5))
        #expect(next["status"] as? String == "succeeded")
        #expect(standIn.documentCount(in: "movies") == 5)
    }

    @Test func taskListsFilterAndPageNewestFirst() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes", json: ["uid": "a"])  // 0
        _ = try await Self.run(client, "POST", "/indexes", json: ["uid": "b"])  // 1
        _ = try await Self.run(client, "POST", "/indexes", json: ["uid": "a"])  // 2, fails
        _ = try await Self.run(client, "POST", "/indexes/a/documents?primaryKey=id", json: Self.documents(1...2))  // 3
        _ = try await Self.run(client, "DELETE", "/indexes/b", json: NSNull())  // 4

        func uids(_ reply: HTTPReply) -> [Int] { (reply["results"] as? [[String: Any]] ?? []).compactMap { $0["uid"] as? Int } }
        let first = try await client.get("/tasks?limit=2")
        #expect(uids(first) == [4, 3])
        #expect(first["total"] as? Int == 5 && first["limit"] as? Int == 2)
        #expect(first["from"] as? Int == 4 && first["next"] as? Int == 2)
        let second = try await client.get("/tasks?limit=2&from=2")
        #expect(uids(second) == [2, 1] && second["next"] as? Int == 0)
        let last = try await client.get("/tasks?limit=2&from=0")
        #expect(uids(last) == [0] && last["next"] is NSNull)
        #expect(uids(try await client.get("/tasks")) == [4, 3, 2, 1, 0])

        #expect(uids(try await client.get("/tasks?statuses=failed")) == [2])
        #expect(uids(try await client.get("/tasks?types=indexCreation,indexDeletion")) == [4, 2, 1, 0])
        #expect(uids(try await client.get("/tasks?indexUids=a")) == [3, 2, 0])
        #expect(uids(try await client.get("/tasks?uids=0,3")) == [3, 0])
        #expect(try await client.get("/tasks?statuses=failed")["total"] as? Int == 1)

        let badStatus = try await client.get("/tasks?statuses=done")
        #expect(badStatus.status == 400 && badStatus.meiliError?["code"] == "invalid_task_statuses")
        let unknown = try await client.get("/tasks?color=red")
        #expect(unknown.status == 400 && unknown.meiliError?["code"] == "bad_request")
        #expect(unknown.meiliError?["message"]?.hasPrefix("Unknown parameter `color`: expected one of") == true)
    }

    // MARK: Documents

    @Test func thePrimaryKeyIsInferredOnlyFromASingleIdAttribute() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        let single = try await Self.run(client, "POST", "/indexes/one/documents", json: [["movieId": 1, "title": "x"]])
        #expect(single["status"] as? String == "succeeded")
        #expect(standIn.primaryKey(of: "one") == "movieId")

        // What a Strapi document looks like: three candidates.
        let strapi: [[String: Any]] = [["id": 1, "documentId": "abc", "_meilisearch_id": "offre-1", "title": "x"]]
        let several = try await Self.run(client, "POST", "/indexes/many/documents", json: strapi)
        #expect(several["status"] as? String == "failed")
        let error = try #require(several["error"] as? [String: String])
        #expect(error["code"] == "index_primary_key_multiple_candidates_found")
        #expect(error["message"] == "The primary key inference failed as the engine found 3 fields ending with `id` in their names: '_meilisearch_id' and 'documentId'. Please specify the primary key manually using the `primaryKey` query parameter.")
        #expect(try await client.get("/indexes/many").status == 404, "a failed task creates nothing")

        let none = try await Self.run(client, "POST", "/indexes/none/documents", json: [["title": "x"]])
        #expect((none["error"] as? [String: String])?["code"] == "index_primary_key_no_candidate_found")

        let given = try await Self.run(client, "POST", "/indexes/many/documents?primaryKey=_meilisearch_id", json: strapi)
        #expect(given["status"] as? String == "succeeded")
        #expect(standIn.primaryKey(of: "many") == "_meilisearch_id")
        #expect(standIn.documentIDs(in: "many") == ["offre-1"])

        // Another primary key on a non-empty index is refused.
        let other = try await Self.run(client, "POST", "/indexes/many/documents?primaryKey=id", json: strapi)
        #expect((other["error"] as? [String: String])?["code"] == "index_primary_key_already_exists")
    }

    @Test func oneBadDocumentFailsTheWholeBatch() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes", json: ["uid": "docs", "primaryKey": "id"])

        let missingID = try await Self.run(client, "POST", "/indexes/docs/documents", json: [["id": 1], ["title": "no id"], ["id": 3]])
        #expect(missingID["status"] as? String == "failed")
        #expect((missingID["details"] as? [String: Int]) == ["receivedDocuments": 3, "indexedDocuments": 0])
        #expect(missingID["error"] as? [String: String] == [
            "message": "Document doesn't have a `id` attribute: `{\"title\":\"no id\"}`.", "code": "missing_document_id",
            "type": "invalid_request", "link": "https://docs.meilisearch.com/errors#missing_document_id",
        ])
        #expect(standIn.documentCount(in: "docs") == 0)

        let invalid: [Any] = ["a b", 1.5, String(repeating: "x", count: 512), "", true, NSNull()]
        for id in invalid {
            let task = try await Self.run(client, "POST", "/indexes/docs/documents", json: [["id": 1], ["id": id]])
            let error = try #require(task["error"] as? [String: String], "id \(id) must be refused")
            #expect(error["code"] == "invalid_document_id", "id \(id)")
            #expect(error["message"]?.hasSuffix("only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes.") == true)
        }
        #expect(standIn.documentCount(in: "docs") == 0)
        let quoted = try await Self.run(client, "POST", "/indexes/docs/documents", json: [["id": "a b"]])
        #expect((quoted["error"] as? [String: String])?["message"]?.hasPrefix("Document identifier `\"a b\"` is invalid.") == true)

        let good = try await Self.run(
            client, "POST", "/indexes/docs/documents",
            json: [["id": 1], ["id": "Ab_9-z"], ["id": String(repeating: "x", count: 511)], ["id": -4]])
        #expect((good["details"] as? [String: Int]) == ["receivedDocuments": 4, "indexedDocuments": 4])
        #expect(standIn.documentCount(in: "docs") == 4)
    }

    @Test func replaceAndPartialUpdateAndDeletions() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes/d/documents?primaryKey=id", json: [["id": 1, "a": 1, "b": 2], ["id": 2, "a": 2]])
        _ = try await Self.run(client, "POST", "/indexes/d/documents", json: [["id": 1, "a": 9]])
        #expect(standIn.document("1", in: "d") as? [String: Int] == ["id": 1, "a": 9], "POST replaces the whole document")
        _ = try await Self.run(client, "PUT", "/indexes/d/documents", json: [["id": 1, "b": 5], ["id": 3, "c": 3]])
        #expect(standIn.document("1", in: "d") as? [String: Int] == ["id": 1, "a": 9, "b": 5], "PUT merges top-level fields")
        #expect(standIn.documentCount(in: "d") == 3)

        let batch = try await Self.run(client, "POST", "/indexes/d/documents/delete-batch", json: [1, "3", "404"])
        #expect(batch["type"] as? String == "documentDeletion")
        #expect((batch["details"] as? [String: Any])?["providedIds"] as? Int == 3)
        #expect((batch["details"] as? [String: Any])?["deletedDocuments"] as? Int == 2)
        #expect(standIn.documentIDs(in: "d") == ["2"])
        let one = try await Self.run(client, "DELETE", "/indexes/d/documents/2", json: NSNull())
        #expect((one["details"] as? [String: Any])?["deletedDocuments"] as? Int == 1)

        _ = try await Self.run(client, "POST", "/indexes/d/documents", json: Self.documents(1...10))
        let all = try await Self.run(client, "DELETE", "/indexes/d/documents", json: NSNull())
        #expect(all["type"] as? String == "documentDeletion")
        #expect((all["details"] as? [String: Int]) == ["deletedDocuments": 10])
        #expect(standIn.documentCount(in: "d") == 0)
        #expect(standIn.primaryKey(of: "d") == "id", "the index stays, empty")
    }

    @Test func documentsAreReadBackInPagesByIdsAndFields() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes/d/documents?primaryKey=id", json: Self.documents(1...45) { ["n": $0 * 10] })

        let first = try await client.get("/indexes/d/documents")
        #expect((first["results"] as? [Any])?.count == 20)
        #expect(first["total"] as? Int == 45 && first["limit"] as? Int == 20 && first["offset"] as? Int == 0)
        let last = try await client.get("/indexes/d/documents?offset=40&limit=100&fields=id,n")
        let lastResults = try #require(last["results"] as? [[String: Int]])
        #expect(lastResults == (41...45).map { ["id": $0, "n": $0 * 10] })
        #expect(try await client.get("/indexes/d/documents?limit=0")["total"] as? Int == 45)
        let bad = try await client.get("/indexes/d/documents?limit=-1")
        #expect(bad.status == 400 && bad.meiliError?["code"] == "invalid_document_limit")

        let fetched = try await client.send("POST", "/indexes/d/documents/fetch", json: ["ids": [7, "3"], "fields": ["title"]])
        #expect(fetched.status == 200)
        #expect(fetched["results"] as? [[String: String]] == [["title": "Document 3"], ["title": "Document 7"]])
        #expect(fetched["total"] as? Int == 2)
        let page = try await client.send("POST", "/indexes/d/documents/fetch", json: ["offset": 44, "limit": 10])
        #expect((page["results"] as? [[String: Any]])?.map { $0["id"] as? Int } == [45])

        let one = try await client.get("/indexes/d/documents/7")
        #expect(one.object["title"] as? String == "Document 7")
        let absent = try await client.get("/indexes/d/documents/999")
        #expect(absent.status == 404)
        #expect(absent.meiliError?["message"] == "Document `999` not found.")
        #expect(absent.meiliError?["code"] == "document_not_found")
    }

    @Test func indexesAreListedInPagesOfTwentyByDefault() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        for i in 0..<25 { _ = try await client.send("POST", "/indexes", json: ["uid": String(format: "index-%02d", i)]) }
        #expect(await standIn.waitUntilIdle())
        let first = try await client.get("/indexes")
        let results = try #require(first["results"] as? [[String: Any]])
        #expect(results.count == 20)
        #expect(results.first?["uid"] as? String == "index-00")
        #expect(first["total"] as? Int == 25 && first["limit"] as? Int == 20 && first["offset"] as? Int == 0)
        #expect(Set(results[0].keys) == ["uid", "createdAt", "updatedAt", "primaryKey"])
        let rest = try await client.get("/indexes?offset=20&limit=20")
        #expect((rest["results"] as? [[String: Any]])?.map { $0["uid"] as? String } == (20..<25).map { String(format: "index-%02d", $0) })
    }

    // MARK: Payloads

    @Test func thePayloadLimitIsCountedOnTheDecompressedBody() async throws {
        let (standIn, client) = try Self.standIn(payloadLimit: 2048)
        defer { standIn.stop() }
        let big = try JSONSerialization.data(withJSONObject: Self.documents(1...100))  // > 2 KiB
        #expect(big.count > 2048)
        let plain = try await client.send("POST", "/indexes/p/documents?primaryKey=id", body: big, contentType: "application/json")
        #expect(plain.status == 413)
        #expect(plain.meiliError == [
            "message": "The provided payload reached the size limit. The maximum accepted payload size is 2 KiB.",
            "code": "payload_too_large", "type": "invalid_request",
            "link": "https://docs.meilisearch.com/errors#payload_too_large",
        ])

        // Small on the wire, too big once inflated: still refused.
        let compressed = try Gzip.compress(big)
        #expect(compressed.count < 2048)
        let gzipped = try await client.send(
            "POST", "/indexes/p/documents?primaryKey=id", body: compressed, contentType: "application/json",
            headers: ["Content-Encoding": "gzip"])
        #expect(gzipped.status == 413 && gzipped.meiliError?["code"] == "payload_too_large")

        // Under the limit once inflated: accepted and indexed.
        let small = try JSONSerialization.data(withJSONObject: Self.documents(1...20))
        #expect(small.count < 2048)
        let accepted = try await client.send(
            "POST", "/indexes/p/documents?primaryKey=id", body: try Gzip.compress(small), contentType: "application/json",
            headers: ["Content-Encoding": "gzip"])
        #expect(accepted.status == 202)
        #expect(try await Self.finished(client, accepted)["status"] as? String == "succeeded")
        #expect(standIn.documentCount(in: "p") == 20)

        // Far over the limit: refused before the body is read, with the same answer.
        let huge = Data(repeating: UInt8(ascii: " "), count: 200 * 1024)
        let refused = try rawHTTP(
            port: standIn.port,
            "POST /indexes/p/documents HTTP/1.1\nHost: x\nAuthorization: Bearer \(Self.key)\nContent-Type: application/json\nContent-Length: \(huge.count)\nConnection: close\n\n",
            body: huge)
        #expect(refused.status == 413 && refused.meiliError?["code"] == "payload_too_large", "\(refused)")
        #expect(standIn.tasks().count == 1)
    }

    @Test func contentTypesOtherThanJSONAndNDJSONAreRefused() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        let body = Data(#"[{"id":1}]"#.utf8)
        let text = try await client.send("POST", "/indexes/c/documents", body: body, contentType: "text/plain")
        #expect(text.status == 415)
        #expect(text.meiliError?["code"] == "invalid_content_type")
        #expect(text.meiliError?["message"] == "The Content-Type `text/plain` is invalid. Accepted values for the Content-Type header are: `application/json`, `application/x-ndjson`, `text/csv`")

        let missing = try rawHTTP(
            port: standIn.port,
            "POST /indexes/c/documents HTTP/1.1\nHost: x\nAuthorization: Bearer \(Self.key)\nContent-Length: \(body.count)\nConnection: close\n\n",
            body: body)
        #expect(missing.status == 415 && missing.meiliError?["code"] == "missing_content_type", "\(missing)")

        let csv = try await client.send("POST", "/indexes/c/documents", body: Data("id\n1\n".utf8), contentType: "text/csv")
        #expect(csv.status == 501)
        #expect(csv.meiliError?["message"]?.contains("CSV") == true)

        let ndjson = Data("{\"id\":1,\"t\":\"a\"}\n{\"id\":2,\"t\":\"b\"}\n\n{\"id\":3}".utf8)
        let accepted = try await client.send(
            "POST", "/indexes/c/documents?primaryKey=id", body: ndjson, contentType: "application/x-ndjson")
        #expect(accepted.status == 202)
        #expect(try await Self.finished(client, accepted)["status"] as? String == "succeeded")
        let charset = try await client.send("POST", "/indexes/c/documents", body: Data(#"{"id":4}"#.utf8), contentType: "application/json; charset=utf-8")
        #expect(charset.status == 202, "one object is accepted too")
        #expect(await standIn.waitUntilIdle())
        #expect(standIn.documentIDs(in: "c") == ["1", "2", "3", "4"])
    }

    @Test func malformedPayloadsAreRefusedAtOnceWithoutATask() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        let cases: [(String, String, String)] = [
            ("application/json", #"[{"id":1},"#, "The `json` payload provided is malformed. `Couldn't serialize document value: EOF while parsing a list`."),
            ("application/json", #"[{"id":1} {"id":2}]"#, "The `json` payload provided is malformed. `Couldn't serialize document value: expected `,` or `]``."),
            ("application/json", #""hello""#, "The `json` payload provided is malformed. `Couldn't serialize document value: data are neither an object nor a list of objects`."),
            ("application/x-ndjson", "{\"id\":1}\n{\"id\":2,}\n", "The `ndjson` payload provided is malformed. `Couldn't serialize document value: trailing comma`."),
        ]
        for (type, body, message) in cases {
            let reply = try await client.send("POST", "/indexes/m/documents", body: Data(body.utf8), contentType: type)
            #expect(reply.status == 400, "\(body)")
            #expect(reply.meiliError?["code"] == "malformed_payload")
            #expect(reply.meiliError?["message"] == message)
        }
        let empty = try rawHTTP(
            port: standIn.port,
            "POST /indexes/m/documents HTTP/1.1\nHost: x\nAuthorization: Bearer \(Self.key)\nContent-Type: application/json\nContent-Length: 0\nConnection: close\n\n")
        #expect(empty.status == 400 && empty.meiliError?["message"] == "A json payload is missing.", "\(empty)")
        #expect(standIn.tasks().isEmpty)
    }

    @Test func largeGzippedNDJSONBatchesAreIngestedWhole() async throws {
        let (standIn, client) = try Self.standIn(delay: .zero)
        defer { standIn.stop() }
        var ndjson = Data()
        for id in 1...40_000 {
            ndjson.append(Data(#"{"_meilisearch_id":"offre-de-stage-\#(id)","id":\#(id),"title":"Stage n°\#(id) à Lyon","description":"\#(String(repeating: "lorem ipsum ", count: 15))","localisation":{"ville":"Lyon","code_postal":"69001"}}"#.utf8))
            ndjson.append(0x0A)
        }
        #expect(ndjson.count > 8_000_000)
        let reply = try await client.send(
            "POST", "/indexes/big/documents?primaryKey=_meilisearch_id", body: try Gzip.compress(ndjson),
            contentType: "application/x-ndjson", headers: ["Content-Encoding": "gzip"])
        let task = try await Self.finished(client, reply)
        #expect((task["details"] as? [String: Int]) == ["receivedDocuments": 40_000, "indexedDocuments": 40_000])
        #expect(standIn.documentCount(in: "big") == 40_000)
        let stats = try await client.get("/indexes/big/stats").object
        #expect(stats["fieldDistribution"] as? [String: Int] == [
            "_meilisearch_id": 40_000, "id": 40_000, "title": 40_000, "description": 40_000, "localisation": 40_000,
            "localisation.ville": 40_000, "localisation.code_postal": 40_000,
        ])
        let one = try await client.get("/indexes/big/documents/offre-de-stage-40000").object
        #expect(one["title"] as? String == "Stage n°40000 à Lyon")
    }

    // MARK: Stats, settings, search

    @Test func statsCountDocumentsAndTheirFields() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        let docs: [[String: Any]] = [
            ["id": 1, "title": "a", "localisation": ["ville": "Lyon", "coordonnees": ["lat": 1, "lng": 2]]],
            ["id": 2, "title": "b", "tags": [["name": "x"], ["name": "y"]]],
            ["id": 3],
        ]
        _ = try await Self.run(client, "POST", "/indexes/s/documents?primaryKey=id", json: docs)
        _ = try await Self.run(client, "POST", "/indexes", json: ["uid": "empty"])
        let stats = try await client.get("/indexes/s/stats").object
        #expect(stats["numberOfDocuments"] as? Int == 3)
        #expect(stats["isIndexing"] as? Bool == false)
        #expect(stats["fieldDistribution"] as? [String: Int] == [
            "id": 3, "title": 2, "localisation": 1, "localisation.ville": 1, "localisation.coordonnees": 1,
            "localisation.coordonnees.lat": 1, "localisation.coordonnees.lng": 1, "tags": 1, "tags.name": 1,
        ])
        let all = try await client.get("/stats").object
        let indexes = try #require(all["indexes"] as? [String: [String: Any]])
        #expect(Set(indexes.keys) == ["s", "empty"])
        #expect(indexes["s"]?["numberOfDocuments"] as? Int == 3 && indexes["empty"]?["numberOfDocuments"] as? Int == 0)
        #expect(all["lastUpdate"] is String)
        #expect((all["databaseSize"] as? Int ?? 0) > 0)
        #expect(try await client.get("/indexes/nope/stats").status == 404)
    }

    @Test func settingsAreCompleteMergedValidatedAndCreateTheIndex() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        #expect(try await client.get("/indexes/set/settings").meiliError?["code"] == "index_not_found")

        let created = try await Self.run(client, "PATCH", "/indexes/set/settings", json: ["searchableAttributes": ["title"]])
        #expect(created["type"] as? String == "settingsUpdate" && created["status"] as? String == "succeeded")
        #expect((created["details"] as? [String: [String]]) == ["searchableAttributes": ["title"]])
        _ = try await Self.run(client, "PATCH", "/indexes/set/settings", json: ["typoTolerance": ["enabled": false]])
        let settings = try await client.get("/indexes/set/settings").object
        #expect(settings["displayedAttributes"] as? [String] == ["*"])
        #expect(settings["searchableAttributes"] as? [String] == ["title"])
        #expect(settings["filterableAttributes"] as? [String] == [] && settings["sortableAttributes"] as? [String] == [])
        #expect(settings["rankingRules"] as? [String] == ["words", "typo", "proximity", "attribute", "sort", "exactness"])
        #expect(settings["distinctAttribute"] is NSNull)
        #expect((settings["synonyms"] as? [String: Any])?.isEmpty == true)
        #expect((settings["pagination"] as? [String: Int]) == ["maxTotalHits": 1000])
        let typo = try #require(settings["typoTolerance"] as? [String: Any])
        #expect(typo["enabled"] as? Bool == false)
        #expect(typo["minWordSizeForTypos"] as? [String: Int] == ["oneTypo": 5, "twoTypos": 9], "PATCH merges")
        #expect(try await client.get("/indexes/set/settings/pagination").object as? [String: Int] == ["maxTotalHits": 1000])

        _ = try await Self.run(client, "PATCH", "/indexes/set/settings", json: ["searchableAttributes": NSNull()])
        #expect(try await client.get("/indexes/set/settings")["searchableAttributes"] as? [String] == ["*"], "null resets")

        let before = standIn.tasks().count
        let unknown = try await client.send("PATCH", "/indexes/set/settings", json: ["searchable": ["x"]])
        #expect(unknown.status == 400 && unknown.meiliError?["code"] == "bad_request")
        #expect(unknown.meiliError?["message"]?.hasPrefix("Unknown field `searchable`: expected one of `displayedAttributes`") == true)
        let wrongType = try await client.send("PATCH", "/indexes/set/settings", json: ["displayedAttributes": "title"])
        #expect(wrongType.meiliError?["code"] == "invalid_settings_displayed_attributes")
        #expect(wrongType.meiliError?["message"] == "Invalid value type at `.displayedAttributes`: expected an array, but found a string: `\"title\"`")
        let rule = try await client.send("PATCH", "/indexes/set/settings", json: ["rankingRules": ["bogus"]])
        #expect(rule.meiliError?["code"] == "invalid_settings_ranking_rules")
        #expect(standIn.tasks().count == before, "invalid settings never become tasks")
    }

    @Test func searchMatchesSubstringsAndStopsAtMaxTotalHits() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        let seen = LineCollector()
        standIn.onSearch { seen.append("\($0.indexUID):\($0.query):\($0.hitIDs.count)") }
        let docs = Self.documents(1...1500) { id in ["localisation": ["ville": id % 500 == 0 ? "Lyon" : "Paris"]] }
        _ = try await Self.run(client, "POST", "/indexes/q/documents?primaryKey=id", json: docs)

        let lyon = try await client.send("POST", "/indexes/q/search", json: ["q": "LYON"])
        #expect(lyon.status == 200)
        #expect((lyon["hits"] as? [[String: Any]])?.compactMap { $0["id"] as? Int } == [500, 1000, 1500])
        #expect(lyon["estimatedTotalHits"] as? Int == 3 && lyon["query"] as? String == "LYON")
        #expect(Set(lyon.object.keys) == ["hits", "query", "processingTimeMs", "limit", "offset", "estimatedTotalHits"])

        // An empty query is a placeholder search: everything, up to pagination.maxTotalHits.
        let all = try await client.get("/indexes/q/search")
        #expect((all["hits"] as? [Any])?.count == 20 && all["estimatedTotalHits"] as? Int == 1000)
        let tail = try await client.send("POST", "/indexes/q/search", json: ["offset": 995, "limit": 20, "attributesToRetrieve": ["id"]])
        #expect(tail["hits"] as? [[String: Int]] == (996...1000).map { ["id": $0] })
        #expect(try await client.get("/indexes/q/search?q=document%2012&limit=100")["estimatedTotalHits"] as? Int == 111)

        _ = try await Self.run(client, "PATCH", "/indexes/q/settings", json: ["searchableAttributes": ["title"]])
        #expect(try await client.send("POST", "/indexes/q/search", json: ["q": "lyon"])["estimatedTotalHits"] as? Int == 0)

        let filter = try await client.send("POST", "/indexes/q/search", json: ["q": "", "filter": "x = 1"])
        #expect(filter.status == 501 && filter.meiliError?["message"]?.contains("`filter`") == true)
        #expect(standIn.searchLog.map(\.query) == ["LYON", "", "", "document 12", "lyon"])
        #expect(seen.all.first == "q:LYON:3")
    }

    // MARK: Swap

    @Test func aSwapIsAtomicAndAllOrNothing() async throws {
        let (standIn, client) = try Self.standIn(delay: .milliseconds(20))
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes/live/documents?primaryKey=id", json: Self.documents(1...300) { _ in ["generation": "old"] })
        _ = try await Self.run(client, "POST", "/indexes/live-next/documents?primaryKey=id", json: Self.documents(1001...1200) { _ in ["generation": "new"] })
        _ = try await Self.run(client, "PATCH", "/indexes/live-next/settings", json: ["displayedAttributes": ["id", "generation"]])
        let additionToNext = 1  // task uid of the addition to live-next

        // Searches of "live" run all through the swap: each must see one generation only.
        // Ended with a flag, not Task cancellation: cancelling an in-flight URLSession request
        // can deadlock in FoundationNetworking (URLSessionTask.cancel waits on its queue).
        let observations = LineCollector()
        let done = LineCollector()
        let searching = Task {
            while done.all.isEmpty {
                let reply = try await client.send("POST", "/indexes/live/search", json: ["q": "", "limit": 1000])
                let generations = Set((reply["hits"] as? [[String: Any]] ?? []).compactMap { $0["generation"] as? String })
                observations.append("\(generations.sorted().joined(separator: "+"))/\(reply["estimatedTotalHits"] as? Int ?? -1)")
            }
        }
        // Signals, not pauses (a fixed 50 ms failed under CI load): a search has answered before
        // the swap, and two have answered after it, so one of them started once it was done.
        for _ in 0..<2000 {
            if !observations.all.isEmpty { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        try #require(!observations.all.isEmpty, "no search answered before the swap")
        let swap = try await Self.run(client, "POST", "/swap-indexes", json: [["indexes": ["live", "live-next"]]])
        let answeredBefore = observations.all.count
        for _ in 0..<2000 {
            if observations.all.count >= answeredBefore + 2 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        done.append("swapped")
        _ = try? await searching.value

        #expect(swap["status"] as? String == "succeeded")
        #expect(swap["indexUid"] is NSNull)
        #expect((swap["details"] as? [String: Any])?["swaps"] as? [[String: [String]]] == [["indexes": ["live", "live-next"]]])
        let seen = Set(observations.all)
        #expect(!seen.isEmpty)
        #expect(seen.isSubset(of: ["old/300", "new/200"]), "a search saw a mix: \(seen)")
        #expect(seen.contains("old/300") && seen.contains("new/200"), "the searches overlapped the swap: \(seen)")

        // Documents, settings and task history moved with the index.
        #expect(standIn.documentCount(in: "live") == 200 && standIn.documentCount(in: "live-next") == 300)
        #expect(try await client.get("/indexes/live/settings")["displayedAttributes"] as? [String] == ["id", "generation"])
        #expect(try await client.get("/indexes/live-next/settings")["displayedAttributes"] as? [String] == ["*"])
        #expect(try await client.get("/tasks/\(additionToNext)")["indexUid"] as? String == "live")

        // A missing index fails the whole swap: nothing moves.
        let partial = try await Self.run(client, "POST", "/swap-indexes", json: [["indexes": ["live-next", "live"]], ["indexes": ["other", "ghost"]]])
        #expect(partial["status"] as? String == "failed")
        #expect((partial["error"] as? [String: String])?["code"] == "index_not_found")
        #expect((partial["error"] as? [String: String])?["message"] == "Indexes `ghost`, `other` not found.")
        #expect(standIn.documentCount(in: "live") == 200)

        let one = try await client.send("POST", "/swap-indexes", json: [["indexes": ["live"]]])
        #expect(one.status == 400 && one.meiliError?["code"] == "invalid_swap_indexes")
        #expect(one.meiliError?["message"] == "Two indexes must be given for each swap. The list `[\"live\"]` contains 1 indexes.")
        let twice = try await client.send("POST", "/swap-indexes", json: [["indexes": ["a", "b"]], ["indexes": ["b", "c"]]])
        #expect(twice.status == 400 && twice.meiliError?["code"] == "invalid_swap_duplicate_index_found")
    }

    @Test func aSwapIsFiledUnderBothIndexes() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes/a/documents?primaryKey=id", json: Self.documents(1...2))
        _ = try await Self.run(client, "POST", "/indexes/b/documents?primaryKey=id", json: Self.documents(3...4))
        let swap = try await Self.run(client, "POST", "/swap-indexes", json: [["indexes": ["a", "b"]]])
        let swapUID = try #require(swap["uid"] as? Int)
        for uid in ["a", "b"] {
            let listed = try #require(try await client.get("/tasks?indexUids=\(uid)")["results"] as? [[String: Any]])
            #expect(listed.contains { $0["uid"] as? Int == swapUID }, "GET /tasks?indexUids=\(uid) finds the swap")
        }
        #expect((try await client.get("/tasks?indexUids=c")["results"] as? [[String: Any]])?.isEmpty == true)

        // …and a cancelation by index reaches an enqueued swap.
        standIn.pauseTaskProcessing()
        let queued = try await client.send("POST", "/swap-indexes", json: [["indexes": ["a", "b"]]])
        let cancel = try await client.send("POST", "/tasks/cancel?indexUids=b")
        standIn.resumeTaskProcessing()
        let canceled = try await Self.finished(client, queued)
        #expect(canceled["status"] as? String == "canceled")
        #expect(canceled["canceledBy"] as? Int == cancel["taskUid"] as? Int)
    }

    @Test func aCancelationInterruptsTheTaskBeingProcessed() async throws {
        let (standIn, client) = try Self.standIn(delay: .seconds(30))
        defer { standIn.stop() }
        let slow = try await client.send("POST", "/indexes/slow/documents?primaryKey=id", json: Self.documents(1...3))
        let uid = try #require(slow["taskUid"] as? Int)
        // Polls until processing; a `for … where` would go on polling (2000 requests) after it.
        var status: String?
        for _ in 0..<2000 {
            status = try await client.get("/tasks/\(uid)")["status"] as? String
            if status == "processing" { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        try #require(status == "processing", "the slow task never started")
        standIn.taskProcessingDelay = .milliseconds(1)
        let started = ContinuousClock.now
        let cancel = try await client.send("POST", "/tasks/cancel?uids=\(uid)")
        let task = try await Self.finished(client, slow)
        #expect(ContinuousClock.now - started < .seconds(20), "not after the 30 s the task would take")
        #expect(task["status"] as? String == "canceled" && task["canceledBy"] as? Int == cancel["taskUid"] as? Int, "\(task)")
        #expect(standIn.indexUIDs().isEmpty, "an interrupted task changes nothing")
        let cancelation = try await Self.finished(client, cancel)
        #expect((cancelation["details"] as? [String: Any])?["canceledTasks"] as? Int == 1)
    }

    /// Meilisearch stopped applying displayedAttributes to document routes in v0.28.
    @Test func documentRoutesReturnEveryFieldAndOnlySearchAppliesDisplayedAttributes() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        _ = try await Self.run(client, "POST", "/indexes/docs/documents?primaryKey=id", json: Self.documents(1...2) { _ in ["updatedAt": "2026-01-01T00:00:00.000Z"] })
        _ = try await Self.run(client, "PATCH", "/indexes/docs/settings", json: ["displayedAttributes": ["id", "title"]])
        let listed = try #require(try await client.get("/indexes/docs/documents")["results"] as? [[String: Any]])
        #expect(listed.first?["updatedAt"] as? String == "2026-01-01T00:00:00.000Z")
        let picked = try #require(try await client.get("/indexes/docs/documents?fields=id,updatedAt")["results"] as? [[String: Any]])
        #expect(picked.first.map { Set($0.keys) } == ["id", "updatedAt"])
        let fetched = try #require(try await client.send("POST", "/indexes/docs/documents/fetch", json: ["fields": ["updatedAt"]])["results"] as? [[String: Any]])
        #expect(fetched.first?["updatedAt"] is String)
        #expect(try await client.get("/indexes/docs/documents/1")["updatedAt"] is String)
        let hits = try #require(try await client.send("POST", "/indexes/docs/search", json: ["q": ""])["hits"] as? [[String: Any]])
        #expect(hits.first.map { Set($0.keys) } == ["id", "title"], "search applies displayedAttributes")
    }

    /// localizedAttributes (v1.10+): a list of {attributePatterns, locales} rules, or null.
    @Test func localizedAttributesAreRulesOfPatternsAndLocales() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        let rules: [[String: [String]]] = [["attributePatterns": ["*_fr"], "locales": ["fra"]]]
        let task = try await Self.run(client, "PATCH", "/indexes/loc/settings", json: ["localizedAttributes": rules])
        #expect(task["status"] as? String == "succeeded", "\(task)")
        #expect(try await client.get("/indexes/loc/settings")["localizedAttributes"] as? [[String: [String]]] == rules)
        let flat = try await client.send("PATCH", "/indexes/loc/settings", json: ["localizedAttributes": ["*_fr"]])
        #expect(flat.status == 400 && flat.meiliError?["code"] == "invalid_settings_localized_attributes")
        let partial = try await client.send("PATCH", "/indexes/loc/settings", json: ["localizedAttributes": [["locales": ["fra"]]]])
        #expect(partial.meiliError?["message"] == "Missing field `attributePatterns` inside `.localizedAttributes[0]`")
    }

    /// The stand-in answers as the Meilisearch the generated compose file runs.
    @Test func itReportsTheVersionTheComposeFilePins() throws {
        let compose = try String(contentsOf: TestEnvironment.packageRoot.appendingPathComponent("compose/compose.yaml"), encoding: .utf8)
        let tag = try #require(compose.firstMatch(of: /getmeili\/meilisearch:v(\d+\.\d+)/)?.1)
        #expect(MeilisearchStandIn.emulatedVersion.hasPrefix("\(tag).") && tag.hasPrefix("1."), "compose pins v\(tag)")
    }

    // MARK: Unreachable

    @Test func anUnavailableStandInStopsAnsweringAfterSomeRequests() async throws {
        let (standIn, client) = try Self.standIn()
        defer { standIn.stop() }
        standIn.makeUnavailable(afterRequests: 2)
        #expect(try await client.get("/health").status == 200)
        #expect(try await client.get("/indexes").status == 200)
        await #expect(throws: (any Error).self) { _ = try await client.get("/indexes") }
        #expect(standIn.requestLog.last?.status == 0)
        standIn.makeAvailable()
        #expect(try await client.get("/indexes").status == 200)

        standIn.makeUnavailable(afterRequests: 0, mode: .refuseConnections)
        await #expect(throws: (any Error).self) { _ = try await client.get("/health") }
        for _ in 0..<100 {
            if (try? rawHTTP(port: standIn.port, "GET /health HTTP/1.1\nHost: x\nConnection: close\n\n")) == nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(throws: (any Error).self, "connections are refused") {
            _ = try rawHTTP(port: standIn.port, "GET /health HTTP/1.1\nHost: x\nConnection: close\n\n")
        }
    }

    // MARK: The executable

    @Test func theExecutablePrintsItsURLAndServesUntilSIGTERM() async throws {
        let binary = TestEnvironment.packageRoot.appendingPathComponent(".build/debug/meilisearch-standin")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            Issue.record("\(binary.path) is missing: run 'swift build' before 'swift test'")
            return
        }
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--master-key", "bench-key", "--payload-limit", "4096", "--port", "0"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        var firstLine = Data()
        while !firstLine.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            firstLine.append(chunk)
        }
        let url = try #require(URL(string: String(decoding: firstLine, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(url.host == "127.0.0.1")
        let client = StandInClient(baseURL: url, bearer: "bench-key")
        #expect(try await client.get("/health").status == 200)
        #expect(try await client.get("/indexes").status == 200)
        let tooBig = try await client.send("POST", "/indexes/x/documents", body: Data(repeating: 32, count: 5000), contentType: "application/json")
        #expect(tooBig.meiliError?["message"] == "The provided payload reached the size limit. The maximum accepted payload size is 4 KiB.")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }
}
