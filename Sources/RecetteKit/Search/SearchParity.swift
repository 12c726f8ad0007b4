import Foundation
import RecetteWorld

/// A JSON value compared as a value: an object's key order does not count, and numbers are
/// numbers (`500 == 500.0`), as a search front reads them.
public enum ParityJSON: Sendable, Decodable, Equatable {
    case null
    case bool(Bool)
    /// Integers are kept exact; the others go through Double.
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([ParityJSON])
    case object([String: ParityJSON])

    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: ParityJSON] = [:]
            for key in container.allKeys { members[key.stringValue] = try container.decode(ParityJSON.self, forKey: key) }
            self = .object(members)
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var elements: [ParityJSON] = []
            if let count = container.count { elements.reserveCapacity(count) }
            while !container.isAtEnd { elements.append(try container.decode(ParityJSON.self)) }
            self = .array(elements)
            return
        }
        let value = try decoder.singleValueContainer()
        if value.decodeNil() { self = .null }
        // Bool first: JSONDecoder refuses a number as a Bool and `true` as a number.
        else if let bool = try? value.decode(Bool.self) { self = .bool(bool) }
        else if let integer = try? value.decode(Int64.self) { self = .integer(integer) }
        else if let number = try? value.decode(Double.self) { self = .number(number) }
        else { self = .string(try value.decode(String.self)) }
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public static func == (a: ParityJSON, b: ParityJSON) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.integer(let x), .number(let y)), (.number(let y), .integer(let x)): Double(x) == y
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x == y
        default: false
        }
    }

    /// JSON's own name for the kind of value.
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer, .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// The value as JSON text (object keys sorted), cut after `limit` characters.
    public func rendered(limit: Int = 60) -> String {
        let text = json
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    private var json: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .integer(let value): return String(value)
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value):
            let data = (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self)
        case .array(let elements): return "[" + elements.map(\.json).joined(separator: ",") + "]"
        case .object(let members):
            return "{" + members.keys.sorted().map { ParityJSON.string($0).json + ":" + members[$0]!.json }.joined(separator: ",") + "}"
        }
    }

    /// The text of a document id, as Meilisearch compares them (an integer without decimals).
    var idText: String? {
        switch self {
        case .string(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }
}

/// `--against`: another index on recette's Meilisearch, or an index of another Meilisearch
/// given by its URL (`http(s)://host:port/indexes/UID`, under any path prefix of a proxy).
public enum ParityReference: Sendable, Equatable {
    case sameServer(uid: String)
    case otherServer(baseURL: URL, uid: String)

    public static func parse(_ text: String) throws -> ParityReference {
        let fix = "give another index's uid on the same Meilisearch, or a URL http(s)://host:port/indexes/UID"
        let lowered = text.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") {
            guard var components = URLComponents(string: text), components.host?.isEmpty == false else {
                throw RecetteFailure("--against '\(text)' is not a URL recette can read: \(fix)")
            }
            guard components.user == nil, components.password == nil else {
                throw RecetteFailure("--against must not carry credentials in its URL: put the key in RECETTE_PARITY_MEILISEARCH_KEY")
            }
            var parts = components.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            guard parts.count >= 2, parts[parts.count - 2] == "indexes", SearchIndexDefinition.isValidUid(parts[parts.count - 1]) else {
                throw RecetteFailure("--against \(components.scheme ?? "http")://\(components.host ?? "")…\(components.path) does not name an index: \(fix)")
            }
            let uid = parts.removeLast()
            parts.removeLast()
            components.path = parts.isEmpty ? "" : "/" + parts.joined(separator: "/")
            components.query = nil
            components.fragment = nil
            guard let baseURL = components.url else { throw RecetteFailure("--against '\(text)' is not a URL recette can read: \(fix)") }
            return .otherServer(baseURL: baseURL, uid: uid)
        }
        guard SearchIndexDefinition.isValidUid(text) else {
            throw RecetteFailure("--against '\(text)' is neither an index uid (letters, digits, - and _) nor an http(s) URL: \(fix)")
        }
        return .sameServer(uid: text)
    }
}

/// What differs between recette's documents and a reference index's, by kind of difference.
public struct ParityReport: Sendable {
    /// A kind of difference: how many documents show it, and the first few.
    public struct Tally: Sendable {
        public var documents = 0
        public var examples: [String] = []
        fileprivate var lastID: String?
    }

    public var recetteIndex: String
    public var referenceIndex: String
    public var recetteDocuments = 0
    public var referenceDocuments = 0
    /// Documents compared field by field (the ids on both sides, or the sample of them).
    public var documentsCompared = 0
    /// nil: every common id was compared.
    public var sample: Int?
    /// Ids in the reference only, and in recette only (sorted; every one).
    public var missingFromRecette: [String] = []
    public var extraInRecette: [String] = []
    /// By key path (`a.b`, `list[].c`).
    public var keysMissing: [String: Tally] = [:]
    public var keysExtra: [String: Tally] = [:]
    public var typeDifferences: [String: Tally] = [:]
    public var valueDifferences: [String: Tally] = [:]

    public var isIdentical: Bool {
        missingFromRecette.isEmpty && extraInRecette.isEmpty && keysMissing.isEmpty && keysExtra.isEmpty && typeDifferences.isEmpty && valueDifferences.isEmpty
    }

    /// How many examples each kind keeps.
    static let exampleCount = 3

    /// The text the command prints.
    public func lines() -> [String] {
        let sampled = sample.map { " (a sample: the first \($0) common ids in sorted order)" } ?? ""
        let head = "\(recetteIndex) (recette, \(recetteDocuments) documents) vs \(referenceIndex) (reference, \(referenceDocuments) documents)"
        if isIdentical { return ["\(head): \(documentsCompared) documents compared\(sampled), identical"] }
        var lines = ["\(head): \(documentsCompared) documents compared\(sampled), DIFFERENT"]
        func ids(_ label: String, _ ids: [String]) {
            guard !ids.isEmpty else { return }
            let shown = ids.prefix(Self.exampleCount).joined(separator: ", ")
            lines.append("  \(ids.count) id(s) \(label): \(shown)\(ids.count > Self.exampleCount ? ", …" : "")")
        }
        ids("missing from recette (in the reference only)", missingFromRecette)
        ids("extra in recette (not in the reference)", extraInRecette)
        func keyed(_ label: String, _ tallies: [String: Tally]) {
            for path in tallies.keys.sorted() {
                let tally = tallies[path]!
                let more = tally.documents > tally.examples.count ? "; …" : ""
                lines.append("  \(path): \(label) in \(tally.documents) document(s): \(tally.examples.joined(separator: "; "))\(more)")
            }
        }
        keyed("key missing from recette", keysMissing)
        keyed("key extra in recette", keysExtra)
        keyed("type differs", typeDifferences)
        keyed("value differs", valueDifferences)
        return lines
    }

    /// A one-line summary of what differs, for the error.
    public var summary: String {
        var parts: [String] = []
        if !missingFromRecette.isEmpty { parts.append("\(missingFromRecette.count) missing") }
        if !extraInRecette.isEmpty { parts.append("\(extraInRecette.count) extra") }
        let keys = keysMissing.count + keysExtra.count
        if keys > 0 { parts.append("\(keys) key(s) missing or extra") }
        let values = typeDifferences.count + valueDifferences.count
        if values > 0 { parts.append("\(values) key(s) with other values") }
        return parts.joined(separator: ", ")
    }

    // MARK: Comparing

    /// Compares one document of each side (same id), key by key, down through objects and
    /// arrays of the same length.
    mutating func compare(id: String, recette: ParityJSON, reference: ParityJSON, path: String = "") {
        switch (recette, reference) {
        case (.object(let mine), .object(let theirs)):
            for key in Set(mine.keys).union(theirs.keys).sorted() {
                let keyPath = path.isEmpty ? key : "\(path).\(key)"
                switch (mine[key], theirs[key]) {
                case (nil, let value?): Self.note(&keysMissing, keyPath, id: id, "\(id) (reference: \(value.rendered(limit: 40)))")
                case (let value?, nil): Self.note(&keysExtra, keyPath, id: id, "\(id) (recette: \(value.rendered(limit: 40)))")
                case (let a?, let b?): compare(id: id, recette: a, reference: b, path: keyPath)
                case (nil, nil): break
                }
            }
        case (.array(let mine), .array(let theirs)) where mine.count == theirs.count:
            for (a, b) in zip(mine, theirs) { compare(id: id, recette: a, reference: b, path: "\(path)[]") }
        default:
            guard recette != reference else { return }
            let example = "\(id): recette \(recette.rendered()) (\(recette.typeName)), reference \(reference.rendered()) (\(reference.typeName))"
            if recette.typeName != reference.typeName {
                Self.note(&typeDifferences, path.isEmpty ? "(document)" : path, id: id, example)
            } else {
                Self.note(&valueDifferences, path.isEmpty ? "(document)" : path, id: id, example)
            }
        }
    }

    /// Counts a document once per kind and key path, however often the path repeats in it.
    private static func note(_ tallies: inout [String: Tally], _ path: String, id: String, _ example: String) {
        var tally = tallies[path] ?? Tally()
        guard tally.lastID != id else { return }
        tally.lastID = id
        tally.documents += 1
        if tally.examples.count < exampleCount { tally.examples.append(example) }
        tallies[path] = tally
    }
}

/// `recette search parity`: recette's documents (an index of recette's Meilisearch) against
/// a reference index, id by id and field by field. It only reads (`POST /documents/fetch`).
///
/// Memory: recette's side is held (id → document) while the reference is streamed page by
/// page; with a sample, both sides' ids are held and only the sampled documents.
public struct SearchParity: Sendable {
    public var recette: MeilisearchClient
    public var recetteIndex: String
    public var reference: MeilisearchClient
    public var referenceIndex: String
    /// Compare only the first N common ids in sorted order (missing and extra ids are still
    /// counted over every id).
    public var sample: Int?
    public var pageSize = 1000
    /// The most pages read per side: a bound on the loop, far above any real index.
    static let maximumPages = 1_000_000

    public init(recette: MeilisearchClient, recetteIndex: String, reference: MeilisearchClient, referenceIndex: String, sample: Int? = nil) {
        self.recette = recette
        self.recetteIndex = recetteIndex
        self.reference = reference
        self.referenceIndex = referenceIndex
        self.sample = sample
    }

    /// The reference of `--against`: an index on recette's Meilisearch, or one of another
    /// Meilisearch reached with `key`.
    public static func referenceClient(_ parsed: ParityReference, recette: MeilisearchClient, key: Secret?, transport: any HTTPTransport) -> (MeilisearchClient, String) {
        switch parsed {
        case .sameServer(let uid): (recette, uid)
        case .otherServer(let baseURL, let uid):
            (MeilisearchClient(baseURL: baseURL, apiKey: key, transport: transport, server: MeilisearchServer(origin: "the reference", urlSource: "--against", keySource: Setting.parityMeilisearchAPIKey.environmentName)), uid)
        }
    }

    public func compare() async throws -> ParityReport {
        let primaryKey = try await primaryKeys()
        var report = ParityReport(recetteIndex: "\(recetteIndex) on \(recette.server)", referenceIndex: "\(referenceIndex) on \(reference.server)")
        report.sample = sample
        if let sample {
            let mine = try await ids(recette, recetteIndex, primaryKey: primaryKey, side: "recette")
            let theirs = try await ids(reference, referenceIndex, primaryKey: primaryKey, side: "the reference")
            report.recetteDocuments = mine.count
            report.referenceDocuments = theirs.count
            report.missingFromRecette = theirs.subtracting(mine).sorted()
            report.extraInRecette = mine.subtracting(theirs).sorted()
            let chosen = Set(mine.intersection(theirs).sorted().prefix(sample))
            var kept: [String: ParityJSON] = [:]
            try await eachDocument(recette, recetteIndex, primaryKey: primaryKey, side: "recette") { id, document in
                if chosen.contains(id) { kept[id] = document }
            }
            try await eachDocument(reference, referenceIndex, primaryKey: primaryKey, side: "the reference") { id, document in
                guard chosen.contains(id), let mine = kept.removeValue(forKey: id) else { return }
                report.documentsCompared += 1
                report.compare(id: id, recette: mine, reference: document)
            }
            return report
        }
        var mine: [String: ParityJSON] = [:]
        try await eachDocument(recette, recetteIndex, primaryKey: primaryKey, side: "recette") { id, document in
            mine[id] = document
        }
        report.recetteDocuments = mine.count
        var missing: [String] = []
        try await eachDocument(reference, referenceIndex, primaryKey: primaryKey, side: "the reference") { id, document in
            report.referenceDocuments += 1
            guard let own = mine.removeValue(forKey: id) else {
                missing.append(id)
                return
            }
            report.documentsCompared += 1
            report.compare(id: id, recette: own, reference: document)
        }
        report.missingFromRecette = missing.sorted()
        report.extraInRecette = mine.keys.sorted()
        return report
    }

    /// Both indexes exist and share a primary key, the one the documents are matched by.
    private func primaryKeys() async throws -> String {
        guard let mine = try await recette.index(recetteIndex) else {
            throw RecetteFailure("no index \(recetteIndex) on \(recette.server): build it with 'recette reindex --index \(recetteIndex)', or check --index")
        }
        let theirs: MeilisearchIndex?
        do {
            theirs = try await reference.index(referenceIndex)
        } catch let error as MeilisearchError {
            throw Self.referenceError(error, server: reference.server, sameServer: reference.baseURL == recette.baseURL)
        }
        guard let theirs else { throw RecetteFailure("no index \(referenceIndex) on \(reference.server): check --against") }
        guard let key = mine.primaryKey ?? theirs.primaryKey else {
            throw RecetteFailure("\(recetteIndex) on \(recette.server) has no primary key yet (no document was ever added): nothing to compare")
        }
        if let other = theirs.primaryKey, let own = mine.primaryKey, other != own {
            throw RecetteFailure("\(recetteIndex) is keyed by \(own) and \(referenceIndex) by \(other): their documents cannot be matched; compare with an index keyed like recette's")
        }
        return key
    }

    /// A refused key on the reference names the reference's own setting.
    static func referenceError(_ error: MeilisearchError, server: String, sameServer: Bool) -> any Error {
        guard !sameServer, case .api(let status, let code, _, _, _) = error, [401, 403].contains(status) else { return error }
        return RecetteFailure("the reference Meilisearch at \(server) \(status == 401 ? "wants an API key" : "refused the API key (\(code))"): set RECETTE_PARITY_MEILISEARCH_KEY to a key that may read its documents")
    }

    private func ids(_ client: MeilisearchClient, _ uid: String, primaryKey: String, side: String) async throws -> Set<String> {
        var ids = Set<String>()
        try await eachDocument(client, uid, primaryKey: primaryKey, fields: [primaryKey], side: side) { id, _ in ids.insert(id) }
        return ids
    }

    /// Every document of the index, page by page, with its id; stops at the first short page.
    private func eachDocument(_ client: MeilisearchClient, _ uid: String, primaryKey: String, fields: [String]? = nil, side: String,
                              _ body: (String, ParityJSON) throws -> Void) async throws {
        struct Page: Decodable { var results: [ParityJSON] }
        for page in 0..<Self.maximumPages {
            let data: Data
            do {
                data = try await client.fetchDocumentsPage(uid, fields: fields, offset: page * pageSize, limit: pageSize)
            } catch let error as MeilisearchError {
                throw Self.referenceError(error, server: client.server, sameServer: client.baseURL == recette.baseURL)
            }
            let results = (try client.decode(data, "documents of \(uid)") as Page).results
            for document in results {
                guard case .object(let members) = document, let id = members[primaryKey]?.idText else {
                    throw RecetteFailure("a document of \(uid) on \(client.server) (\(side)) has no usable \(primaryKey): \(document.rendered())")
                }
                try body(id, document)
            }
            if results.count < pageSize { return }
        }
        throw RecetteFailure("\(uid) on \(client.server) still had documents after \(Self.maximumPages) pages of \(pageSize): not compared")
    }
}
