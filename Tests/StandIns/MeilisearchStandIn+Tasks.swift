// The Meilisearch stand-in's task worker: one thread runs the tasks in uid order. A task's
// outcome is computed first, then applied in one step under the state lock, so a failed task
// changes nothing and readers see the state either before or after a task, never halfway.

import Foundation
import RecetteWorld

extension MeiliCore {
    typealias TaskType = MeilisearchStandIn.TaskType

    func startWorker() {
        let thread = Thread { [self] in
            workerLoop()
            workerDone.signal()
        }
        thread.name = "MeilisearchStandIn.tasks"
        workerStarted.withLock { $0 = true }
        thread.start()
    }

    private func workerLoop() {
        while true {
            _ = wake.wait(timeout: .now() + .milliseconds(50))
            while let next = takeNextTask() {
                next.before?(next.type, next.indexUID)
                if next.delay > .zero, !process(next.uid, for: next.delay) {
                    // Interrupted: left processing, without effect, for the cancelation (next
                    // in line: cancelations go first) to mark canceled.
                    state.withLock { $0.processingUID = nil }
                    continue
                }
                let outcome: Result<StandInJSON, MeiliError>
                if let injected = next.injected {
                    outcome = .failure(injected)
                } else {
                    outcome = run(next.uid, next.work)
                }
                finish(next.uid, outcome)
            }
            if state.withLock({ $0.stopped }) { return }
        }
    }

    /// Spends `delay` on the task, in slices; false as soon as an enqueued cancelation names
    /// it: Meilisearch interrupts the task it is processing for a cancelation.
    private func process(_ uid: Int, for delay: Duration) -> Bool {
        let deadline = ContinuousClock.now + delay
        while ContinuousClock.now < deadline {
            let canceled = state.withLock { s in
                s.tasks[s.nextPending...].contains { task in
                    guard task.status == .enqueued, case .cancel(let matched)? = task.work else { return false }
                    return matched.contains(uid)
                }
            }
            if canceled { return false }
            Thread.sleep(forTimeInterval: min((deadline - ContinuousClock.now).seconds, 0.005))
        }
        return true
    }

    private struct NextTask {
        var uid: Int
        var work: MeiliWork
        var delay: Duration
        var injected: MeiliError?
        var type: TaskType
        var indexUID: String?
        var before: (@Sendable (TaskType, String?) -> Void)?
    }

    private func takeNextTask() -> NextTask? {
        state.withLock { s -> NextTask? in
            guard !s.stopped, !s.paused else { return nil }
            // Canceled tasks are skipped; task cancelations go before every other enqueued
            // task, as in Meilisearch.
            while s.nextPending < s.tasks.count && s.tasks[s.nextPending].status != .enqueued { s.nextPending += 1 }
            guard s.nextPending < s.tasks.count else { return nil }
            let cancelation = s.tasks[s.nextPending...].first { $0.type == .taskCancelation && $0.status == .enqueued }?.uid
            let uid = cancelation ?? s.nextPending
            if cancelation == nil { s.nextPending += 1 }
            s.processingUID = uid
            s.tasks[uid].status = .processing
            s.tasks[uid].startedAt = Date()
            s.tasks[uid].batchUID = s.nextBatchUID
            s.nextBatchUID += 1
            var injected: MeiliError?
            if var queue = s.injectedFailures[s.tasks[uid].type], !queue.isEmpty {
                injected = queue.removeFirst()
                s.injectedFailures[s.tasks[uid].type] = queue
            }
            return NextTask(uid: uid, work: s.tasks[uid].work ?? .clearDocuments, delay: s.delay, injected: injected,
                            type: s.tasks[uid].type, indexUID: s.tasks[uid].indexUID, before: s.beforeTask)
        }
    }

    private func finish(_ uid: Int, _ outcome: Result<StandInJSON, MeiliError>) {
        state.withLock { s in
            var task = s.tasks[uid]
            task.finishedAt = Date()
            task.work = nil
            switch outcome {
            case .success(let details):
                task.status = .succeeded
                task.details = details
                s.lastUpdate = task.finishedAt
            case .failure(let error):
                task.status = .failed
                task.error = error
                // What a failed task reports: nothing indexed or deleted.
                switch task.type {
                case .documentAdditionOrUpdate: task.details = task.details.setting("indexedDocuments", .int(0))
                case .documentDeletion, .indexDeletion: task.details = task.details.setting("deletedDocuments", .int(0))
                default: break
                }
            }
            s.tasks[uid] = task
            s.processingUID = nil
        }
    }

    /// Runs one task; returns its final `details`.
    private func run(_ uid: Int, _ work: MeiliWork) -> Result<StandInJSON, MeiliError> {
        let (indexUID, details) = state.withLock { ($0.tasks[uid].indexUID ?? "", $0.tasks[uid].details) }
        do {
            switch work {
            case .createIndex(let primaryKey):
                try state.withLock { s in
                    guard s.indexes[indexUID] == nil else {
                        throw MeiliError(code: "index_already_exists", message: "Index `\(indexUID)` already exists.")
                    }
                    let now = Date()
                    s.indexes[indexUID] = MeiliIndex(uid: indexUID, createdAt: now, updatedAt: now, primaryKey: primaryKey)
                }
                return .success(details)

            case .updateIndex(let primaryKey):
                try state.withLock { s in
                    guard var index = s.indexes[indexUID] else { throw MeiliError.indexNotFound(indexUID) }
                    if let primaryKey, primaryKey != index.primaryKey {
                        if index.store.count > 0, let existing = index.primaryKey {
                            throw MeiliError(
                                code: "index_primary_key_already_exists",
                                message: "Index already has a primary key: `\(existing)`.")
                        }
                        index.primaryKey = primaryKey
                    }
                    index.updatedAt = Date()
                    s.indexes[indexUID] = index
                }
                return .success(details)

            case .deleteIndex:
                let deleted = try state.withLock { s -> Int in
                    guard let index = s.indexes.removeValue(forKey: indexUID) else { throw MeiliError.indexNotFound(indexUID) }
                    return index.store.count
                }
                return .success(details.setting("deletedDocuments", .int(deleted)))

            case .updateSettings(let patch):
                state.withLock { s in
                    let now = Date()
                    var index = s.indexes[indexUID] ?? MeiliIndex(uid: indexUID, createdAt: now, updatedAt: now)
                    index.settings = MeiliSettings.apply(patch, to: index.settings)
                    index.updatedAt = now
                    s.indexes[indexUID] = index
                }
                return .success(details)

            case .addDocuments(let replace, let documents, let primaryKey):
                try addDocuments(indexUID, replace: replace, documents: documents, primaryKey: primaryKey)
                return .success(details.setting("indexedDocuments", .int(documents.count)))

            case .deleteDocuments(let ids):
                let deleted = try state.withLock { s -> Int in
                    guard var index = s.indexes[indexUID] else { throw MeiliError.indexNotFound(indexUID) }
                    let n = index.store.remove(Set(ids))
                    index.updatedAt = Date()
                    s.indexes[indexUID] = index
                    return n
                }
                return .success(details.setting("deletedDocuments", .int(deleted)))

            case .clearDocuments:
                let deleted = try state.withLock { s -> Int in
                    guard var index = s.indexes[indexUID] else { throw MeiliError.indexNotFound(indexUID) }
                    let n = index.store.removeAll()
                    index.updatedAt = Date()
                    s.indexes[indexUID] = index
                    return n
                }
                return .success(details.setting("deletedDocuments", .int(deleted)))

            case .cancel(let matched):
                let canceled = state.withLock { s -> Int in
                    var count = 0
                    let now = Date()
                    // An interrupted task is still `processing`: canceled too.
                    for target in matched where s.tasks[target].status == .enqueued || s.tasks[target].status == .processing {
                        s.tasks[target].status = .canceled
                        s.tasks[target].canceledBy = uid
                        s.tasks[target].finishedAt = now
                        s.tasks[target].work = nil
                        count += 1
                    }
                    return count
                }
                return .success(details.setting("canceledTasks", .int(canceled)))

            case .swap(let pairs):
                try state.withLock { s in
                    let missing = Set(pairs.flatMap { [$0.0, $0.1] }.filter { s.indexes[$0] == nil }).sorted()
                    if missing.count == 1 { throw MeiliError.indexNotFound(missing[0]) }
                    if missing.count > 1 {
                        throw MeiliError(
                            code: "index_not_found",
                            message: "Indexes \(missing.map { "`\($0)`" }.joined(separator: ", ")) not found.")
                    }
                    for (a, b) in pairs {
                        var first = s.indexes[a]!
                        var second = s.indexes[b]!
                        first.uid = b
                        second.uid = a
                        s.indexes[a] = second
                        s.indexes[b] = first
                        // Meilisearch rewrites the history too: earlier tasks follow their index.
                        for i in s.tasks.indices where i != uid {
                            if s.tasks[i].indexUID == a {
                                s.tasks[i].indexUID = b
                            } else if s.tasks[i].indexUID == b {
                                s.tasks[i].indexUID = a
                            }
                        }
                    }
                }
                return .success(details)
            }
        } catch let error as MeiliError {
            return .failure(error)
        } catch {
            return .failure(MeiliError(code: "internal", message: "An internal error has occurred. `\(error)`."))
        }
    }

    /// A document addition: primary key, ids and merges are worked out first (the worker is the
    /// only writer, so reading the index meanwhile is safe), then applied in one step.
    private func addDocuments(_ indexUID: String, replace: Bool, documents: [Data], primaryKey requested: String?) throws {
        let existing = state.withLock { $0.indexes[indexUID] }
        let primaryKey: String
        if let indexKey = existing?.primaryKey {
            if let requested, requested != indexKey, (existing?.store.count ?? 0) > 0 {
                throw MeiliError(
                    code: "index_primary_key_already_exists",
                    message: "Index already has a primary key: `\(indexKey)`.")
            }
            primaryKey = (existing?.store.count ?? 0) > 0 ? indexKey : (requested ?? indexKey)
        } else if let requested {
            primaryKey = requested
        } else {
            primaryKey = try Self.inferPrimaryKey(documents.first)
        }

        struct Prepared {
            var id: String
            var document: Data
            var signature: [UInt8]
        }
        let keyBytes = Array(primaryKey.utf8)
        var prepared: [Prepared] = []
        prepared.reserveCapacity(documents.count)
        var slot: [String: Int] = [:]  // id → index in `prepared`, for repeated ids in one payload
        for document in documents {
            var signature: [UInt8] = []
            signature.reserveCapacity(64)
            let keyRange = try document.withUnsafeBytes { bytes -> Range<Int>? in
                do {
                    return try StandInJSONReader.scanDocument(bytes, primaryKey: keyBytes, signature: &signature)
                } catch {
                    throw MeiliError(code: "internal", message: "An internal error has occurred. `\(error)`.")
                }
            }
            guard let keyRange else {
                let shown = (try? StandInJSON.parse(document))?.text ?? String(decoding: document, as: UTF8.self)
                throw MeiliError(code: "missing_document_id", message: "Document doesn't have a `\(primaryKey)` attribute: `\(shown)`.")
            }
            let base = document.startIndex
            let value = (try? StandInJSON.parse(document[(base + keyRange.lowerBound)..<(base + keyRange.upperBound)])) ?? .null
            guard let id = Self.documentID(value) else {
                throw MeiliError(code: "invalid_document_id", message: Self.invalidDocumentIDMessage(value))
            }
            var item = Prepared(id: id, document: document, signature: signature)
            let previous = slot[id].map { prepared[$0].document } ?? existing?.store.document(id)
            if !replace, let previous {
                item.document = Self.merge(previous, document)
                item.signature.removeAll(keepingCapacity: true)
                _ = try? item.document.withUnsafeBytes {
                    try StandInJSONReader.scanDocument($0, primaryKey: nil, signature: &item.signature)
                }
            }
            if let i = slot[id] {
                prepared[i] = item
            } else {
                slot[id] = prepared.count
                prepared.append(item)
            }
        }

        state.withLock { s in
            let now = Date()
            var index = s.indexes[indexUID] ?? MeiliIndex(uid: indexUID, createdAt: now, updatedAt: now)
            if index.primaryKey == nil || index.store.count == 0 { index.primaryKey = primaryKey }
            for item in prepared {
                let shape = index.store.shape(signature: item.signature, document: item.document)
                index.store.upsert(id: item.id, document: item.document, shape: shape)
            }
            index.updatedAt = now
            s.indexes[indexUID] = index
        }
    }

    /// Meilisearch's inference: the first document's single attribute ending in `id`.
    static func inferPrimaryKey(_ document: Data?) throws -> String {
        let keys = (document.flatMap { doc in try? doc.withUnsafeBytes { try StandInJSONReader.topLevelMembers($0) } } ?? [])
            .map(\.key)
        let candidates = keys.filter { $0.lowercased().hasSuffix("id") }.sorted()
        switch candidates.count {
        case 0:
            throw MeiliError(
                code: "index_primary_key_no_candidate_found",
                message: "The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter.")
        case 1:
            return candidates[0]
        default:
            throw MeiliError(
                code: "index_primary_key_multiple_candidates_found",
                message: "The primary key inference failed as the engine found \(candidates.count) fields ending with `id` in their names: '\(candidates[0])' and '\(candidates[1])'. Please specify the primary key manually using the `primaryKey` query parameter.")
        }
    }

    /// A partial update: the new document's top-level fields over the old ones.
    static func merge(_ old: Data, _ new: Data) -> Data {
        guard case .object(var members)? = try? StandInJSON.parse(old), case .object(let updates)? = try? StandInJSON.parse(new)
        else { return new }
        for update in updates {
            if let i = members.firstIndex(where: { $0.key == update.key }) {
                members[i].value = update.value
            } else {
                members.append(update)
            }
        }
        return StandInJSON.object(members).data
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

// MARK: - Settings

/// Index settings: defaults, validation of a PATCH body (synchronous 400s, with deserr's
/// messages and the per-setting error codes), and merging.
enum MeiliSettings {
    indirect enum Kind {
        case stringList  // array of strings
        case rankingRules
        case filterable  // strings, or (since 1.14) objects
        case synonyms
        case optionalString
        case oneOf([String])
        case bool
        case count  // non-negative integer
        case optionalCount
        case object([(String, Kind)])
        case stringMap([String])  // object of name → one of the values
        case anyObject
        case localizedRules  // array of {attributePatterns, locales} (v1.10+)
    }

    struct Field {
        var name: String
        var kind: Kind
        var defaultValue: StandInJSON
        var code: String { "invalid_settings_" + Self.snake(name) }
        static func snake(_ name: String) -> String {
            name.reduce(into: "") { out, c in
                if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
            }
        }
    }

    static let typoToleranceDefault = StandInJSON.obj([
        "enabled": .bool(true), "minWordSizeForTypos": .obj(["oneTypo": .int(5), "twoTypos": .int(9)]),
        "disableOnWords": .array([]), "disableOnAttributes": .array([]),
    ])

    static let fields: [Field] = [
        Field(name: "displayedAttributes", kind: .stringList, defaultValue: .strings(["*"])),
        Field(name: "searchableAttributes", kind: .stringList, defaultValue: .strings(["*"])),
        Field(name: "filterableAttributes", kind: .filterable, defaultValue: .array([])),
        Field(name: "sortableAttributes", kind: .stringList, defaultValue: .array([])),
        Field(name: "rankingRules", kind: .rankingRules,
              defaultValue: .strings(["words", "typo", "proximity", "attribute", "sort", "exactness"])),
        Field(name: "stopWords", kind: .stringList, defaultValue: .array([])),
        Field(name: "nonSeparatorTokens", kind: .stringList, defaultValue: .array([])),
        Field(name: "separatorTokens", kind: .stringList, defaultValue: .array([])),
        Field(name: "dictionary", kind: .stringList, defaultValue: .array([])),
        Field(name: "synonyms", kind: .synonyms, defaultValue: .object([])),
        Field(name: "distinctAttribute", kind: .optionalString, defaultValue: .null),
        Field(name: "proximityPrecision", kind: .oneOf(["byWord", "byAttribute"]), defaultValue: .string("byWord")),
        Field(name: "typoTolerance",
              kind: .object([
                  ("enabled", .bool),
                  ("minWordSizeForTypos", .object([("oneTypo", .count), ("twoTypos", .count)])),
                  ("disableOnWords", .stringList), ("disableOnAttributes", .stringList),
              ]),
              defaultValue: typoToleranceDefault),
        Field(name: "faceting",
              kind: .object([("maxValuesPerFacet", .count), ("sortFacetValuesBy", .stringMap(["alpha", "count"]))]),
              defaultValue: .obj(["maxValuesPerFacet": .int(100), "sortFacetValuesBy": .obj(["*": .string("alpha")])])),
        Field(name: "pagination", kind: .object([("maxTotalHits", .count)]),
              defaultValue: .obj(["maxTotalHits": .int(1000)])),
        Field(name: "embedders", kind: .anyObject, defaultValue: .object([])),
        Field(name: "searchCutoffMs", kind: .optionalCount, defaultValue: .null),
        Field(name: "localizedAttributes", kind: .localizedRules, defaultValue: .null),
        Field(name: "facetSearch", kind: .bool, defaultValue: .bool(true)),
        Field(name: "prefixSearch", kind: .oneOf(["indexingTime", "disabled"]), defaultValue: .string("indexingTime")),
    ]

    static let defaults = StandInJSON.object(fields.map { .init($0.name, $0.defaultValue) })

    /// `/settings/{route}` → the setting, and the method that updates it (PATCH for the
    /// object-valued ones, PUT for the others, as in Meilisearch).
    static let subRoutes: [String: (name: String, updateMethod: String)] = {
        var table: [String: (String, String)] = [:]
        for field in fields {
            let route = Field.snake(field.name).replacingOccurrences(of: "_", with: "-")
            let patch = ["typoTolerance", "faceting", "pagination", "embedders"].contains(field.name)
            table[route] = (field.name, patch ? "PATCH" : "PUT")
        }
        return table
    }()

    /// Checks a whole PATCH body; returns it as given (it becomes the task's details).
    static func validate(_ body: StandInJSON) throws -> StandInJSON {
        guard let members = body.members else {
            throw MeiliCore.wrongType("bad_request", at: "", expected: "an object", found: body)
        }
        for member in members {
            guard fields.contains(where: { $0.name == member.key }) else {
                throw MeiliError(
                    code: "bad_request",
                    message: "Unknown field `\(member.key)`: expected one of \(fields.map { "`\($0.name)`" }.joined(separator: ", "))")
            }
            try validate(field: member.key, member.value, location: ".\(member.key)")
        }
        return body
    }

    static func validate(field name: String, _ value: StandInJSON, location: String) throws {
        guard let field = fields.first(where: { $0.name == name }) else { return }
        if value.isNull { return }  // null resets to the default
        try check(value, field.kind, code: field.code, location: location)
    }

    private static func check(_ value: StandInJSON, _ kind: Kind, code: String, location: String) throws {
        func fail(_ expected: String, _ found: StandInJSON, at: String = location) -> MeiliError {
            MeiliCore.wrongType(code, at: at, expected: expected, found: found)
        }
        switch kind {
        case .localizedRules:
            guard let elements = value.elements else { throw fail("an array", value) }
            let rule: [(String, Kind)] = [("attributePatterns", .stringList), ("locales", .stringList)]
            for (i, element) in elements.enumerated() {
                try check(element, .object(rule), code: code, location: "\(location)[\(i)]")
                for (name, _) in rule where element[name] == nil {
                    throw MeiliError(code: code, message: "Missing field `\(name)` inside `\(location)[\(i)]`")
                }
            }
        case .stringList, .rankingRules, .filterable:
            guard let elements = value.elements else { throw fail("an array", value) }
            for (i, element) in elements.enumerated() {
                if case .filterable = kind, element.members != nil { continue }
                guard let s = element.stringValue else { throw fail("a string", element, at: "\(location)[\(i)]") }
                if case .rankingRules = kind {
                    let builtIn = ["words", "typo", "proximity", "attribute", "sort", "exactness"]
                    let custom = s.hasSuffix(":asc") || s.hasSuffix(":desc")
                    guard builtIn.contains(s) || (custom && !s.hasPrefix(":")) else {
                        throw MeiliError(
                            code: code,
                            message: "Invalid value at `\(location)[\(i)]`: `\(s)` ranking rule is invalid. Valid ranking rules are words, typo, sort, proximity, attribute, exactness and custom ranking rules.")
                    }
                }
            }
        case .synonyms:
            guard let members = value.members else { throw fail("an object", value) }
            for member in members {
                guard member.value.stringArray != nil else {
                    throw fail("an array", member.value, at: "\(location).\(member.key)")
                }
            }
        case .optionalString:
            guard value.stringValue != nil else { throw fail("a string", value) }
        case .oneOf(let accepted):
            guard let s = value.stringValue else { throw fail("a string", value) }
            guard accepted.contains(s) else {
                throw MeiliError(
                    code: code,
                    message: "Unknown value `\(s)` at `\(location)`: expected one of \(accepted.map { "`\($0)`" }.joined(separator: ", "))")
            }
        case .bool:
            guard value.boolValue != nil else { throw fail("a boolean", value) }
        case .count, .optionalCount:
            guard let n = value.intValue, n >= 0 else { throw fail("a positive integer", value) }
        case .anyObject:
            guard value.members != nil else { throw fail("an object", value) }
        case .stringMap(let accepted):
            guard let members = value.members else { throw fail("an object", value) }
            for member in members {
                try check(member.value, .oneOf(accepted), code: code, location: "\(location).\(member.key)")
            }
        case .object(let subfields):
            guard let members = value.members else { throw fail("an object", value) }
            for member in members {
                guard let sub = subfields.first(where: { $0.0 == member.key }) else {
                    throw MeiliError(
                        code: code,
                        message: "Unknown field `\(member.key)` inside `\(location)`: expected one of \(subfields.map { "`\($0.0)`" }.joined(separator: ", "))")
                }
                if member.value.isNull { continue }
                try check(member.value, sub.1, code: code, location: "\(location).\(member.key)")
            }
        }
    }

    /// A validated patch applied to settings: null resets, objects merge one level down.
    static func apply(_ patch: StandInJSON, to settings: StandInJSON) -> StandInJSON {
        var result = settings
        for member in patch.members ?? [] {
            guard let field = fields.first(where: { $0.name == member.key }) else { continue }
            var value = member.value.isNull ? field.defaultValue : member.value
            if case .object = field.kind, case .object(let updates) = member.value {
                var merged = settings[field.name] ?? field.defaultValue
                for update in updates {
                    let subDefault = field.defaultValue[update.key] ?? .null
                    merged = merged.setting(update.key, update.value.isNull ? subDefault : update.value)
                }
                value = merged
            }
            result = result.setting(field.name, value)
        }
        return result
    }
}
