import Foundation
import Logging

/// What one index rebuild did, for the run report.
public struct IndexRebuildReport: Sendable, Codable, Equatable {
    public var uid: String
    public var temporaryUid: String
    public var rows: Int
    public var documents: Int
    public var batches: Int
    public var bytesSent: Int
    /// Seconds per phase, in order: prepare, stream, tasks, swap.
    public var phases: [String: Double]
    public var seconds: Double
    public var settingsFrom: String

    public var documentsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
}

/// `recette reindex --via direct`: per index, the configured SQL's rows are streamed out of
/// PostgreSQL as JSON (COPY … TO STDOUT, one document per row) and sent in byte-bounded
/// NDJSON batches into a fresh index `<uid>_<timestamp>` that already has the live index's
/// settings. Only when every task succeeded and the new index holds exactly the query's row
/// count is it swapped with the live index (one atomic task), and the old content deleted.
/// On any failure the live index is untouched and the new one is removed.
public struct DirectReindexer: Sendable {
    public var client: MeilisearchClient
    /// libpq connection string of the database the documents come from (may hold a password:
    /// never printed).
    public var databaseConnectionString: String
    public var batchBytes: Int
    public var gzip: Bool
    public var logger: Logger
    public var now: @Sendable () -> Date

    public init(client: MeilisearchClient, databaseConnectionString: String, batchBytes: Int = 16 << 20, gzip: Bool = false,
                logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.databaseConnectionString = databaseConnectionString
        self.batchBytes = batchBytes
        self.gzip = gzip
        self.logger = logger
        self.now = now
    }

    /// The new index's name: `<uid>_<yyyyMMddHHmmss>` (UTC).
    public func temporaryUid(for uid: String) -> String {
        "\(uid)_\(UTCStamp.string(from: now(), pattern: "yyyyMMddHHmmss"))"
    }

    /// Whether `candidate` is a temporary index recette made for `uid` (a leftover of an
    /// interrupted run when it still exists at the start of the next one).
    public static func isTemporary(_ candidate: String, of uid: String) -> Bool {
        guard candidate.hasPrefix(uid + "_") else { return false }
        let stamp = candidate.dropFirst(uid.count + 1)
        return stamp.count == 14 && stamp.allSatisfy(\.isASCII) && stamp.allSatisfy(\.isNumber)
    }

    public func rebuild(_ definitions: [SearchIndexDefinition]) async throws -> [IndexRebuildReport] {
        var reports: [IndexRebuildReport] = []
        for definition in definitions {
            reports.append(try await rebuild(definition))
        }
        return reports
    }

    public func rebuild(_ definition: SearchIndexDefinition) async throws -> IndexRebuildReport {
        let clock = ContinuousClock()
        let started = clock.now
        var mark = started
        var phases: [String: Double] = [:]
        func lap(_ name: String) {
            let instant = clock.now
            phases[name] = (instant - mark).seconds
            mark = instant
        }
        let uid = definition.uid
        let temporary = temporaryUid(for: uid)

        // Prepare: leftovers of an interrupted run go; the live index's settings are read.
        let existing = try await client.indexes()
        for leftover in existing.map(\.uid) where Self.isTemporary(leftover, of: uid) && leftover != temporary {
            logger.info("deleting \(leftover), left behind by an interrupted rebuild")
            try await client.wait(for: try await client.deleteIndex(leftover))
        }
        let live = existing.first { $0.uid == uid }
        if existing.contains(where: { $0.uid == temporary }) {
            throw RecetteFailure("index \(temporary) already exists (another rebuild of \(uid) in the same second?): wait a second and run again")
        }
        let settings: Data?
        let settingsFrom: String
        if let configured = definition.settingsJSON {
            settings = configured
            settingsFrom = "recette.yml"
        } else if live != nil {
            settings = try await client.settings(uid)
            settingsFrom = "live index"
        } else {
            settings = nil
            settingsFrom = "Meilisearch defaults"
        }

        do {
            // Inside the do: an interrupted or failed creation is cleaned up like the rest.
            try await client.wait(for: try await client.createIndex(temporary, primaryKey: definition.primaryKey))
            if let settings {
                // Before the documents: changing searchable/filterable attributes re-indexes.
                try await client.wait(for: try await client.updateSettings(temporary, settings: settings))
            }
            lap("prepare")
            let sent = try await streamDocuments(of: definition, into: temporary)
            lap("stream")
            for reference in sent.tasks { try await client.wait(for: reference) }
            let documents = try await client.numberOfDocuments(temporary)
            guard documents == sent.rows else {
                throw RecetteFailure("""
                    index \(uid): the query returned \(sent.rows) rows but the new index holds \(documents) documents: \
                    \(documents < sent.rows ? "the query repeats some '\(definition.primaryKey)' values (make them unique)" : "unexpected extra documents") \
                    — the live index was left as it was
                    """)
            }
            lap("tasks")
            if live == nil {
                // Swapping needs two indexes: the live one starts empty, for an instant only
                // (it did not exist before).
                try await client.wait(for: try await client.createIndex(uid, primaryKey: definition.primaryKey))
            }
            try await client.wait(for: try await client.swapIndexes(uid, temporary))
            lap("swap")
            // The temporary uid now names the previous content.
            do {
                try await client.wait(for: try await client.deleteIndex(temporary))
            } catch {
                logger.warning("index \(uid) is rebuilt, but its previous content under \(temporary) could not be deleted (\(error)); the next rebuild deletes it")
            }
            lap("cleanup")
            return IndexRebuildReport(uid: uid, temporaryUid: temporary, rows: sent.rows, documents: documents, batches: sent.batches,
                                      bytesSent: sent.bytes, phases: phases, seconds: (clock.now - started).seconds, settingsFrom: settingsFrom)
        } catch {
            await removeTemporary(temporary)
            throw error
        }
    }

    /// Best effort, even when the run is being cancelled: the new index must not stay.
    private func removeTemporary(_ temporary: String) async {
        let client = self.client
        let logger = self.logger
        logger.info("removing the unfinished index \(temporary); the live index is as it was")
        await Task.detached {
            do {
                // The batches already queued for it would only delay the deletion (Meilisearch
                // runs tasks in order): cancel them first. A server without task cancelation
                // (before v0.30) makes the deletion wait for them instead.
                do {
                    try await client.wait(for: try await client.cancelUnfinishedTasks(indexUid: temporary))
                } catch {
                    logger.info("could not cancel the tasks queued for \(temporary) (\(error)); deleting it after them")
                }
                // A batch that was on the wire when the run stopped can reach Meilisearch after
                // the deletion, and a document addition creates a missing index: delete until
                // the index is absent with nothing left queued for it.
                for attempt in 1...4 {
                    do {
                        try await client.wait(for: try await client.deleteIndex(temporary))
                    } catch let error as MeilisearchError where error.code == "index_not_found" {
                        // The run stopped before the index was created: nothing to delete.
                    }
                    try await Task.sleep(for: .milliseconds(250 * attempt))
                    let queued = try await client.unfinishedTaskCount(indexUid: temporary)
                    let present = try await client.index(temporary) != nil
                    if queued == 0 && !present {
                        logger.info("removed \(temporary)")
                        return
                    }
                    logger.info("\(temporary) came back (a batch sent before the stop arrived late); deleting it again")
                }
                logger.warning("\(temporary) kept coming back; the next rebuild deletes it")
            } catch {
                logger.warning("could not delete the unfinished index \(temporary) (\(error)); the next rebuild deletes it")
            }
        }.value
    }

    struct Sent {
        var rows: Int
        var batches: Int
        var bytes: Int
        var tasks: [MeilisearchTaskReference]
    }

    /// The COPY runs on a thread of its own and fills batches; this task sends them, one at a
    /// time, while the next one fills. A failure on either side stops the other.
    private func streamDocuments(of definition: SearchIndexDefinition, into index: String) async throws -> Sent {
        let connection = try PostgresConnection(url: databaseConnectionString)
        let channel = DocumentBatchChannel(capacity: 1)
        let limit = BatchSizeLimit(bytes: batchBytes)
        let countSQL = "SELECT count(*) FROM (\(definition.subquery)) AS recette_documents"
        // CSV with a quote and a delimiter JSON never contains raw: the JSON text comes out
        // unescaped, one document per line (text format would double every backslash).
        let copySQL = """
            COPY (SELECT row_to_json(recette_documents) FROM (\(definition.subquery)) AS recette_documents) \
            TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')
            """
        let logger = self.logger
        let uid = definition.uid
        let producer = Task {
            try await connection.onOwnThread { connection -> (count: Int, copied: Int) in
                do {
                    // One snapshot for the count and the rows.
                    try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    let count = Int(try connection.query(countSQL).column("count").first.flatMap { $0 } ?? "0") ?? 0
                    let batcher = NDJSONBatcher(limit: limit) { try channel.put($0) }
                    let copied = try connection.copyOut(copySQL) { row in try batcher.append(row: row) }
                    try batcher.flush()
                    try connection.execute("COMMIT")
                    channel.finish()
                    return (count, copied)
                } catch {
                    channel.finish(throwing: error)
                    throw error
                }
            }
        }
        var sent = Sent(rows: 0, batches: 0, bytes: 0, tasks: [])
        var unchecked: [MeilisearchTaskReference] = []
        do {
            for try await batch in channel.batches {
                let references = try await send(batch, to: index, primaryKey: definition.primaryKey, limit: limit)
                channel.release()
                sent.rows += batch.documents
                sent.batches += references.count
                sent.bytes += batch.body.count
                sent.tasks += references
                unchecked += references
                logger.debug("\(uid): \(sent.rows) documents sent in \(sent.batches) batches")
                // A task that already failed stops the run now rather than at the end.
                while let first = unchecked.first {
                    let task = try await client.task(first.taskUid)
                    guard task.isFinished else { break }
                    if task.status != "succeeded" { try await client.wait(for: first) }
                    unchecked.removeFirst()
                }
            }
        } catch {
            channel.abandon(error)
            _ = await producer.result
            throw error
        }
        let (count, copied) = try await producer.value
        guard copied == sent.rows, count == copied else {
            throw RecetteFailure("index \(uid): the query counted \(count) rows but \(copied) came out of COPY and \(sent.rows) were sent; the live index was left as it was")
        }
        return sent
    }

    /// Sends one batch; on 413 halves it (and every later batch) and sends both halves.
    private func send(_ batch: DocumentBatchChannel.Batch, to index: String, primaryKey: String, limit: BatchSizeLimit, depth: Int = 0) async throws -> [MeilisearchTaskReference] {
        do {
            return [try await client.addDocuments(index, ndjson: batch.body, primaryKey: primaryKey, gzip: gzip)]
        } catch let error as MeilisearchError where error.code == "payload_too_large" {
            guard depth < 24, let (first, second) = NDJSONBatcher.halves(of: batch) else {
                throw RecetteFailure("a single document (\(batch.body.count) bytes) is larger than Meilisearch's payload limit: raise the server's --http-payload-size-limit or make the document smaller in the query")
            }
            limit.lower(to: batch.body.count / 2)
            logger.info("Meilisearch refused a \(batch.body.count)-byte batch as too large; sending halves, batches now at most \(limit.current) bytes")
            return try await send(first, to: index, primaryKey: primaryKey, limit: limit, depth: depth + 1)
                + send(second, to: index, primaryKey: primaryKey, limit: limit, depth: depth + 1)
        }
    }
}
