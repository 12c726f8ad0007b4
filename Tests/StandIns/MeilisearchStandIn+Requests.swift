// The Meilisearch stand-in's HTTP side: routing, authentication, request validation and the
// synchronous answers (reads, and 202 task summaries for writes).

import Foundation
import RecetteKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RecetteWorld

/// The stand-in's engine: shared by the connection threads and the task worker.
final class MeiliCore: @unchecked Sendable {
    typealias S = MeilisearchStandIn
    typealias Route = MeilisearchStandIn.Route

    let state: LoopbackLocked<MeiliState>
    let payloadLimit: Int
    let wake = DispatchSemaphore(value: 0)
    let workerDone = DispatchSemaphore(value: 0)
    /// Set once the server exists; cleared on shutdown (the server's handler holds this core).
    private let server = LoopbackLocked<LoopbackHTTPServer?>(nil)
    let workerStarted = LoopbackLocked(false)

    init(masterKey: String?, payloadLimit: Int, delay: Duration) {
        state = LoopbackLocked(MeiliState(masterKey: masterKey, delay: delay))
        self.payloadLimit = payloadLimit
    }

    func attach(_ server: LoopbackHTTPServer) { self.server.withLock { $0 = server } }

    /// Undoes what the `closeConnections` fault did to the server.
    func acceptConnectionsAgain() { server.withLock { $0 }?.closesConnectionsOnAccept = false }

    func shutDown() {
        let first = state.withLock { s -> Bool in
            defer { s.stopped = true }
            return !s.stopped
        }
        server.withLock { $0 = nil }
        guard first else { return }
        wake.signal()
        if workerStarted.withLock({ $0 }) { workerDone.wait() }
    }

    // MARK: Helpers

    static func json(_ status: Int, _ value: StandInJSON) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: .data(value.data))
    }

    /// RFC 3339 in UTC with microseconds, as Meilisearch prints dates.
    static func timestamp(_ date: Date) -> String {
        let seconds = floor(date.timeIntervalSince1970)
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        let micros = min(999_999, Int((date.timeIntervalSince1970 - seconds) * 1_000_000))
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(micros, 6))Z"
    }

    /// ISO 8601 duration: `PT0.004512S`.
    static func isoDuration(_ seconds: TimeInterval) -> String {
        let micros = Int((max(0, seconds) * 1_000_000).rounded())
        var fraction = String(micros % 1_000_000)
        fraction = String(repeating: "0", count: 6 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "PT\(micros / 1_000_000)\(fraction.isEmpty ? "" : "." + fraction)S"
    }

    static func isValidIndexUID(_ uid: String) -> Bool {
        !uid.isEmpty && uid.utf8.count <= 400
            && uid.utf8.allSatisfy { $0 == 45 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
    }

    /// A document id: an integer, or a string of `[A-Za-z0-9_-]`, 1 to 511 bytes.
    static func documentID(_ value: StandInJSON) -> String? {
        switch value {
        case .number(let text):
            guard !text.contains("."), !text.contains("e"), !text.contains("E") else { return nil }
            return text
        case .string(let s):
            guard !s.isEmpty, s.utf8.count <= 511,
                s.utf8.allSatisfy({ $0 == 45 || $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
            else { return nil }
            return s
        default:
            return nil
        }
    }

    static func invalidDocumentIDMessage(_ value: StandInJSON) -> String {
        "Document identifier `\(value.text)` is invalid. A document identifier can be of type integer or string, "
            + "only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), "
            + "and can not be more than 511 bytes."
    }

    // MARK: Routing

    enum Match {
        case route(Route, [String])
        case wrongMethod
        case notFound
    }

    static func match(method: String, path: String) -> Match {
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.removingPercentEncoding ?? String($0)
        }
        if segments.last == "" && segments.count > 1 { segments.removeLast() }  // trailing slash
        let s = segments
        func by(_ table: [String: Route], _ captures: [String] = []) -> Match {
            table[method].map { .route($0, captures) } ?? .wrongMethod
        }
        let notImplemented: Set<String> = [
            "keys", "dumps", "snapshots", "multi-search", "experimental-features", "batches", "metrics", "network",
            "export", "logs", "chats",
        ]
        switch s.count {
        case 1:
            switch s[0] {
            case "health": return by(["GET": .health])
            case "version": return by(["GET": .version])
            case "stats": return by(["GET": .stats])
            case "indexes": return by(["GET": .listIndexes, "POST": .createIndex])
            case "tasks": return by(["GET": .listTasks, "DELETE": .notImplemented])
            case "swap-indexes": return by(["POST": .swapIndexes])
            case let name where notImplemented.contains(name): return .route(.notImplemented, [])
            default: return .notFound
            }
        case 2:
            switch s[0] {
            case "indexes":
                return by(["GET": .getIndex, "PATCH": .updateIndex, "DELETE": .deleteIndex], [s[1]])
            case "tasks":
                if s[1] == "cancel" { return by(["POST": .cancelTasks]) }
                return by(["GET": .getTask], [s[1]])
            case let name where notImplemented.contains(name): return .route(.notImplemented, [])
            default: return .notFound
            }
        case 3 where s[0] == "indexes":
            switch s[2] {
            case "stats": return by(["GET": .indexStats], [s[1]])
            case "settings":
                return by(["GET": .getSettings, "PATCH": .updateSettings, "DELETE": .resetSettings], [s[1]])
            case "documents":
                return by(
                    ["GET": .listDocuments, "POST": .addOrReplaceDocuments, "PUT": .addOrUpdateDocuments,
                     "DELETE": .deleteAllDocuments], [s[1]])
            case "search": return by(["GET": .search, "POST": .search], [s[1]])
            case "facet-search", "similar", "compact": return .route(.notImplemented, [])
            default: return .notFound
            }
        case 4 where s[0] == "indexes" && s[2] == "documents":
            switch s[3] {
            case "fetch": return by(["POST": .fetchDocuments], [s[1]])
            case "delete-batch": return by(["POST": .deleteDocumentsBatch], [s[1]])
            case "delete", "edit": return by(["POST": .notImplemented])
            default: return by(["GET": .getDocument, "DELETE": .deleteDocument], [s[1], s[3]])
            }
        case 4 where s[0] == "indexes" && s[2] == "settings":
            guard let setting = MeiliSettings.subRoutes[s[3]] else { return .notFound }
            return by(["GET": .getSetting, setting.updateMethod: .updateSetting, "DELETE": .resetSetting], [s[1], s[3]])
        default:
            if let first = s.first, notImplemented.contains(first) { return .route(.notImplemented, []) }
            return .notFound
        }
    }

    /// The key action each route needs.
    static func action(_ route: Route) -> String? {
        switch route {
        case .health, .notImplemented: nil
        case .version: "version"
        case .stats, .indexStats: "stats.get"
        case .listIndexes, .getIndex: "indexes.get"
        case .createIndex: "indexes.create"
        case .updateIndex: "indexes.update"
        case .deleteIndex: "indexes.delete"
        case .getSettings, .getSetting: "settings.get"
        case .updateSettings, .resetSettings, .updateSetting, .resetSetting: "settings.update"
        case .addOrReplaceDocuments, .addOrUpdateDocuments: "documents.add"
        case .listDocuments, .fetchDocuments, .getDocument: "documents.get"
        case .deleteDocument, .deleteDocumentsBatch, .deleteAllDocuments: "documents.delete"
        case .search: "search"
        case .listTasks, .getTask: "tasks.get"
        case .cancelTasks: "tasks.cancel"
        case .swapIndexes: "indexes.swap"
        }
    }

    // MARK: Handling

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let matched = Self.match(method: request.method, path: request.path)
        var route: Route?
        if case .route(let r, _) = matched { route = r }

        if let refusal = unavailability() {
            log(request, route: route, status: 0)
            return refusal
        }

        let response: HTTPResponse
        switch matched {
        case .notFound:
            response = HTTPResponse(status: 404)  // actix's default: empty body
        case .wrongMethod:
            response = HTTPResponse(status: 405)
        case .route(let r, let captures):
            do {
                try authenticate(request, route: r)
                response = try dispatch(r, captures, request)
            } catch let error as MeiliError {
                response = error.response
            } catch {
                response = MeiliError(code: "internal", message: "An internal error has occurred. `\(error)`.").response
            }
        }
        log(request, route: route, status: response.status)
        return response
    }

    /// nil while available; otherwise what to do with this request.
    private func unavailability() -> HTTPResponse? {
        let mode = state.withLock { s -> S.UnavailableMode? in
            guard var unavailable = s.unavailable else { return nil }
            if unavailable.remaining > 0 {
                unavailable.remaining -= 1
                s.unavailable = unavailable
                return nil
            }
            return unavailable.mode
        }
        switch mode {
        case nil:
            return nil
        case .closeConnections?:
            // As a crash would: every connection goes, idle keep-alive ones too, and new ones
            // are closed at once (libcurl retries a dropped POST on a fresh connection, without
            // its body, and would wait there until the idle timeout).
            if let server = server.withLock({ $0 }) {
                server.closesConnectionsOnAccept = true
                server.dropConnections()
            }
            return .noResponse()
        case .refuseConnections?:
            // Not from this thread: stop() waits for the connection threads, this one included.
            if let server = server.withLock({ $0 }) {
                DispatchQueue.global().async { server.stop() }
            }
            return .noResponse()
        }
    }

    private func log(_ request: HTTPRequest, route: Route?, status: Int) {
        let entry = S.LoggedRequest(
            method: request.method, path: request.path, query: request.query, route: route,
            hadAuthorization: request.header("authorization") != nil, contentType: request.header("content-type"),
            contentEncoding: request.header("content-encoding"), bodyBytes: request.body.count, status: status,
            date: Date())
        state.withLock { $0.log.append(entry) }
    }

    private func authenticate(_ request: HTTPRequest, route: Route) throws {
        guard let action = Self.action(route) else { return }
        let (masterKey, keys) = state.withLock { ($0.masterKey, $0.apiKeys) }
        guard let masterKey else { return }
        guard let header = request.header("authorization") else {
            throw MeiliError(
                code: "missing_authorization_header",
                message: "The Authorization header is missing. It must use the bearer authorization method.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == "Bearer" else {
            throw MeiliError(
                code: "missing_authorization_header",
                message: "The Authorization header is missing. It must use the bearer authorization method.")
        }
        let key = String(parts[1])
        if key == masterKey { return }
        if let actions = keys[key] {
            let family = action.split(separator: ".").first.map { "\($0).*" } ?? action
            if actions.contains("*") || actions.contains(action) || actions.contains(family) { return }
        }
        throw MeiliError(code: "invalid_api_key", message: "The provided API key is invalid.")
    }

    private func dispatch(_ route: Route, _ c: [String], _ request: HTTPRequest) throws -> HTTPResponse {
        switch route {
        case .health: return Self.json(200, .obj(["status": .string("available")]))
        case .version:
            return Self.json(
                200,
                .obj(["commitSha": .string("0000000000000000000000000000000000000000"),
                      "commitDate": .string("2025-08-11T00:00:00Z"), "pkgVersion": .string(S.emulatedVersion)]))
        case .stats: return try globalStats(request)
        case .listIndexes: return try listIndexes(request)
        case .createIndex: return try createIndex(request)
        case .getIndex: return try getIndex(c[0], request)
        case .updateIndex: return try updateIndex(c[0], request)
        case .deleteIndex: return try deleteIndex(c[0], request)
        case .indexStats: return try indexStats(c[0], request)
        case .getSettings: return try getSettings(c[0], request)
        case .updateSettings: return try updateSettings(c[0], request)
        case .resetSettings: return try resetSettings(c[0], request)
        case .getSetting: return try getSetting(c[0], c[1], request)
        case .updateSetting: return try updateSetting(c[0], c[1], request)
        case .resetSetting: return try resetSetting(c[0], c[1], request)
        case .addOrReplaceDocuments: return try addDocuments(c[0], replace: true, request)
        case .addOrUpdateDocuments: return try addDocuments(c[0], replace: false, request)
        case .listDocuments: return try listDocuments(c[0], request)
        case .fetchDocuments: return try fetchDocuments(c[0], request)
        case .getDocument: return try getDocument(c[0], c[1], request)
        case .deleteDocument: return try deleteDocument(c[0], c[1], request)
        case .deleteDocumentsBatch: return try deleteDocumentsBatch(c[0], request)
        case .deleteAllDocuments: return try deleteAllDocuments(c[0], request)
        case .search: return try search(c[0], request)
        case .listTasks: return try listTasks(request)
        case .cancelTasks: return try cancelTasks(request)
        case .getTask: return try getTask(c[0], request)
        case .swapIndexes: return try swapIndexes(request)
        case .notImplemented: throw MeiliError.notImplemented("\(request.method) \(request.path)")
        }
    }

    // MARK: Request parts

    private func checkedUID(_ uid: String) throws -> String {
        guard Self.isValidIndexUID(uid) else { throw MeiliError.invalidIndexUID(uid) }
        return uid
    }

    /// Rejects query parameters the real route does not know (deserr's deny_unknown_fields).
    private func checkParameters(_ request: HTTPRequest, _ allowed: [String]) throws {
        for name in request.query.keys.sorted() where !allowed.contains(name) {
            throw MeiliError(
                code: "bad_request",
                message: "Unknown parameter `\(name)`: expected one of \(allowed.map { "`\($0)`" }.joined(separator: ", "))")
        }
    }

    private func intParameter(_ request: HTTPRequest, _ name: String, code: String) throws -> Int? {
        guard let text = request.query[name] else { return nil }
        guard let value = Int(text), value >= 0 else {
            throw MeiliError(
                code: code, message: "Invalid value in parameter `\(name)`: could not parse `\(text)` as a positive integer")
        }
        return value
    }

    /// The body after `Content-Encoding`, within the payload limit.
    private func decodedBody(_ request: HTTPRequest) throws -> Data {
        let encoding = request.header("content-encoding")?.lowercased().trimmingCharacters(in: .whitespaces) ?? "identity"
        var body = request.body
        switch encoding {
        case "gzip", "x-gzip", "deflate":
            do {
                body = try Gzip.decompress(body, limit: payloadLimit)
            } catch {
                if "\(error)".contains("output over") { throw MeiliError.payloadTooLarge(limit: payloadLimit) }
                throw MeiliError(code: "internal", message: "An internal error has occurred. `\(error)`.")
            }
        case "br", "zstd":
            throw MeiliError.notImplemented("`Content-Encoding: \(encoding)` (send gzip or deflate)")
        default:
            break  // actix passes unknown encodings through untouched
        }
        guard body.count <= payloadLimit else { throw MeiliError.payloadTooLarge(limit: payloadLimit) }
        return body
    }

    /// A JSON body for the JSON routes (settings, search, index creation, swap, fetch…).
    private func jsonBody(_ request: HTTPRequest) throws -> StandInJSON {
        let accepted = "Accepted values for the Content-Type header are: `application/json`"
        guard let contentType = request.header("content-type") else {
            throw MeiliError(code: "missing_content_type", message: "A Content-Type header is missing. \(accepted)")
        }
        let mime = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard mime == "application/json" else {
            throw MeiliError(code: "invalid_content_type", message: "The Content-Type `\(mime)` is invalid. \(accepted)")
        }
        let body = try decodedBody(request)
        guard !body.isEmpty else { throw MeiliError(code: "missing_payload", message: "A json payload is missing.") }
        do {
            return try StandInJSON.parse(body)
        } catch let error as StandInJSONError {
            throw MeiliError(code: "malformed_payload", message: "The json payload provided is malformed. `\(error)`.")
        }
    }

    private static func unknownField(_ key: String, _ accepted: [String], location: String = "") -> MeiliError {
        let inside = location.isEmpty ? "" : " inside `\(location)`"
        return MeiliError(
            code: "bad_request",
            message: "Unknown field `\(key)`\(inside): expected one of \(accepted.map { "`\($0)`" }.joined(separator: ", "))")
    }

    static func wrongType(_ code: String, at location: String, expected: String, found: StandInJSON) -> MeiliError {
        let at = location.isEmpty ? "" : " at `\(location)`"
        return MeiliError(code: code, message: "Invalid value type\(at): expected \(expected), but found \(found.deserrDescription)")
    }

    private func object(_ value: StandInJSON, allowed: [String]) throws -> [StandInJSON.Member] {
        guard let members = value.members else {
            throw Self.wrongType("bad_request", at: "", expected: "an object", found: value)
        }
        for member in members where !allowed.contains(member.key) { throw Self.unknownField(member.key, allowed) }
        return members
    }

    private func enqueue(
        _ type: S.TaskType, index: String?, details: StandInJSON, work: MeiliWork
    ) -> HTTPResponse {
        let summary = state.withLock { s -> StandInJSON in
            let task = MeiliTask(uid: s.tasks.count, indexUID: index, type: type, details: details, enqueuedAt: Date(), work: work)
            s.tasks.append(task)
            return task.summary
        }
        wake.signal()
        return Self.json(202, summary)
    }

    private func index(_ uid: String) throws -> MeiliIndex {
        guard let index = state.withLock({ $0.indexes[uid] }) else { throw MeiliError.indexNotFound(uid) }
        return index
    }

    // MARK: Indexes

    private func listIndexes(_ request: HTTPRequest) throws -> HTTPResponse {
        try checkParameters(request, ["offset", "limit"])
        let offset = try intParameter(request, "offset", code: "invalid_index_offset") ?? 0
        let limit = try intParameter(request, "limit", code: "invalid_index_limit") ?? 20
        let all = state.withLock { s in s.indexes.keys.sorted().compactMap { s.indexes[$0]?.json } }
        let page = Array(all.dropFirst(offset).prefix(limit))
        return Self.json(
            200, .obj(["results": .array(page), "offset": .int(offset), "limit": .int(limit), "total": .int(all.count)]))
    }

    private func createIndex(_ request: HTTPRequest) throws -> HTTPResponse {
        let members = try object(jsonBody(request), allowed: ["uid", "primaryKey"])
        guard let uidValue = members.last(where: { $0.key == "uid" })?.value else {
            throw MeiliError(code: "missing_index_uid", message: "Missing field `uid`")
        }
        guard let uid = uidValue.stringValue else {
            throw Self.wrongType("invalid_index_uid", at: ".uid", expected: "a string", found: uidValue)
        }
        guard Self.isValidIndexUID(uid) else { throw MeiliError.invalidIndexUID(uid, location: ".uid") }
        let primaryKey = try primaryKeyField(members)
        return enqueue(
            .indexCreation, index: uid, details: .obj(["primaryKey": .optional(primaryKey)]),
            work: .createIndex(primaryKey: primaryKey))
    }

    private func primaryKeyField(_ members: [StandInJSON.Member]) throws -> String? {
        guard let value = members.last(where: { $0.key == "primaryKey" })?.value, !value.isNull else { return nil }
        guard let key = value.stringValue else {
            throw Self.wrongType("invalid_index_primary_key", at: ".primaryKey", expected: "a string", found: value)
        }
        return key
    }

    private func getIndex(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        try checkParameters(request, [])
        return Self.json(200, try index(checkedUID(uid)).json)
    }

    private func updateIndex(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        let members = try object(jsonBody(request), allowed: ["primaryKey"])
        let primaryKey = try primaryKeyField(members)
        return enqueue(
            .indexUpdate, index: uid, details: .obj(["primaryKey": .optional(primaryKey)]),
            work: .updateIndex(primaryKey: primaryKey))
    }

    private func deleteIndex(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        return enqueue(.indexDeletion, index: uid, details: .obj(["deletedDocuments": .null]), work: .deleteIndex)
    }

    // MARK: Stats

    private func statsJSON(_ index: MeiliIndex, indexing: Bool) -> StandInJSON {
        let store = index.store
        return .obj([
            "numberOfDocuments": .int(store.count), "rawDocumentDbSize": .int(store.totalBytes),
            "avgDocumentSize": .int(store.count == 0 ? 0 : store.totalBytes / store.count),
            "isIndexing": .bool(indexing), "numberOfEmbeddings": .int(0), "numberOfEmbeddedDocuments": .int(0),
            "fieldDistribution": .object(store.fieldDistribution.map { .init($0.0, .int($0.1)) }),
        ])
    }

    private func indexStats(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        let json = try state.withLock { s -> StandInJSON in
            guard let index = s.indexes[uid] else { throw MeiliError.indexNotFound(uid) }
            return statsJSON(index, indexing: s.isIndexing(uid))
        }
        return Self.json(200, json)
    }

    private func globalStats(_ request: HTTPRequest) throws -> HTTPResponse {
        let json = state.withLock { s -> StandInJSON in
            let uids = s.indexes.keys.sorted()
            let size = s.indexes.values.reduce(0) { $0 + $1.store.totalBytes }
            return .obj([
                "databaseSize": .int(size), "usedDatabaseSize": .int(size),
                "lastUpdate": s.lastUpdate.map { .string(Self.timestamp($0)) } ?? .null,
                "indexes": .object(uids.map { .init($0, statsJSON(s.indexes[$0]!, indexing: s.isIndexing($0))) }),
            ])
        }
        return Self.json(200, json)
    }

    // MARK: Settings

    private func getSettings(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        Self.json(200, try index(checkedUID(uid)).settings)
    }

    private func updateSettings(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        let patch = try MeiliSettings.validate(jsonBody(request))
        return enqueue(.settingsUpdate, index: uid, details: patch, work: .updateSettings(patch))
    }

    private func resetSettings(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        let patch = StandInJSON.object(MeiliSettings.fields.map { .init($0.name, .null) })
        return enqueue(.settingsUpdate, index: uid, details: patch, work: .updateSettings(patch))
    }

    private func getSetting(_ uid: String, _ route: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let name = MeiliSettings.subRoutes[route]!.name
        return Self.json(200, try index(checkedUID(uid)).settings[name] ?? .null)
    }

    private func updateSetting(_ uid: String, _ route: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        let name = MeiliSettings.subRoutes[route]!.name
        let value = try jsonBody(request)
        try MeiliSettings.validate(field: name, value, location: "")
        let patch = StandInJSON.obj([name: value])
        return enqueue(.settingsUpdate, index: uid, details: patch, work: .updateSettings(patch))
    }

    private func resetSetting(_ uid: String, _ route: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        let patch = StandInJSON.obj([MeiliSettings.subRoutes[route]!.name: .null])
        return enqueue(.settingsUpdate, index: uid, details: patch, work: .updateSettings(patch))
    }

    // MARK: Documents

    private func addDocuments(_ uid: String, replace: Bool, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        try checkParameters(request, ["primaryKey", "csvDelimiter", "customMetadata", "skipCreation"])
        let accepted = "Accepted values for the Content-Type header are: `application/json`, `application/x-ndjson`, `text/csv`"
        guard let contentType = request.header("content-type") else {
            throw MeiliError(code: "missing_content_type", message: "A Content-Type header is missing. \(accepted)")
        }
        let mime = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        let format: String
        switch mime {
        case "application/json": format = "json"
        case "application/x-ndjson": format = "ndjson"
        case "text/csv":
            throw MeiliError.notImplemented("CSV payloads (`text/csv`); send `application/json` or `application/x-ndjson`")
        default:
            throw MeiliError(code: "invalid_content_type", message: "The Content-Type `\(mime)` is invalid. \(accepted)")
        }
        if request.query["csvDelimiter"] != nil {
            throw MeiliError(
                code: "invalid_content_type",
                message: "The Content-Type `\(mime)` does not support the use of a csv delimiter. The csv delimiter can only be used with the Content-Type `text/csv`.")
        }
        let body = try decodedBody(request)
        guard !body.isEmpty else { throw MeiliError(code: "missing_payload", message: "A \(format) payload is missing.") }
        let ranges: [Range<Int>]
        do {
            ranges = try body.withUnsafeBytes { bytes in
                format == "json"
                    ? try StandInJSONReader.documentRanges(json: bytes) : try StandInJSONReader.documentRanges(ndjson: bytes)
            }
        } catch let error as StandInJSONError {
            throw MeiliError.malformed(format, error)
        }
        // Slices share the payload's buffer: no copy per document.
        let base = body.startIndex
        let documents = ranges.map { body[(base + $0.lowerBound)..<(base + $0.upperBound)] }
        let primaryKey = request.query["primaryKey"]
        return enqueue(
            .documentAdditionOrUpdate, index: uid,
            details: .obj(["receivedDocuments": .int(documents.count), "indexedDocuments": .null]),
            work: .addDocuments(replace: replace, documents: documents, primaryKey: primaryKey))
    }

    /// The attributes a search hit shows: `attributesToRetrieve` ∩ displayedAttributes (nil = everything).
    private func visibleFields(_ requested: [String]?, settings: StandInJSON) -> [String]? {
        let displayed = settings["displayedAttributes"]?.stringArray ?? ["*"]
        let requested = Self.requestedFields(requested)
        switch (requested, displayed.contains("*")) {
        case (nil, true): return nil
        case (nil, false): return displayed
        case (let r?, true): return r
        case (let r?, false): return r.filter { displayed.contains($0) }
        }
    }

    /// The fields asked for; nil (every field) for none or `*`.
    private static func requestedFields(_ fields: [String]?) -> [String]? {
        fields.flatMap { $0.contains("*") ? nil : $0 }
    }

    private func listFields(_ text: String?) -> [String]? {
        text.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }

    private func listDocuments(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        try checkParameters(request, ["offset", "limit", "fields", "retrieveVectors", "ids", "filter", "sort"])
        if request.query["filter"] != nil { throw MeiliError.notImplemented("document filters (`filter`)") }
        if request.query["sort"] != nil { throw MeiliError.notImplemented("document sort (`sort`)") }
        let offset = try intParameter(request, "offset", code: "invalid_document_offset") ?? 0
        let limit = try intParameter(request, "limit", code: "invalid_document_limit") ?? 20
        let ids = try request.query["ids"].map { text in
            try text.split(separator: ",").map { String($0) }.enumerated().map { i, id -> String in
                guard Self.documentID(.string(id)) != nil else {
                    throw MeiliError(code: "invalid_document_ids", message: "Invalid value in parameter `ids[\(i)]`: \(Self.invalidDocumentIDMessage(.string(id)))")
                }
                return id
            }
        }
        return try documentsPage(uid, offset: offset, limit: limit, fields: listFields(request.query["fields"]), ids: ids)
    }

    private func fetchDocuments(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        let members = try object(
            jsonBody(request), allowed: ["offset", "limit", "fields", "retrieveVectors", "filter", "ids", "sort"])
        func value(_ key: String) -> StandInJSON? {
            members.last { $0.key == key }.flatMap { $0.value.isNull ? nil : $0.value }
        }
        if value("filter") != nil { throw MeiliError.notImplemented("document filters (`filter`)") }
        if value("sort") != nil { throw MeiliError.notImplemented("document sort (`sort`)") }
        func count(_ key: String, code: String) throws -> Int? {
            guard let v = value(key) else { return nil }
            guard let n = v.intValue, n >= 0 else { throw Self.wrongType(code, at: ".\(key)", expected: "a positive integer", found: v) }
            return n
        }
        let offset = try count("offset", code: "invalid_document_offset") ?? 0
        let limit = try count("limit", code: "invalid_document_limit") ?? 20
        var fields: [String]?
        if let f = value("fields") {
            guard let list = f.stringArray else {
                throw Self.wrongType("invalid_document_fields", at: ".fields", expected: "an array", found: f)
            }
            fields = list
        }
        var ids: [String]?
        if let v = value("ids") {
            guard let elements = v.elements else {
                throw Self.wrongType("invalid_document_ids", at: ".ids", expected: "an array", found: v)
            }
            ids = try elements.enumerated().map { i, element in
                guard let id = Self.documentID(element) else {
                    throw MeiliError(code: "invalid_document_ids", message: "Invalid value at `.ids[\(i)]`: \(Self.invalidDocumentIDMessage(element))")
                }
                return id
            }
        }
        return try documentsPage(uid, offset: offset, limit: limit, fields: fields, ids: ids)
    }

    private func documentsPage(_ uid: String, offset: Int, limit: Int, fields: [String]?, ids: [String]?) throws -> HTTPResponse {
        let (page, total, visible) = try state.withLock { s -> ([Data], Int, [String]?) in
            guard let index = s.indexes[uid] else { throw MeiliError.indexNotFound(uid) }
            let store = index.store
            // Document routes return every stored field (`fields` aside): displayedAttributes
            // applies to search only since v0.28.
            let visible = Self.requestedFields(fields)
            if let ids {
                // In storage order, like Meilisearch (not the order asked).
                let positions = Set(ids.compactMap { store.position[$0] }).sorted()
                let chosen = positions.dropFirst(offset).prefix(limit).map { store.docs[$0] }
                return (chosen, positions.count, visible)
            }
            let start = min(offset, store.count)
            let end = min(store.count, start + min(limit, store.count))
            return (Array(store.docs[start..<end]), store.count, visible)
        }
        let results = page.map { Self.project($0, visible) }
        return Self.json(
            200, .obj(["results": .array(results), "offset": .int(offset), "limit": .int(limit), "total": .int(total)]))
    }

    /// A document restricted to some attributes (nil: as stored). Dotted names select nested
    /// fields, like Meilisearch's `fields`.
    static func project(_ document: Data, _ fields: [String]?) -> StandInJSON {
        guard let fields else { return .raw(document) }
        if fields.allSatisfy({ !$0.contains(".") }) {
            let wanted = Set(fields)
            guard let members = try? document.withUnsafeBytes({ try StandInJSONReader.topLevelMembers($0) }) else {
                return .raw(document)
            }
            var out: [UInt8] = [UInt8(ascii: "{")]
            var first = true
            document.withUnsafeBytes { bytes in
                for member in members where wanted.contains(member.key) {
                    if !first { out.append(UInt8(ascii: ",")) }
                    first = false
                    StandInJSON.writeString(member.key, into: &out)
                    out.append(UInt8(ascii: ":"))
                    out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[member.value]))
                }
            }
            out.append(UInt8(ascii: "}"))
            return .raw(Data(out))
        }
        guard let parsed = try? StandInJSON.parse(document) else { return .raw(document) }
        func select(_ value: StandInJSON, _ prefix: String) -> StandInJSON? {
            guard case .object(let members) = value else { return nil }
            var kept: [StandInJSON.Member] = []
            for member in members {
                let path = prefix.isEmpty ? member.key : "\(prefix).\(member.key)"
                if fields.contains(path) {
                    kept.append(member)
                } else if fields.contains(where: { $0.hasPrefix(path + ".") }), let inner = select(member.value, path) {
                    kept.append(.init(member.key, inner))
                }
            }
            return .object(kept)
        }
        return select(parsed, "") ?? .object([])
    }

    private func getDocument(_ uid: String, _ id: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        try checkParameters(request, ["fields", "retrieveVectors"])
        let (document, visible) = try state.withLock { s -> (Data, [String]?) in
            guard let index = s.indexes[uid] else { throw MeiliError.indexNotFound(uid) }
            guard let document = index.store.document(id) else {
                throw MeiliError(code: "document_not_found", message: "Document `\(id)` not found.")
            }
            return (document, Self.requestedFields(listFields(request.query["fields"])))
        }
        return Self.json(200, Self.project(document, visible))
    }

    private func deleteDocument(_ uid: String, _ id: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        return enqueue(
            .documentDeletion, index: uid,
            details: .obj(["providedIds": .int(1), "deletedDocuments": .null, "originalFilter": .null]),
            work: .deleteDocuments([id]))
    }

    private func deleteDocumentsBatch(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        let body = try jsonBody(request)
        guard let elements = body.elements else {
            throw Self.wrongType("bad_request", at: "", expected: "an array", found: body)
        }
        let ids = try elements.enumerated().map { i, element -> String in
            switch element {
            case .string(let s): return s
            case .number(let n): return n
            default: throw Self.wrongType("bad_request", at: "[\(i)]", expected: "a string or an integer", found: element)
            }
        }
        return enqueue(
            .documentDeletion, index: uid,
            details: .obj(["providedIds": .int(ids.count), "deletedDocuments": .null, "originalFilter": .null]),
            work: .deleteDocuments(ids))
    }

    private func deleteAllDocuments(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        return enqueue(.documentDeletion, index: uid, details: .obj(["deletedDocuments": .null]), work: .clearDocuments)
    }

    // MARK: Search

    private static let searchParameters = [
        "q", "vector", "offset", "limit", "page", "hitsPerPage", "attributesToRetrieve", "retrieveVectors",
        "attributesToCrop", "cropLength", "attributesToHighlight", "showMatchesPosition", "showRankingScore",
        "showRankingScoreDetails", "filter", "sort", "distinct", "facets", "highlightPreTag", "highlightPostTag",
        "cropMarker", "matchingStrategy", "attributesToSearchOn", "hybrid", "rankingScoreThreshold", "locales",
    ]
    /// Parameters that change which hits come back: refused rather than silently ignored.
    private static let unsupportedSearchParameters = [
        "vector", "page", "hitsPerPage", "filter", "sort", "distinct", "facets", "attributesToSearchOn", "hybrid",
        "rankingScoreThreshold",
    ]

    private func search(_ uid: String, _ request: HTTPRequest) throws -> HTTPResponse {
        let uid = try checkedUID(uid)
        var q = ""
        var offset = 0
        var limit = 20
        var retrieve: [String]?
        if request.method == "GET" {
            try checkParameters(request, Self.searchParameters)
            for name in Self.unsupportedSearchParameters where request.query[name] != nil {
                throw MeiliError.notImplemented("the search parameter `\(name)`")
            }
            q = request.query["q"] ?? ""
            offset = try intParameter(request, "offset", code: "invalid_search_offset") ?? 0
            limit = try intParameter(request, "limit", code: "invalid_search_limit") ?? 20
            retrieve = listFields(request.query["attributesToRetrieve"])
        } else {
            let members = try object(jsonBody(request), allowed: Self.searchParameters)
            for member in members where !member.value.isNull {
                if Self.unsupportedSearchParameters.contains(member.key) {
                    throw MeiliError.notImplemented("the search parameter `\(member.key)`")
                }
                switch member.key {
                case "q":
                    guard let s = member.value.stringValue else {
                        throw Self.wrongType("invalid_search_q", at: ".q", expected: "a string", found: member.value)
                    }
                    q = s
                case "offset", "limit":
                    guard let n = member.value.intValue, n >= 0 else {
                        throw Self.wrongType("invalid_search_\(member.key)", at: ".\(member.key)", expected: "a positive integer", found: member.value)
                    }
                    if member.key == "offset" { offset = n } else { limit = n }
                case "attributesToRetrieve":
                    guard let list = member.value.stringArray else {
                        throw Self.wrongType("invalid_search_attributes_to_retrieve", at: ".attributesToRetrieve", expected: "an array", found: member.value)
                    }
                    retrieve = list
                default:
                    break  // presentation options (highlight, crop, ranking scores…): ignored
                }
            }
        }

        // A snapshot taken under the lock: a concurrent swap is seen entirely or not at all.
        let (ids, docs, settings) = try state.withLock { s -> ([String], [Data], StandInJSON) in
            guard let index = s.indexes[uid] else { throw MeiliError.indexNotFound(uid) }
            return (index.store.ids, index.store.docs, index.settings)
        }
        let start = Date()
        let maxTotalHits = settings["pagination"]?["maxTotalHits"]?.intValue ?? 1000
        let searchable = settings["searchableAttributes"]?.stringArray ?? ["*"]
        let matcher = SubstringMatcher(query: q, searchable: searchable.contains("*") ? nil : searchable)
        var matches: [Int] = []
        for i in docs.indices where matches.count < maxTotalHits {
            if matcher.matches(docs[i]) { matches.append(i) }
        }
        let page = matches.dropFirst(offset).prefix(limit)
        let visible = visibleFields(retrieve, settings: settings)
        let hits = page.map { Self.project(docs[$0], visible) }
        let elapsed = Int(Date().timeIntervalSince(start) * 1000)
        let record = S.SearchRecord(
            indexUID: uid, query: q, offset: offset, limit: limit, hitIDs: page.map { ids[$0] },
            estimatedTotalHits: matches.count)
        let observers = state.withLock { s -> [@Sendable (S.SearchRecord) -> Void] in
            s.searches.append(record)
            return s.searchObservers
        }
        let response = Self.json(
            200,
            .obj(["hits": .array(hits), "query": .string(q), "processingTimeMs": .int(elapsed), "limit": .int(limit),
                  "offset": .int(offset), "estimatedTotalHits": .int(matches.count)]))
        observers.forEach { $0(record) }
        return response
    }

    // MARK: Tasks

    private func getTask(_ text: String, _ request: HTTPRequest) throws -> HTTPResponse {
        guard let uid = Int(text), uid >= 0 else {
            throw MeiliError(code: "invalid_task_uids", message: "Task uid `\(text)` is invalid. It should only contain numeric characters.")
        }
        let json = try state.withLock { s -> StandInJSON in
            guard s.tasks.indices.contains(uid) else { throw MeiliError(code: "task_not_found", message: "Task `\(uid)` not found.") }
            return s.tasks[uid].json
        }
        return Self.json(200, json)
    }

    private func listTasks(_ request: HTTPRequest) throws -> HTTPResponse {
        let dateFilters = [
            "beforeEnqueuedAt", "afterEnqueuedAt", "beforeStartedAt", "afterStartedAt", "beforeFinishedAt",
            "afterFinishedAt", "canceledBy", "batchUids",
        ]
        try checkParameters(request, ["limit", "from", "reverse", "uids", "indexUids", "statuses", "types"] + dateFilters)
        for name in dateFilters where request.query[name] != nil {
            throw MeiliError.notImplemented("the task filter `\(name)`")
        }
        if request.query["reverse"] == "true" { throw MeiliError.notImplemented("`reverse=true` on /tasks") }
        let limit = try intParameter(request, "limit", code: "invalid_task_limit") ?? 20
        let from = try intParameter(request, "from", code: "invalid_task_from")
        let filter = try TaskFilter(request)
        let json = state.withLock { s -> StandInJSON in
            let matching = s.tasks.reversed().filter(filter.matches)
            let fromHere = matching.filter { task in from.map { task.uid <= $0 } ?? true }
            let page = Array(fromHere.prefix(limit))
            let next = fromHere.count > limit ? fromHere[limit].uid : nil
            return .obj([
                "results": .array(page.map(\.json)), "total": .int(matching.count), "limit": .int(limit),
                "from": .optional(page.first?.uid), "next": .optional(next),
            ])
        }
        return Self.json(200, json)
    }

    /// The `uids`, `statuses`, `types` and `indexUids` filters of `/tasks` and `/tasks/cancel`.
    struct TaskFilter {
        var uids: Set<Int>?
        var statuses: Set<S.TaskStatus>?
        var types: Set<S.TaskType>?
        var indexUIDs: Set<String>?

        init(_ request: HTTPRequest) throws {
            func list(_ name: String) -> [String]? {
                guard let text = request.query[name] else { return nil }
                let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                return items.contains("*") ? nil : items
            }
            uids = try list("uids").map { items in
                try Set(items.map { item -> Int in
                    guard let n = Int(item), n >= 0 else {
                        throw MeiliError(code: "invalid_task_uids", message: "Invalid value in parameter `uids`: could not parse `\(item)` as a positive integer")
                    }
                    return n
                })
            }
            statuses = try list("statuses").map { items in
                try Set(items.map { item -> S.TaskStatus in
                    guard let status = S.TaskStatus(rawValue: item) else {
                        let all = S.TaskStatus.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", ")
                        throw MeiliError(code: "invalid_task_statuses", message: "Invalid value in parameter `statuses`: `\(item)` is not a valid task status. Available statuses are \(all).")
                    }
                    return status
                })
            }
            types = try list("types").map { items in
                try Set(items.map { item -> S.TaskType in
                    guard let type = S.TaskType(rawValue: item) else {
                        let all = S.TaskType.allCases.map { "`\($0.rawValue)`" }.joined(separator: ", ")
                        throw MeiliError(code: "invalid_task_types", message: "Invalid value in parameter `types`: `\(item)` is not a valid task type. Available types are \(all).")
                    }
                    return type
                })
            }
            indexUIDs = try list("indexUids").map { items in
                try Set(items.map { item -> String in
                    guard MeiliCore.isValidIndexUID(item) else { throw MeiliError.invalidIndexUID(item, location: "indexUids") }
                    return item
                })
            }
        }

        var isEmpty: Bool { uids == nil && statuses == nil && types == nil && indexUIDs == nil }

        func matches(_ task: MeiliTask) -> Bool {
            (uids?.contains(task.uid) ?? true) && (statuses?.contains(task.status) ?? true)
                && (types?.contains(task.type) ?? true)
                && (indexUIDs.map { !$0.isDisjoint(with: task.filedUnder) } ?? true)
        }
    }

    /// `POST /tasks/cancel?…`: a taskCancelation task matching the enqueued and processing
    /// tasks the filters name (at least one filter, as in Meilisearch).
    private func cancelTasks(_ request: HTTPRequest) throws -> HTTPResponse {
        try checkParameters(request, ["uids", "indexUids", "statuses", "types"])
        let filter = try TaskFilter(request)
        guard !filter.isEmpty else {
            throw MeiliError(code: "missing_task_filters",
                             message: "Query parameters to filter the tasks to cancel are missing. Available query parameters are: `uids`, `indexUids`, `statuses`, `types`, `canceledBy`, `beforeEnqueuedAt`, `afterEnqueuedAt`, `beforeStartedAt`, `afterStartedAt`, `beforeFinishedAt`, `afterFinishedAt`.")
        }
        let original = "?" + request.query.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
        let matched = state.withLock { s in
            s.tasks.filter { !$0.status.isFinished && filter.matches($0) }.map(\.uid)
        }
        return enqueue(.taskCancelation, index: nil,
                       details: .obj(["matchedTasks": .int(matched.count), "canceledTasks": .null, "originalFilter": .string(original)]),
                       work: .cancel(matched))
    }

    // MARK: Swap

    private func swapIndexes(_ request: HTTPRequest) throws -> HTTPResponse {
        let body = try jsonBody(request)
        guard let operations = body.elements else {
            throw Self.wrongType("bad_request", at: "", expected: "an array", found: body)
        }
        var pairs: [(String, String)] = []
        var seen: [String] = []
        var duplicates: [String] = []
        for (i, operation) in operations.enumerated() {
            guard let members = operation.members else {
                throw Self.wrongType("bad_request", at: "[\(i)]", expected: "an object", found: operation)
            }
            for member in members where member.key != "indexes" && member.key != "rename" {
                throw Self.unknownField(member.key, ["indexes", "rename"], location: "[\(i)]")
            }
            // `rename` (v1.18+): renaming an index into a free uid is not implemented here.
            if let rename = operation["rename"] {
                guard let flag = rename.boolValue else {
                    throw Self.wrongType("invalid_swap_rename", at: "[\(i)].rename", expected: "a boolean", found: rename)
                }
                if flag { throw MeiliError.notImplemented("swaps with `rename: true`") }
            }
            guard let value = operation["indexes"] else {
                throw MeiliError(code: "missing_swap_indexes", message: "Missing field `indexes` inside `[\(i)]`")
            }
            guard let elements = value.elements else {
                throw Self.wrongType("invalid_swap_indexes", at: "[\(i)].indexes", expected: "an array", found: value)
            }
            var uids: [String] = []
            for (j, element) in elements.enumerated() {
                guard let uid = element.stringValue else {
                    throw Self.wrongType("invalid_swap_indexes", at: "[\(i)].indexes[\(j)]", expected: "a string", found: element)
                }
                guard Self.isValidIndexUID(uid) else { throw MeiliError.invalidIndexUID(uid, location: "[\(i)].indexes[\(j)]") }
                uids.append(uid)
            }
            guard uids.count == 2 else {
                throw MeiliError(
                    code: "invalid_swap_indexes",
                    message: "Two indexes must be given for each swap. The list `[\(uids.map { "\"\($0)\"" }.joined(separator: ", "))]` contains \(uids.count) indexes.")
            }
            for uid in uids {
                if seen.contains(uid) && !duplicates.contains(uid) { duplicates.append(uid) }
                seen.append(uid)
            }
            pairs.append((uids[0], uids[1]))
        }
        if duplicates.count == 1 {
            throw MeiliError(
                code: "invalid_swap_duplicate_index_found",
                message: "Indexes must be declared only once during a swap. `\(duplicates[0])` was specified several times.")
        } else if duplicates.count > 1 {
            throw MeiliError(
                code: "invalid_swap_duplicate_index_found",
                message: "Indexes must be declared only once during a swap. \(duplicates.map { "`\($0)`" }.joined(separator: ", ")) were specified several times.")
        }
        let details = StandInJSON.obj([
            "swaps": .array(pairs.map { .obj(["indexes": .strings([$0.0, $0.1])]) })
        ])
        return enqueue(.indexSwap, index: nil, details: details, work: .swap(pairs))
    }
}

/// Case-insensitive substring match over a document's string values.
struct SubstringMatcher {
    let needle: String
    /// Bytes every matching document holds, lower-cased: the query's longest run of ASCII
    /// characters that JSON never escapes. Documents without them are ruled out by a raw byte
    /// scan, without parsing (non-ASCII letters may be stored `\u`-escaped, so they are left
    /// out of the run).
    let prefilter: [UInt8]?
    let searchable: [String]?

    init(query: String, searchable: [String]?) {
        needle = query.lowercased()
        self.searchable = searchable
        var longest: [UInt8] = []
        var run: [UInt8] = []
        for byte in needle.utf8 {
            let plain = byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\")
                && byte != UInt8(ascii: "/")
            if plain {
                run.append(byte)
                if run.count > longest.count { longest = run }
            } else {
                run.removeAll(keepingCapacity: true)
            }
        }
        prefilter = longest.isEmpty ? nil : longest
    }

    func matches(_ document: Data) -> Bool {
        if needle.isEmpty { return true }
        if let prefilter, !document.withUnsafeBytes({ Self.containsLowercased($0, prefilter) }) { return false }
        guard let value = try? StandInJSON.parse(document) else { return false }
        var found = false
        func visit(_ value: StandInJSON, path: String) {
            guard !found else { return }
            switch value {
            case .string(let s):
                if let searchable, !searchable.contains(where: { path == $0 || path.hasPrefix($0 + ".") }) { return }
                if s.lowercased().contains(needle) { found = true }
            case .array(let elements): elements.forEach { visit($0, path: path) }
            case .object(let members):
                members.forEach { visit($0.value, path: path.isEmpty ? $0.key : "\(path).\($0.key)") }
            default: break
            }
        }
        visit(value, path: "")
        return found
    }

    /// Whether `haystack`, ASCII-lower-cased, contains `needle` (already lower-case). memchr
    /// finds the candidates for the first byte (both cases of a letter); the rest is compared
    /// in place.
    static func containsLowercased(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard let base = haystack.baseAddress, !needle.isEmpty else { return needle.isEmpty }
        guard haystack.count >= needle.count else { return false }
        let first = needle[0]
        let firstUpper: UInt8? = first >= 97 && first <= 122 ? first - 32 : nil
        let lastStart = haystack.count - needle.count
        var from = 0
        while from <= lastStart {
            let window = lastStart - from + 1
            var candidate = memchr(base + from, Int32(first), window).map { $0 - UnsafeMutableRawPointer(mutating: base) }
            if let firstUpper, let upper = memchr(base + from, Int32(firstUpper), window) {
                let offset = upper - UnsafeMutableRawPointer(mutating: base)
                candidate = min(candidate ?? offset, offset)
            }
            guard let i = candidate else { return false }
            var j = 1
            while j < needle.count {
                var c = haystack[i + j]
                if c >= 65 && c <= 90 { c += 32 }
                if c != needle[j] { break }
                j += 1
            }
            if j == needle.count { return true }
            from = i + 1
        }
        return false
    }
}
