import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecetteWorld

/// A Meilisearch as its errors name it: its address (scheme, host and port; never a key) and
/// where its URL and key were set, so that a message says what to fix.
public struct MeilisearchServer: Sendable, CustomStringConvertible {
    /// Filled in by the client from its base URL.
    public var description = ""
    /// Said beside the address, e.g. "the Meilisearch of Scalingo app 'x', from its
    /// MEILISEARCH_URL"; nil for the configured one (PLUGIN_MEILISEARCH_URL).
    public var origin: String?
    public var urlSource = Setting.meilisearchURL.environmentName
    public var keySource = Setting.meilisearchAPIKey.environmentName

    /// " (origin)" after the address, or nothing.
    var aside: String { origin.map { " (\($0))" } ?? "" }
}

/// What went wrong talking to Meilisearch, said so a person can act on it.
public enum MeilisearchError: Error, CustomStringConvertible, Sendable {
    /// An error reply: `{"message","code","type","link"}` and its status.
    case api(status: Int, code: String, message: String, what: String, server: MeilisearchServer)
    case unreachable(server: MeilisearchServer, reason: String)
    case taskFailed(taskUid: Int, type: String, indexUid: String?, code: String, message: String)
    case taskCanceled(taskUid: Int, type: String)
    case taskTimeout(taskUid: Int, type: String, indexUid: String?, status: String, waited: Duration)
    case unreadableReply(what: String, server: MeilisearchServer)

    public var code: String? {
        switch self {
        case .api(_, let code, _, _, _), .taskFailed(_, _, _, let code, _): code
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .api(401, _, _, let what, let server):
            let fix = server.origin == nil ? "set \(Setting.meilisearchAPIKey.environmentName) in the environment or .env" : "check \(server.keySource)"
            return "Meilisearch at \(server)\(server.aside) wants an API key (\(what)): \(fix)"
        case .api(403, let code, let message, let what, let server):
            return "Meilisearch at \(server)\(server.aside) refused the API key (\(code): \(message)) while trying to \(what): check \(server.keySource) (the master key, or a key with indexes, documents, settings, tasks, stats and swap rights)"
        case .api(let status, let code, let message, let what, let server):
            return "Meilisearch at \(server) answered \(status) \(code) while trying to \(what): \(message)"
        case .unreachable(let server, let reason):
            return "cannot reach Meilisearch at \(server) (\(server.origin.map { "\($0); " } ?? "")\(reason)): is it running? Check \(server.urlSource)"
        case .taskFailed(let uid, let type, let index, let code, let message):
            return "Meilisearch task \(uid) (\(type)\(index.map { " on \($0)" } ?? "")) failed: \(code): \(message)"
        case .taskCanceled(let uid, let type):
            return "Meilisearch task \(uid) (\(type)) was canceled by someone else"
        case .taskTimeout(let uid, let type, let index, let status, let waited):
            let state = status == "enqueued" ? "still enqueued (not started: Meilisearch runs one task at a time and an earlier one is still running)" : "still \(status)"
            return "gave up waiting for Meilisearch task \(uid) (\(type)\(index.map { " on \($0)" } ?? "")) after \(waited.formattedSeconds): it is \(state); see GET /tasks/\(uid)"
        case .unreadableReply(let what, let server):
            return "Meilisearch at \(server)\(server.aside) sent a reply recette cannot read (\(what)): is \(server.urlSource) a Meilisearch server?"
        }
    }
}

/// A write Meilisearch accepted: `202 {"taskUid","indexUid","status","type","enqueuedAt"}`.
public struct MeilisearchTaskReference: Sendable, Decodable, Equatable {
    public var taskUid: Int
    public var indexUid: String?
    public var status: String
    public var type: String
}

/// `GET /tasks/{uid}`.
public struct MeilisearchTask: Sendable, Decodable {
    public struct Failure: Sendable, Decodable { public var message: String; public var code: String }
    public struct Details: Sendable, Decodable {
        public var receivedDocuments: Int?
        public var indexedDocuments: Int?
        public var deletedDocuments: Int?
    }
    public var uid: Int
    public var indexUid: String?
    public var status: String
    public var type: String
    public var error: Failure?
    public var details: Details?

    public var isFinished: Bool { ["succeeded", "failed", "canceled"].contains(status) }
}

public struct MeilisearchIndex: Sendable, Decodable, Equatable {
    public var uid: String
    public var primaryKey: String?
}

/// How long to wait for tasks, and how to sleep (injected so tests need not wait).
public struct TaskWaitPolicy: Sendable {
    public var deadline: Duration
    public var firstDelay: Duration
    public var maximumDelay: Duration
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(deadline: Duration = .seconds(600), firstDelay: Duration = .milliseconds(5), maximumDelay: Duration = .milliseconds(500),
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.deadline = deadline
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
        self.sleep = sleep
    }
}

/// Meilisearch's HTTP API (v1.x), the part a full rebuild and a drift check need.
public struct MeilisearchClient: Sendable {
    private var api: JSONAPI
    private let apiKey: Secret?
    public var waitPolicy: TaskWaitPolicy
    /// Its address and where its URL and key came from, as its errors say them.
    public let endpoint: MeilisearchServer
    /// For 429 and 503 (Meilisearch busy): 4 attempts, about 0.4, 0.8 then 1.6 s apart.
    public var retry: RetryPolicy { get { api.retry } set { api.retry = newValue } }

    /// - Parameter server: where its URL and key came from (its address is filled in here).
    public init(baseURL: URL, apiKey: Secret?, transport: any HTTPTransport, waitPolicy: TaskWaitPolicy = TaskWaitPolicy(),
                server: MeilisearchServer? = nil) {
        var endpoint = server ?? MeilisearchServer()
        endpoint.description = JSONAPI.server(baseURL)
        api = JSONAPI(baseURL: baseURL, transport: transport, retry: RetryPolicy(maximumAttempts: 4, baseDelay: .milliseconds(400), maximumDelay: .seconds(2)),
                      retriedStatuses: [429, 503], errorMessage: { $0["message"] as? String }) { [endpoint] failure, what in
            switch failure {
            case .unreachable(let error, _): MeilisearchError.unreachable(server: endpoint, reason: error.reason)
            case .rejected(let reply):
                MeilisearchError.api(status: reply.status, code: reply.object?["code"] as? String ?? "http_\(reply.status)",
                                     message: reply.message ?? "no details", what: what, server: endpoint)
            case .unreadable: MeilisearchError.unreadableReply(what: what, server: endpoint)
            }
        }
        self.apiKey = apiKey
        self.waitPolicy = waitPolicy
        self.endpoint = endpoint
    }

    /// The configured Meilisearch; a key read from the compose file is named as such.
    public static func from(_ configuration: Configuration, transport: any HTTPTransport) throws -> MeilisearchClient {
        var server = MeilisearchServer()
        if configuration.resolved(.meilisearchAPIKey)?.source == .detected {
            server.keySource = "the MEILI_MASTER_KEY of the compose file's Meilisearch service, or set PLUGIN_MEILISEARCH_API_KEY"
        }
        return MeilisearchClient(baseURL: try configuration.url(.meilisearchURL), apiKey: configuration.secret(.meilisearchAPIKey), transport: transport, server: server)
    }

    public var baseURL: URL { api.baseURL }

    /// Scheme, host and port only: what messages show.
    public var server: String { endpoint.description }

    // MARK: - Indexes

    /// The index, or nil when it does not exist.
    public func index(_ uid: String) async throws -> MeilisearchIndex? {
        do {
            return try decode(try await call("GET", "indexes/\(uid)", what: "read index \(uid)"), "index \(uid)")
        } catch let error as MeilisearchError where error.code == "index_not_found" {
            return nil
        }
    }

    /// Every index (paged 100 at a time; bounded to 100 pages).
    public func indexes() async throws -> [MeilisearchIndex] {
        struct Page: Decodable { var results: [MeilisearchIndex]; var total: Int }
        var all: [MeilisearchIndex] = []
        for page in 0..<100 {
            let reply: Page = try decode(try await call("GET", "indexes", query: ["limit": "100", "offset": String(page * 100)], what: "list indexes"), "indexes")
            all += reply.results
            if reply.results.isEmpty || all.count >= reply.total { break }
        }
        return all
    }

    public func createIndex(_ uid: String, primaryKey: String) async throws -> MeilisearchTaskReference {
        try await write("POST", "indexes", json: ["uid": uid, "primaryKey": primaryKey], what: "create index \(uid)")
    }

    public func deleteIndex(_ uid: String) async throws -> MeilisearchTaskReference {
        try await write("DELETE", "indexes/\(uid)", what: "delete index \(uid)")
    }

    /// The index's settings as Meilisearch returns them (a JSON object, kept as bytes).
    public func settings(_ uid: String) async throws -> Data {
        try await call("GET", "indexes/\(uid)/settings", what: "read the settings of \(uid)")
    }

    public func updateSettings(_ uid: String, settings: Data) async throws -> MeilisearchTaskReference {
        try await write("PATCH", "indexes/\(uid)/settings", body: settings, what: "update the settings of \(uid)")
    }

    /// `POST /swap-indexes`: one task, all or nothing.
    public func swapIndexes(_ a: String, _ b: String) async throws -> MeilisearchTaskReference {
        try await write("POST", "swap-indexes", json: [["indexes": [a, b]]], what: "swap \(a) and \(b)")
    }

    public func numberOfDocuments(_ uid: String) async throws -> Int {
        struct Stats: Decodable { var numberOfDocuments: Int }
        let stats: Stats = try decode(try await call("GET", "indexes/\(uid)/stats", what: "read the stats of \(uid)"), "stats of \(uid)")
        return stats.numberOfDocuments
    }

    // MARK: - Documents

    /// Adds (replaces) documents from an NDJSON body; `gzip` compresses it on the way.
    public func addDocuments(_ uid: String, ndjson: Data, primaryKey: String, gzip: Bool) async throws -> MeilisearchTaskReference {
        let body = gzip ? try Gzip.compress(ndjson) : ndjson
        return try await write("POST", "indexes/\(uid)/documents", query: ["primaryKey": primaryKey], body: body,
                               headers: ["Content-Type": "application/x-ndjson", "Content-Encoding": gzip ? "gzip" : nil],
                               what: "add documents to \(uid)")
    }

    public func deleteDocuments(_ uid: String, ids: [String]) async throws -> MeilisearchTaskReference {
        try await write("POST", "indexes/\(uid)/documents/delete-batch", json: ids, what: "delete documents from \(uid)")
    }

    /// One page of the given fields of the index's documents (`GET /documents`, not capped by
    /// `maxTotalHits`).
    public func documents(_ uid: String, fields: [String], offset: Int, limit: Int) async throws -> (documents: [[String: Any]], total: Int) {
        let data = try await call("GET", "indexes/\(uid)/documents",
                                  query: ["fields": fields.joined(separator: ","), "offset": String(offset), "limit": String(limit)],
                                  what: "read documents of \(uid)")
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let results = object["results"] as? [[String: Any]], let total = object["total"] as? Int else {
            throw MeilisearchError.unreadableReply(what: "documents of \(uid)", server: endpoint)
        }
        return (results, total)
    }

    /// One page of the index's documents as Meilisearch sends it (`POST /documents/fetch`:
    /// `{"results","offset","limit","total"}`), every field when `fields` is nil.
    public func fetchDocumentsPage(_ uid: String, fields: [String]?, offset: Int, limit: Int) async throws -> Data {
        var body: [String: Any] = ["offset": offset, "limit": limit]
        if let fields { body["fields"] = fields }
        return try await call("POST", "indexes/\(uid)/documents/fetch", body: try JSONSerialization.data(withJSONObject: body), what: "read documents of \(uid)")
    }

    /// The text of a document id as Meilisearch would compare it (integers without decimals).
    public static func idText(_ value: Any) -> String {
        if let text = value as? String { return text }
        if let integer = value as? Int { return String(integer) }
        return "\(value)"
    }

    // MARK: - Tasks

    public func task(_ uid: Int) async throws -> MeilisearchTask {
        try decode(try await call("GET", "tasks/\(uid)", what: "read task \(uid)"), "task \(uid)")
    }

    /// Waits until the task is finished (backoff up to the policy's deadline); a failed or
    /// canceled task throws with Meilisearch's code and message.
    @discardableResult
    public func wait(for reference: MeilisearchTaskReference) async throws -> MeilisearchTask {
        let clock = ContinuousClock()
        let start = clock.now
        var delay = waitPolicy.firstDelay
        while true {
            let task = try await task(reference.taskUid)
            switch task.status {
            case "succeeded": return task
            case "failed":
                throw MeilisearchError.taskFailed(taskUid: task.uid, type: task.type, indexUid: task.indexUid,
                                                  code: task.error?.code ?? "unknown", message: task.error?.message ?? "no message")
            case "canceled": throw MeilisearchError.taskCanceled(taskUid: task.uid, type: task.type)
            default: break
            }
            let waited = clock.now - start
            if waited >= waitPolicy.deadline {
                throw MeilisearchError.taskTimeout(taskUid: task.uid, type: task.type, indexUid: task.indexUid, status: task.status, waited: waited)
            }
            try await waitPolicy.sleep(min(delay, waitPolicy.deadline - waited))
            delay = min(delay * 2, waitPolicy.maximumDelay)
        }
    }

    /// Tasks of the index not finished yet (enqueued or processing).
    /// Cancels the tasks of `indexUid` not finished yet (`POST /tasks/cancel`): Meilisearch
    /// runs a cancelation before the other enqueued tasks, so waiting for it does not wait for
    /// the queue.
    public func cancelUnfinishedTasks(indexUid: String) async throws -> MeilisearchTaskReference {
        try await write("POST", "tasks/cancel", query: ["indexUids": indexUid, "statuses": "enqueued,processing"],
                        what: "cancel the tasks of \(indexUid)")
    }

    public func unfinishedTaskCount(indexUid: String) async throws -> Int {
        struct Page: Decodable { var results: [MeilisearchTask] }
        let page: Page = try decode(try await call("GET", "tasks", query: ["indexUids": indexUid, "statuses": "enqueued,processing", "limit": "100"],
                                                   what: "list the tasks of \(indexUid)"), "tasks of \(indexUid)")
        return page.results.count
    }

    // MARK: - Plumbing

    /// A write Meilisearch answers with a task: `json` is the body when given.
    private func write(_ method: String, _ path: String, query: [String: String] = [:], json: Any? = nil, body: Data? = nil, headers: [String: String?] = [:],
                       what: String) async throws -> MeilisearchTaskReference {
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) } ?? body
        return try decode(try await call(method, path, query: query, body: body, headers: headers, what: what), what)
    }

    func decode<T: Decodable>(_ data: Data, _ what: String) throws -> T { try api.decode(data, what: what) }

    /// One request; 429 and 503 are retried a few times (bounded); every other error reply is
    /// decoded and thrown.
    private func call(_ method: String, _ path: String, query: [String: String] = [:], body: Data? = nil, headers: [String: String?] = [:], what: String) async throws -> Data {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        return try await api.send(method, components.url!, body: body, headers: headers,
                                  authorization: apiKey.map { Secret("Bearer \($0.reveal())") }, what: what).data
    }
}

extension Duration {
    /// "1.2s"
    var formattedSeconds: String { String(format: "%.1fs", seconds) }
}
