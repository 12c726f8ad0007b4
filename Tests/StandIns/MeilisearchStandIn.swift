// A stand-in for Meilisearch v1.x (it answers as 1.19 does, the version compose/compose.yaml pins) on a LoopbackHTTPServer
// (127.0.0.1 only). It speaks the documented HTTP API with the real status codes and error
// bodies `{"message","code","type","link"}`, and runs writes as asynchronous tasks on one
// background worker, in order: enqueued → processing → succeeded | failed.
//
// What it does not do (answered with a clear 501 when asked): filters, sort, facets, CSV,
// brotli bodies, keys management, dumps, snapshots, multi-search, task deletion. Search is a
// case-insensitive substring match over string values, in document order (no ranking, no
// typo tolerance). Tasks are never auto-batched: each is its own batch. Task cancellation
// (`POST /tasks/cancel`) runs before the other enqueued tasks, as in Meilisearch, and
// cancels the matching enqueued ones; a task already processing finishes (Meilisearch would
// interrupt it).
//
// Documents are stored as the JSON bytes received (one `Data` per document, sharing the
// payload's buffer), with their id and a "shape" (their set of fields) for the stats.
//
// Only Foundation, the C library and RecetteKit's Gzip are used.

import Foundation
import RecetteWorld

public final class MeilisearchStandIn: Sendable {
    /// The version `GET /version` reports; the routes and shapes follow it.
    public static let emulatedVersion = "1.19.0"

    // MARK: Public types

    /// Task types, as Meilisearch names them.
    public enum TaskType: String, Sendable, CaseIterable, Hashable {
        case documentAdditionOrUpdate, documentEdition, documentDeletion, settingsUpdate, indexCreation,
            indexDeletion, indexUpdate, indexSwap, taskCancelation, taskDeletion, dumpCreation, snapshotCreation,
            upgradeDatabase
    }

    public enum TaskStatus: String, Sendable, CaseIterable, Hashable {
        case enqueued, processing, succeeded, failed, canceled

        public var isFinished: Bool { self == .succeeded || self == .failed || self == .canceled }
    }

    /// An error body: `{"message","code","type","link"}`.
    public struct ErrorBody: Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var code: String
        public var type: String
        public var link: String
        public var description: String { "\(code): \(message)" }

        public init(message: String, code: String, type: String? = nil) {
            self.message = message
            self.code = code
            self.type = type ?? MeiliError.errorType(of: code)
            self.link = "https://docs.meilisearch.com/errors#\(code)"
        }
    }

    /// A task as `GET /tasks/{uid}` shows it.
    public struct TaskSnapshot: Sendable {
        public var uid: Int
        public var indexUID: String?
        public var type: TaskType
        public var status: TaskStatus
        public var error: ErrorBody?
        public var enqueuedAt: Date
        public var startedAt: Date?
        public var finishedAt: Date?
        /// `details` as JSON.
        public var details: Data
        public var receivedDocuments: Int?
        public var indexedDocuments: Int?
        public var deletedDocuments: Int?
    }

    /// The routes, for counting and the request log.
    public enum Route: String, Sendable, CaseIterable, Hashable {
        case health, version, stats
        case listIndexes, createIndex, getIndex, updateIndex, deleteIndex, indexStats
        case getSettings, updateSettings, resetSettings
        case getSetting, updateSetting, resetSetting  // /settings/{name}
        case addOrReplaceDocuments  // POST /indexes/{uid}/documents
        case addOrUpdateDocuments  // PUT /indexes/{uid}/documents
        case listDocuments, fetchDocuments, getDocument, deleteDocument, deleteDocumentsBatch, deleteAllDocuments
        case search  // GET and POST
        case listTasks, getTask, cancelTasks
        case swapIndexes
        /// A real Meilisearch route the stand-in does not implement (answered 501).
        case notImplemented
    }

    /// One received request (never the Authorization value, never the body).
    public struct LoggedRequest: Sendable {
        public var method: String
        public var path: String
        public var query: [String: String]
        /// nil when no route matched (404/405).
        public var route: Route?
        public var hadAuthorization: Bool
        public var contentType: String?
        public var contentEncoding: String?
        public var bodyBytes: Int
        /// The status answered; 0 when the connection was closed without an answer.
        public var status: Int
        public var date: Date
    }

    /// One search, with what it returned.
    public struct SearchRecord: Sendable {
        public var indexUID: String
        public var query: String
        public var offset: Int
        public var limit: Int
        /// Primary-key values of the hits returned, in order.
        public var hitIDs: [String]
        public var estimatedTotalHits: Int
    }

    /// How the stand-in behaves once "unreachable".
    public enum UnavailableMode: Sendable {
        /// The next request is read, then its connection and every other open one are closed
        /// without an answer, and new connections are closed as soon as they are accepted (a
        /// crashed process behind a proxy). `makeAvailable()` ends it.
        case closeConnections
        /// The listening socket is closed: connections are refused from then on, for good.
        case refuseConnections
    }

    // MARK: State

    let core: MeiliCore
    private let server: LoopbackHTTPServer

    /// - Parameters:
    ///   - masterKey: the key every route but `/health` needs, as `Authorization: Bearer KEY`.
    ///     nil runs without authentication, as Meilisearch does without a master key.
    ///   - payloadLimitBytes: the largest body accepted, counted after decompression
    ///     (`--http-payload-size-limit`, 100 MB by default).
    ///   - taskProcessingDelay: how long each task stays `processing`.
    ///   - port: 0 lets the OS choose.
    public init(
        masterKey: String? = "masterKey", payloadLimitBytes: Int = 100_000_000,
        taskProcessingDelay: Duration = .milliseconds(2), port: Int = 0
    ) throws {
        let core = MeiliCore(masterKey: masterKey, payloadLimit: payloadLimitBytes, delay: taskProcessingDelay)
        self.core = core
        // Bodies a little over the limit are still read, so that a gzip body is judged on its
        // decompressed size; larger ones are refused unread, with Meilisearch's answer.
        server = try LoopbackHTTPServer(
            port: port, maxBodyBytes: payloadLimitBytes + 64 * 1024,
            bodyTooLargeResponse: MeiliError.payloadTooLarge(limit: payloadLimitBytes).response
        ) { request in core.handle(request) }
        core.attach(server)
        core.startWorker()
    }

    deinit { stop() }

    /// Stops the server and the task worker. Idempotent.
    public func stop() {
        server.stop()
        core.shutDown()
    }

    public var baseURL: URL { server.baseURL }
    public var port: Int { server.port }
    public var payloadLimitBytes: Int { core.payloadLimit }
    public var masterKey: String? { core.state.withLock { $0.masterKey } }

    /// Accepts another key, for the listed actions (`*`, `documents.add`, `documents.*`,
    /// `search`, `indexes.create`, …), on every index.
    public func addAPIKey(_ key: String, actions: Set<String> = ["*"]) {
        core.state.withLock { $0.apiKeys[key] = actions }
    }

    public var taskProcessingDelay: Duration {
        get { core.state.withLock { $0.delay } }
        set { core.state.withLock { $0.delay = newValue } }
    }

    /// Runs on the task worker before each task is processed, given its type and index uid:
    /// a test that must observe something between two tasks waits there (bound the wait).
    public func beforeEachTask(_ body: (@Sendable (TaskType, String?) -> Void)?) {
        core.state.withLock { $0.beforeTask = body }
    }

    // MARK: Faults

    /// The next task of this type ends `failed` with this error, changing nothing.
    public func failNextTask(ofType type: TaskType, code: String, message: String, errorType: String? = nil) {
        let error = MeiliError(code: code, message: message, type: errorType)
        core.state.withLock { $0.injectedFailures[type, default: []].append(error) }
    }

    /// After `afterRequests` more requests, the stand-in stops answering (see `UnavailableMode`).
    public func makeUnavailable(afterRequests: Int = 0, mode: UnavailableMode = .closeConnections) {
        core.state.withLock { $0.unavailable = MeiliState.Unavailable(remaining: afterRequests, mode: mode) }
    }

    /// Answers again after `makeUnavailable(mode: .closeConnections)`.
    public func makeAvailable() {
        core.state.withLock { $0.unavailable = nil }
        core.acceptConnectionsAgain()
    }

    /// Tasks stay `enqueued` until `resumeTaskProcessing()` (the one being processed finishes).
    public func pauseTaskProcessing() { core.state.withLock { $0.paused = true } }

    public func resumeTaskProcessing() {
        core.state.withLock { $0.paused = false }
        core.wake.signal()
    }

    // MARK: Inspection

    /// Index uids, sorted.
    public func indexUIDs() -> [String] { core.state.withLock { $0.indexes.keys.sorted() } }

    public func primaryKey(of indexUID: String) -> String? {
        core.state.withLock { $0.indexes[indexUID]?.primaryKey }
    }

    /// nil when the index does not exist.
    public func documentCount(in indexUID: String) -> Int? {
        core.state.withLock { $0.indexes[indexUID]?.store.count }
    }

    /// Document ids in storage order.
    public func documentIDs(in indexUID: String) -> [String] {
        core.state.withLock { $0.indexes[indexUID]?.store.ids } ?? []
    }

    /// The stored documents, as the JSON bytes received (after a partial update, re-serialised).
    public func rawDocuments(in indexUID: String) -> [Data] {
        core.state.withLock { $0.indexes[indexUID]?.store.docs } ?? []
    }

    /// One document as a JSONSerialization object, nil when absent.
    public func document(_ id: String, in indexUID: String) -> [String: Any]? {
        let raw = core.state.withLock { s -> Data? in
            guard let store = s.indexes[indexUID]?.store, let position = store.position[id] else { return nil }
            return store.docs[position]
        }
        return raw.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    /// The index's settings as `GET /indexes/{uid}/settings` shows them (JSON).
    public func settings(of indexUID: String) -> Data? {
        core.state.withLock { $0.indexes[indexUID]?.settings.data }
    }

    public func tasks() -> [TaskSnapshot] { core.state.withLock { $0.tasks.map { $0.snapshot } } }

    public func task(_ uid: Int) -> TaskSnapshot? {
        core.state.withLock { s in s.tasks.indices.contains(uid) ? s.tasks[uid].snapshot : nil }
    }

    /// Waits until every task enqueued so far has finished. False on timeout.
    public func waitUntilIdle(timeout: Duration = .seconds(60)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if core.state.withLock({ $0.nextPending >= $0.tasks.count && $0.processingUID == nil }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    public var requestLog: [LoggedRequest] { core.state.withLock { $0.log } }

    public func requests(_ route: Route) -> [LoggedRequest] { requestLog.filter { $0.route == route } }

    /// Requests received for a route, whatever their outcome.
    public func requestCount(_ route: Route) -> Int {
        core.state.withLock { s in s.log.reduce(0) { $0 + ($1.route == route ? 1 : 0) } }
    }

    /// Searches answered so far.
    public var searchLog: [SearchRecord] { core.state.withLock { $0.searches } }

    /// Called (on the connection's thread) after each search is answered.
    public func onSearch(_ observer: @escaping @Sendable (SearchRecord) -> Void) {
        core.state.withLock { $0.searchObservers.append(observer) }
    }

    public func resetLog() {
        core.state.withLock { s in
            s.log.removeAll()
            s.searches.removeAll()
        }
    }
}

// MARK: - Errors

/// A Meilisearch error: HTTP status and body.
struct MeiliError: Error, Sendable {
    var status: Int
    var body: MeilisearchStandIn.ErrorBody

    init(code: String, message: String, type: String? = nil, status: Int? = nil) {
        body = .init(message: message, code: code, type: type)
        self.status = status ?? Self.httpStatus(of: code)
    }

    var json: StandInJSON {
        .obj(["message": .string(body.message), "code": .string(body.code), "type": .string(body.type),
              "link": .string(body.link)])
    }

    var response: HTTPResponse { MeiliCore.json(status, json) }

    static func errorType(of code: String) -> String {
        switch code {
        case "missing_authorization_header", "invalid_api_key", "missing_master_key": "auth"
        case "internal", "index_creation_failed", "invalid_state", "database_size_limit_reached", "not_implemented":
            "internal"
        case "io_error", "no_space_left_on_device", "too_many_open_files": "system"
        default: "invalid_request"
        }
    }

    static func httpStatus(of code: String) -> Int {
        switch code {
        case "missing_authorization_header", "missing_master_key": 401
        case "invalid_api_key": 403
        case "index_not_found", "document_not_found", "task_not_found", "api_key_not_found", "batch_not_found": 404
        case "index_already_exists", "api_key_already_exists", "dump_already_processing": 409
        case "payload_too_large": 413
        case "invalid_content_type", "missing_content_type", "unsupported_media_type": 415
        case "internal", "index_creation_failed", "invalid_state", "database_size_limit_reached": 500
        case "not_implemented": 501
        case "io_error", "no_space_left_on_device", "too_many_open_files": 422
        default: 400
        }
    }

    static func indexNotFound(_ uid: String) -> MeiliError {
        MeiliError(code: "index_not_found", message: "Index `\(uid)` not found.")
    }

    static func invalidIndexUID(_ uid: String, location: String? = nil) -> MeiliError {
        let text = "`\(uid)` is not a valid index uid. Index uid can be an integer or a string containing only "
            + "alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 512 bytes."
        return MeiliError(code: "invalid_index_uid", message: location.map { "Invalid value at `\($0)`: \(text)" } ?? text)
    }

    static func payloadTooLarge(limit: Int) -> MeiliError {
        MeiliError(
            code: "payload_too_large",
            message: "The provided payload reached the size limit. The maximum accepted payload size is \(binaryUnit(limit)).")
    }

    static func notImplemented(_ what: String) -> MeiliError {
        MeiliError(code: "not_implemented", message: "The Meilisearch stand-in does not implement \(what).")
    }

    static func malformed(_ format: String, _ error: StandInJSONError) -> MeiliError {
        MeiliError(
            code: "malformed_payload",
            message: "The `\(format)` payload provided is malformed. `Couldn't serialize document value: \(error.reason)`.")
    }

    /// How byte_unit prints a size with binary units in Meilisearch's 413 message: the largest
    /// unit keeping the value at least 1, the value as the shortest exact decimal (`10 MiB`,
    /// `95.367431640625 MiB`).
    static func binaryUnit(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return value == value.rounded() ? "\(Int(value)) \(units[unit])" : "\(value) \(units[unit])"
    }
}

// MARK: - State

struct MeiliState {
    struct Unavailable {
        var remaining: Int
        var mode: MeilisearchStandIn.UnavailableMode
    }

    var masterKey: String?
    var apiKeys: [String: Set<String>] = [:]
    var delay: Duration
    var indexes: [String: MeiliIndex] = [:]
    /// Every task, by uid (uids are 0, 1, 2, …).
    var tasks: [MeiliTask] = []
    /// Uid of the first task not yet started (tasks run in uid order).
    var nextPending = 0
    var processingUID: Int?
    var nextBatchUID = 0
    var paused = false
    var stopped = false
    var lastUpdate: Date?
    var injectedFailures: [MeilisearchStandIn.TaskType: [MeiliError]] = [:]
    var unavailable: Unavailable?
    var log: [MeilisearchStandIn.LoggedRequest] = []
    var searches: [MeilisearchStandIn.SearchRecord] = []
    var searchObservers: [@Sendable (MeilisearchStandIn.SearchRecord) -> Void] = []
    /// Called on the task worker before each task is processed (type, index uid).
    var beforeTask: (@Sendable (MeilisearchStandIn.TaskType, String?) -> Void)?

    /// Indexes a task being processed touches (for `isIndexing`).
    func isIndexing(_ uid: String) -> Bool {
        guard let processing = processingUID else { return false }
        let task = tasks[processing]
        if task.indexUID == uid { return true }
        if case .swap(let pairs)? = task.work { return pairs.contains { $0.0 == uid || $0.1 == uid } }
        return false
    }
}

/// An index: its metadata and documents. Swapping two indexes swaps these records.
struct MeiliIndex {
    var uid: String
    var createdAt: Date
    var updatedAt: Date
    var primaryKey: String?
    var settings: StandInJSON = MeiliSettings.defaults
    let store = DocumentStore()

    var json: StandInJSON {
        .obj(["uid": .string(uid), "createdAt": .string(MeiliCore.timestamp(createdAt)),
              "updatedAt": .string(MeiliCore.timestamp(updatedAt)), "primaryKey": .optional(primaryKey)])
    }
}

/// What a task does once processed.
enum MeiliWork: Sendable {
    case createIndex(primaryKey: String?)
    case updateIndex(primaryKey: String?)
    case deleteIndex
    case updateSettings(StandInJSON)
    case addDocuments(replace: Bool, documents: [Data], primaryKey: String?)
    case deleteDocuments([String])
    case clearDocuments
    case swap([(String, String)])
    /// The uids matched when the cancelation was enqueued.
    case cancel([Int])
}

struct MeiliTask {
    let uid: Int
    var indexUID: String?
    let type: MeilisearchStandIn.TaskType
    var status: MeilisearchStandIn.TaskStatus = .enqueued
    var details: StandInJSON
    var error: MeiliError?
    let enqueuedAt: Date
    var startedAt: Date?
    var finishedAt: Date?
    var batchUID: Int?
    var canceledBy: Int?
    /// Dropped once the task has run, so payloads do not pile up.
    var work: MeiliWork?

    /// The indexes `indexUids` filters find the task under: its own, or for a swap (whose
    /// `indexUid` is null) every index it swaps, as Meilisearch files it.
    var filedUnder: Set<String> {
        if let indexUID { return [indexUID] }
        let swapped = details["swaps"]?.elements?.flatMap { $0["indexes"]?.stringArray ?? [] } ?? []
        return Set(swapped)
    }

    var json: StandInJSON {
        var duration: StandInJSON = .null
        if let startedAt, let finishedAt {
            duration = .string(MeiliCore.isoDuration(finishedAt.timeIntervalSince(startedAt)))
        }
        return .obj([
            "uid": .int(uid), "batchUid": .optional(batchUID), "indexUid": .optional(indexUID),
            "status": .string(status.rawValue), "type": .string(type.rawValue), "canceledBy": .optional(canceledBy),
            "details": details, "error": error?.json ?? .null, "duration": duration,
            "enqueuedAt": .string(MeiliCore.timestamp(enqueuedAt)),
            "startedAt": startedAt.map { .string(MeiliCore.timestamp($0)) } ?? .null,
            "finishedAt": finishedAt.map { .string(MeiliCore.timestamp($0)) } ?? .null,
        ])
    }

    var summary: StandInJSON {
        .obj(["taskUid": .int(uid), "indexUid": .optional(indexUID), "status": .string(status.rawValue),
              "type": .string(type.rawValue), "enqueuedAt": .string(MeiliCore.timestamp(enqueuedAt))])
    }

    var snapshot: MeilisearchStandIn.TaskSnapshot {
        .init(
            uid: uid, indexUID: indexUID, type: type, status: status, error: error?.body, enqueuedAt: enqueuedAt,
            startedAt: startedAt, finishedAt: finishedAt, details: details.data,
            receivedDocuments: details["receivedDocuments"]?.intValue,
            indexedDocuments: details["indexedDocuments"]?.intValue,
            deletedDocuments: details["deletedDocuments"]?.intValue)
    }
}

/// The documents of one index: dense arrays in storage order (what `GET /documents` pages
/// through), an id → position map, and per-document shapes for `fieldDistribution`.
final class DocumentStore: @unchecked Sendable {
    private(set) var ids: [String] = []
    private(set) var docs: [Data] = []
    private(set) var shapes: [Int32] = []
    private(set) var position: [String: Int] = [:]
    private(set) var totalBytes = 0
    private var shapeFields: [[String]] = []
    private var shapeCounts: [Int] = []
    private var shapeBySignature: [[UInt8]: Int32] = [:]
    private var shapeByFields: [[String]: Int32] = [:]

    var count: Int { ids.count }

    func document(_ id: String) -> Data? { position[id].map { docs[$0] } }

    /// The shape of a document: cached by structural signature, computed on a miss.
    func shape(signature: [UInt8], document: Data) -> Int32 {
        if let known = shapeBySignature[signature] { return known }
        let fields = ((try? StandInJSON.parse(document))?.flattenedFieldNames ?? []).sorted()
        let shape: Int32
        if let known = shapeByFields[fields] {
            shape = known
        } else {
            shape = Int32(shapeFields.count)
            shapeFields.append(fields)
            shapeCounts.append(0)
            shapeByFields[fields] = shape
        }
        shapeBySignature[signature] = shape
        return shape
    }

    func upsert(id: String, document: Data, shape: Int32) {
        if let i = position[id] {
            shapeCounts[Int(shapes[i])] -= 1
            totalBytes += document.count - docs[i].count
            docs[i] = document
            shapes[i] = shape
        } else {
            position[id] = ids.count
            ids.append(id)
            docs.append(document)
            shapes.append(shape)
            totalBytes += document.count
        }
        shapeCounts[Int(shape)] += 1
    }

    /// Removes the documents with these ids; returns how many existed. Keeps the order of the
    /// others (one compaction pass).
    func remove(_ removed: Set<String>) -> Int {
        let doomed = removed.filter { position[$0] != nil }
        guard !doomed.isEmpty else { return 0 }
        var keptIDs: [String] = []
        var keptDocs: [Data] = []
        var keptShapes: [Int32] = []
        keptIDs.reserveCapacity(ids.count - doomed.count)
        keptDocs.reserveCapacity(ids.count - doomed.count)
        keptShapes.reserveCapacity(ids.count - doomed.count)
        position.removeAll(keepingCapacity: true)
        for i in ids.indices {
            if doomed.contains(ids[i]) {
                shapeCounts[Int(shapes[i])] -= 1
                totalBytes -= docs[i].count
                continue
            }
            position[ids[i]] = keptIDs.count
            keptIDs.append(ids[i])
            keptDocs.append(docs[i])
            keptShapes.append(shapes[i])
        }
        ids = keptIDs
        docs = keptDocs
        shapes = keptShapes
        return doomed.count
    }

    func removeAll() -> Int {
        let n = ids.count
        ids.removeAll()
        docs.removeAll()
        shapes.removeAll()
        position.removeAll()
        totalBytes = 0
        for i in shapeCounts.indices { shapeCounts[i] = 0 }
        return n
    }

    /// Field name → number of documents holding it, sorted by name.
    var fieldDistribution: [(String, Int)] {
        var counts: [String: Int] = [:]
        for (shape, fields) in shapeFields.enumerated() where shapeCounts[shape] > 0 {
            for field in fields { counts[field, default: 0] += shapeCounts[shape] }
        }
        return counts.sorted { $0.key < $1.key }
    }
}
