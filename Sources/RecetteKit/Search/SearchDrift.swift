import Foundation
import Logging
import RecetteWorld

/// Database rows against index documents, per index.
public struct IndexStatus: Sendable, Codable, Equatable {
    public var uid: String
    public var databaseRows: Int
    /// nil: the index does not exist.
    public var indexDocuments: Int?
    /// Rows of the query whose entries the index's transform dropped at its last rebuild
    /// (`TransformDrops`): not expected in the index. nil: no transform, or no record.
    public var transformDropped: Int?

    public init(uid: String, databaseRows: Int, indexDocuments: Int?, transformDropped: Int? = nil) {
        self.uid = uid
        self.databaseRows = databaseRows
        self.indexDocuments = indexDocuments
        self.transformDropped = transformDropped
    }

    /// What the rebuild would put in the index.
    public var expectedDocuments: Int { databaseRows - (transformDropped ?? 0) }
    public var isInSync: Bool { indexDocuments == expectedDocuments }
    public var state: String {
        guard let indexDocuments else { return "no index" }
        let dropped = transformDropped.map { " (\($0) dropped by its transform)" } ?? ""
        if indexDocuments == expectedDocuments { return "ok" + dropped }
        return (indexDocuments < expectedDocuments ? "\(expectedDocuments - indexDocuments) missing" : "\(indexDocuments - expectedDocuments) extra") + dropped
    }
}

/// Which documents differ: ids missing from the index, ids in the index the database no
/// longer has, and documents whose update timestamp differs (stale).
public struct IndexDrift: Sendable, Codable, Equatable {
    public var uid: String
    public var databaseRows: Int
    public var indexDocuments: Int
    public var missing: [String]
    public var extra: [String]
    public var stale: [String]
    /// The index's timestamp compared with the query's: `updated_at`, or `updatedAt` in an index
    /// the plugin built (Strapi's attribute name). nil: not compared.
    public var staleBy: String?
    /// Why staleness could not be judged, when it could not.
    public var staleUnknown: String?
    /// Rows of the query whose entries the index's transform dropped at its last rebuild: not
    /// counted as missing. nil: no transform, or no record.
    public var transformDropped: Int?

    public var isInSync: Bool { missing.isEmpty && extra.isEmpty && stale.isEmpty }
}

/// The update timestamp of a document: Strapi's attribute (`updatedAt`, what the plugin sends)
/// or its column (`updated_at`, what a SQL query returns).
enum UpdateStamp {
    static let fields = ["updated_at", "updatedAt"]

    /// The first of `fields` the document holds, with its text.
    static func find(in document: [String: Any]) -> (field: String, text: String)? {
        for field in fields {
            if let value = document[field], !(value is NSNull) { return (field, "\(value)") }
        }
        return nil
    }

    /// Milliseconds since 1970 of an ISO 8601 timestamp as PostgreSQL's JSON prints it
    /// (`2022-09-01T08:00:00.123456+00:00`, no offset for a timestamp without time zone: UTC
    /// here) or JavaScript's `toISOString()` (`2022-09-01T08:00:00.123Z`). Milliseconds, because
    /// JavaScript keeps no more: the same instant must compare equal from both sides.
    /// Read from the bytes, with the calendar's arithmetic: it runs twice per document of a
    /// verify, and a regular expression and a `Calendar` built each time took 6% of the CPU
    /// of the search test suites (perf).
    static func milliseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var position = 0
        func number(_ width: Int) -> Int64? {
            guard position + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[position..<position + width] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            position += width
            return value
        }
        func skip(_ allowed: String) -> Bool {
            guard position < bytes.count, allowed.utf8.contains(bytes[position]) else { return false }
            position += 1
            return true
        }
        guard let year = number(4), skip("-"), let month = number(2), skip("-"), let day = number(2), skip("T "),
              let hour = number(2), skip(":"), let minute = number(2), skip(":"), let second = number(2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var millis = ((daysSince1970(year: year, month: month, day: day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000
        if skip(".") {
            let digits = bytes[position...].prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            guard !digits.isEmpty else { return nil }
            var scale: Int64 = 100
            for byte in digits.prefix(3) {
                millis += Int64(byte - UInt8(ascii: "0")) * scale
                scale /= 10
            }
            position += digits.count
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "Z") {
            position += 1
        } else if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[position] == UInt8(ascii: "-") ? -1 : 1
            position += 1
            guard let hours = number(2) else { return nil }
            var minutes: Int64 = 0
            if position < bytes.count {
                _ = skip(":")
                guard let value = number(2) else { return nil }
                minutes = value
            }
            millis -= sign * (hours * 60 + minutes) * 60_000
        }
        return position == bytes.count ? millis : nil
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar: years counted from
    /// March, so that February's leap day ends each year, in 400-year cycles of 146,097 days.
    static func daysSince1970(year: Int64, month: Int64, day: Int64) -> Int64 {
        let marchYear = month > 2 ? year : year - 1
        let cycle = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfCycle = marchYear - cycle * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfCycle = yearOfCycle * 365 + yearOfCycle / 4 - yearOfCycle / 100 + dayOfYear
        // 719,468 days from 0000-03-01 to 1970-01-01.
        return cycle * 146_097 + dayOfCycle - 719_468
    }

    /// Two timestamps of one document differ: as instants when both parse, else as text.
    static func differ(_ a: String, _ b: String) -> Bool {
        if let x = milliseconds(a), let y = milliseconds(b) { return x != y }
        return a != b
    }
}

/// `recette search status` and `recette search verify [--fix]`.
public struct SearchDrift: Sendable {
    public var client: MeilisearchClient
    public var rows: any SearchRowSource
    /// What the indexes' transforms dropped at their last rebuild; nil: not looked at.
    public var drops: TransformDropRecords?
    public var logger: Logger

    public init(client: MeilisearchClient, rows: any SearchRowSource, drops: TransformDropRecords? = nil, logger: Logger) {
        self.client = client
        self.rows = rows
        self.drops = drops
        self.logger = logger
    }

    public func status(_ definitions: [SearchIndexDefinition]) async throws -> [IndexStatus] {
        var statuses: [IndexStatus] = []
        for definition in definitions {
            let rows = try await self.rows.count("SELECT count(*) FROM (\(definition.subquery)) AS recette_documents")
            let documents = try await client.index(definition.uid) == nil ? nil : try await client.numberOfDocuments(definition.uid)
            var dropped: Int?
            if let record = try recordedDrops(definition) {
                // The dropped entries the query still has: one deleted since is in neither side.
                dropped = record.unidentified + (record.ids.isEmpty ? 0 : try await self.rows.count("""
                    SELECT count(*) FROM (SELECT row_to_json(q)->>\(PostgresConnection.quoteLiteral(definition.primaryKey)) AS id FROM (\(definition.subquery)) AS q) AS d
                    WHERE d.id = ANY(\(Self.textArray(record.ids)))
                    """))
            }
            statuses.append(IndexStatus(uid: definition.uid, databaseRows: rows, indexDocuments: documents, transformDropped: dropped))
        }
        return statuses
    }

    /// The record of what the index's transform dropped at its last rebuild on this
    /// Meilisearch; nil for an index without a transform (any record is an old one's).
    private func recordedDrops(_ definition: SearchIndexDefinition) throws -> TransformDrops? {
        guard definition.transform != nil, let drops else { return nil }
        return try drops.read(uid: definition.uid, meilisearch: client.baseURL)
    }

    /// `ids` as one SQL literal of type text[] (the row source runs no parameterised query).
    static func textArray(_ ids: some Collection<String>) -> String {
        let literal = "{" + ids.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
        return PostgresConnection.quoteLiteral(literal) + "::text[]"
    }

    public func verify(_ definition: SearchIndexDefinition) async throws -> IndexDrift {
        let key = PostgresConnection.quoteLiteral(definition.primaryKey)
        let stampColumns = UpdateStamp.fields.map { "recette_document->>\(PostgresConnection.quoteLiteral($0)) AS \(PostgresConnection.quoteIdentifier($0))" }
        let sql = """
            SELECT recette_document->>\(key) AS id, \(stampColumns.joined(separator: ", "))
            FROM (SELECT row_to_json(q) AS recette_document FROM (\(definition.subquery)) AS q) AS d
            """
        let result = try await rows.query(sql)
        let (ids, stampsByField) = (result.column("id"), UpdateStamp.fields.map { result.column($0) })
        // The query's own name for the timestamp: the first field any row holds.
        let databaseField = zip(UpdateStamp.fields, stampsByField).first { $0.1.contains { $0 != nil } }
        var database: [String: String?] = [:]
        for (row, id) in ids.enumerated() {
            guard let id else {
                throw RecetteFailure("index \(definition.uid): a row of the query has no '\(definition.primaryKey)' (the primary key): fix the query in recette.yml")
            }
            // updateValue: a subscript assignment of a nil stamp would remove the key.
            database.updateValue(databaseField?.1[row], forKey: id)
        }
        guard try await client.index(definition.uid) != nil else {
            return IndexDrift(uid: definition.uid, databaseRows: database.count, indexDocuments: 0,
                              missing: database.keys.sorted(), extra: [], stale: [])
        }
        var index: [String: String?] = [:]
        var indexFields: Set<String> = []
        var offset = 0
        let pageSize = 10_000
        for _ in 0..<100_000 {
            let page = try await client.documents(definition.uid, fields: [definition.primaryKey] + UpdateStamp.fields, offset: offset, limit: pageSize)
            for document in page.documents {
                guard let id = document[definition.primaryKey] else { continue }
                let stamp = UpdateStamp.find(in: document)
                if let stamp { indexFields.insert(stamp.field) }
                index.updateValue(stamp?.text, forKey: MeilisearchClient.idText(id))
            }
            offset += pageSize
            if page.documents.isEmpty || offset >= page.total { break }
        }
        // Entries the transform dropped at the last rebuild are not missing: the rebuild left them out.
        let dropped = try recordedDrops(definition).map { Set($0.ids) }
        let missing = database.keys.filter { index[$0] == nil && dropped?.contains($0) != true }.sorted()
        let extra = index.keys.filter { database[$0] == nil }.sorted()
        let stale = database.compactMap { id, stamp -> String? in
            guard let stamp, let indexed = index[id], let indexedStamp = indexed, UpdateStamp.differ(indexedStamp, stamp) else { return nil }
            return id
        }.sorted()
        var drift = IndexDrift(uid: definition.uid, databaseRows: database.count, indexDocuments: index.count, missing: missing, extra: extra, stale: stale)
        drift.transformDropped = dropped.map { dropped in database.keys.filter(dropped.contains).count }
        // Say so rather than report "no stale document" when nothing could be compared.
        let both = UpdateStamp.fields.joined(separator: " or ")
        if databaseField == nil {
            drift.staleUnknown = "the query of recette.yml returns no \(both): add the row's update timestamp to it to find stale documents"
        } else if indexFields.isEmpty, !index.isEmpty {
            drift.staleUnknown = "the documents of \(definition.uid) hold no \(both) (the CMS's transformEntry leaves it out?), so stale documents cannot be told apart; 'recette reindex' rebuilds them all"
        } else {
            drift.staleBy = indexFields.isEmpty ? databaseField?.0 : indexFields.sorted().joined(separator: "/")
        }
        return drift
    }

    /// Sends the missing and stale documents (from the query) to the live index and deletes
    /// the extra ones; waits for every task.
    public func fix(_ drift: IndexDrift, definition: SearchIndexDefinition, gzip: Bool = false) async throws -> (sent: Int, deleted: Int) {
        // The query's rows are the transform's entries, not the documents: sending them as they
        // are would put other documents in the index than a rebuild does.
        if let transform = definition.transform {
            throw RecetteFailure("index \(definition.uid) has a transform (\(transform.joined(separator: " "))), which --fix does not run: rebuild it with 'recette reindex --index \(definition.uid)'")
        }
        let wanted = drift.missing + drift.stale
        var sent = 0
        if !wanted.isEmpty {
            if try await client.index(definition.uid) == nil {
                try await client.wait(for: try await client.createIndex(definition.uid, primaryKey: definition.primaryKey))
            }
            let key = PostgresConnection.quoteLiteral(definition.primaryKey)
            for start in stride(from: 0, to: wanted.count, by: 5_000) {
                let chunk = Array(wanted[start..<min(start + 5_000, wanted.count)])
                let sql = """
                    SELECT d.recette_document::text AS document
                    FROM (SELECT row_to_json(q) AS recette_document FROM (\(definition.subquery)) AS q) AS d
                    WHERE d.recette_document->>\(key) = ANY(\(Self.textArray(chunk)))
                    """
                let documents = try await rows.query(sql).column("document").compactMap { $0 }
                guard !documents.isEmpty else { continue }
                let body = Data((documents.joined(separator: "\n") + "\n").utf8)
                try await client.wait(for: try await client.addDocuments(definition.uid, ndjson: body, primaryKey: definition.primaryKey, gzip: gzip))
                sent += documents.count
            }
        }
        if !drift.extra.isEmpty {
            for start in stride(from: 0, to: drift.extra.count, by: 10_000) {
                let chunk = Array(drift.extra[start..<min(start + 10_000, drift.extra.count)])
                try await client.wait(for: try await client.deleteDocuments(definition.uid, ids: chunk))
            }
        }
        return (sent, drift.extra.count)
    }
}
