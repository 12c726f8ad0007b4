import Foundation
import Logging

/// Database rows against index documents, per index.
public struct IndexStatus: Sendable, Codable, Equatable {
    public var uid: String
    public var databaseRows: Int
    /// nil: the index does not exist.
    public var indexDocuments: Int?

    public var isInSync: Bool { indexDocuments == databaseRows }
    public var state: String {
        guard let indexDocuments else { return "no index" }
        if indexDocuments == databaseRows { return "ok" }
        return indexDocuments < databaseRows ? "\(databaseRows - indexDocuments) missing" : "\(indexDocuments - databaseRows) extra"
    }
}

/// Which documents differ: ids missing from the index, ids in the index the database no
/// longer has, and documents whose `updated_at` differs (stale).
public struct IndexDrift: Sendable, Codable, Equatable {
    public var uid: String
    public var databaseRows: Int
    public var indexDocuments: Int
    public var missing: [String]
    public var extra: [String]
    public var stale: [String]

    public var isInSync: Bool { missing.isEmpty && extra.isEmpty && stale.isEmpty }
}

/// `recette search status` and `recette search verify [--fix]`.
public struct SearchDrift: Sendable {
    public var client: MeilisearchClient
    public var databaseConnectionString: String
    public var logger: Logger

    public init(client: MeilisearchClient, databaseConnectionString: String, logger: Logger) {
        self.client = client
        self.databaseConnectionString = databaseConnectionString
        self.logger = logger
    }

    public func status(_ definitions: [SearchIndexDefinition]) async throws -> [IndexStatus] {
        let connection = try PostgresConnection(url: databaseConnectionString)
        var statuses: [IndexStatus] = []
        for definition in definitions {
            let sql = "SELECT count(*) FROM (\(definition.subquery)) AS recette_documents"
            let rows = try await connection.onOwnThread { Int(try $0.query(sql).column("count").first.flatMap { $0 } ?? "0") ?? 0 }
            let documents = try await client.index(definition.uid) == nil ? nil : try await client.numberOfDocuments(definition.uid)
            statuses.append(IndexStatus(uid: definition.uid, databaseRows: rows, indexDocuments: documents))
        }
        return statuses
    }

    public func verify(_ definition: SearchIndexDefinition) async throws -> IndexDrift {
        let connection = try PostgresConnection(url: databaseConnectionString)
        let key = PostgresConnection.quoteLiteral(definition.primaryKey)
        let sql = """
            SELECT recette_document->>\(key) AS id, recette_document->>'updated_at' AS updated_at
            FROM (SELECT row_to_json(q) AS recette_document FROM (\(definition.subquery)) AS q) AS d
            """
        let (ids, stamps) = try await connection.onOwnThread { connection -> ([String?], [String?]) in
            let result = try connection.query(sql)
            return (result.column("id"), result.column("updated_at"))
        }
        var database: [String: String?] = [:]
        for (id, stamp) in zip(ids, stamps) {
            guard let id else {
                throw RecetteFailure("index \(definition.uid): a row of the query has no '\(definition.primaryKey)' (the primary key): fix the query in recette.yml")
            }
            // updateValue: a subscript assignment of a nil stamp would remove the key.
            database.updateValue(stamp, forKey: id)
        }
        guard try await client.index(definition.uid) != nil else {
            return IndexDrift(uid: definition.uid, databaseRows: database.count, indexDocuments: 0,
                              missing: database.keys.sorted(), extra: [], stale: [])
        }
        var index: [String: String?] = [:]
        var offset = 0
        let pageSize = 10_000
        for _ in 0..<100_000 {
            let page = try await client.documents(definition.uid, fields: [definition.primaryKey, "updated_at"], offset: offset, limit: pageSize)
            for document in page.documents {
                guard let id = document[definition.primaryKey] else { continue }
                index.updateValue(document["updated_at"].map { "\($0)" }, forKey: MeilisearchClient.idText(id))
            }
            offset += pageSize
            if page.documents.isEmpty || offset >= page.total { break }
        }
        let missing = database.keys.filter { index[$0] == nil }.sorted()
        let extra = index.keys.filter { database[$0] == nil }.sorted()
        let stale = database.compactMap { id, stamp -> String? in
            guard let stamp, let indexed = index[id], let indexedStamp = indexed, indexedStamp != stamp else { return nil }
            return id
        }.sorted()
        return IndexDrift(uid: definition.uid, databaseRows: database.count, indexDocuments: index.count, missing: missing, extra: extra, stale: stale)
    }

    /// Sends the missing and stale documents (from the query) to the live index and deletes
    /// the extra ones; waits for every task.
    public func fix(_ drift: IndexDrift, definition: SearchIndexDefinition, gzip: Bool = false) async throws -> (sent: Int, deleted: Int) {
        let wanted = drift.missing + drift.stale
        var sent = 0
        if !wanted.isEmpty {
            if try await client.index(definition.uid) == nil {
                try await client.wait(for: try await client.createIndex(definition.uid, primaryKey: definition.primaryKey))
            }
            let connection = try PostgresConnection(url: databaseConnectionString)
            let key = PostgresConnection.quoteLiteral(definition.primaryKey)
            let sql = """
                SELECT d.recette_document::text AS document
                FROM (SELECT row_to_json(q) AS recette_document FROM (\(definition.subquery)) AS q) AS d
                WHERE d.recette_document->>\(key) = ANY($1::text[])
                """
            for start in stride(from: 0, to: wanted.count, by: 5_000) {
                let chunk = Array(wanted[start..<min(start + 5_000, wanted.count)])
                let literal = "{" + chunk.map { "\"" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }.joined(separator: ",") + "}"
                let documents = try await connection.onOwnThread { try $0.query(sql, [literal]).column("document").compactMap { $0 } }
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
