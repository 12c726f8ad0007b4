import Foundation
import Logging
import RecetteWorld

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
    /// The entries the index's transform dropped (printed `null` for); nil: no transform.
    public var transformDropped: Int?

    public var documentsPerSecond: Double { seconds > 0 ? Double(rows) / seconds : 0 }
}

/// How much of the live index a rebuild would lose.
public struct IndexShrink: Sendable, Equatable {
    public var live: Int
    public var rebuilt: Int

    /// The share of the live index's documents the rebuilt one lacks (0 when it grows).
    public var lost: Double { live > 0 ? Double(max(live - rebuilt, 0)) / Double(live) : 0 }
    public var percentLost: Int { Self.percent(lost) }

    /// Losing exactly the allowed share is allowed.
    public func exceeds(_ allowed: Double) -> Bool { lost > allowed }

    static func percent(_ share: Double) -> Int { Int((share * 100).rounded()) }

    /// Why `search verify --fix` must not delete the index's extra documents without
    /// `--allow-shrink` (a query that now returns nothing would empty the index), or nil.
    public static func fixRefusal(_ drift: IndexDrift, allowed: Double) -> String? {
        let shrink = IndexShrink(live: drift.indexDocuments, rebuilt: drift.indexDocuments - drift.extra.count)
        guard shrink.exceeds(allowed) else { return nil }
        return """
            index \(drift.uid): --fix would delete \(drift.extra.count) of its \(drift.indexDocuments) documents \
            (\(shrink.percentLost)%; RECETTE_SEARCH_MAX_SHRINK allows \(percent(allowed))%): check the query in recette.yml, \
            or pass --allow-shrink to delete them anyway — the index was left as it was
            """
    }
}

/// `recette reindex --via direct`: per index, the configured SQL's rows are streamed out of
/// PostgreSQL as JSON (COPY … TO STDOUT, one document per row) and sent in byte-bounded
/// NDJSON batches into a fresh index `<uid>_<timestamp>_<owner>` that already has the live
/// index's settings. Only when every task succeeded, the new index holds exactly the query's
/// row count and it is not much smaller than the live one is it swapped with the live index
/// (one atomic task), and the old content deleted. On any failure the live index is untouched
/// and the new one is removed.
public struct DirectReindexer: Sendable {
    public var client: MeilisearchClient
    /// The database the documents come from.
    public var rows: any SearchRowSource
    public var batchBytes: Int
    public var gzip: Bool
    /// Who owns which temporary index (see `TemporaryIndexClaims`).
    public var claims: TemporaryIndexClaims
    /// The largest share of the live index's documents a rebuild may lose without `allowShrink`.
    public var maxShrink: Double
    public var allowShrink: Bool
    /// How long each wait of the clean-up after a failure may take: the clean-up must end,
    /// with a line saying what it gave up on, even when Meilisearch's queue is stuck.
    public var cleanupDeadline: Duration
    public var logger: Logger
    public var now: @Sendable () -> Date
    /// How the indexes' `transform` commands run; nil: an index with one cannot be rebuilt.
    public var transforms: TransformSetup?

    public init(client: MeilisearchClient, rows: any SearchRowSource, batchBytes: Int = 16 << 20, gzip: Bool = false,
                claims: TemporaryIndexClaims, maxShrink: Double = 0.5, allowShrink: Bool = false, cleanupDeadline: Duration = .seconds(10),
                transforms: TransformSetup? = nil, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.rows = rows
        self.batchBytes = batchBytes
        self.gzip = gzip
        self.claims = claims
        self.maxShrink = maxShrink
        self.allowShrink = allowShrink
        self.cleanupDeadline = cleanupDeadline
        self.transforms = transforms
        self.logger = logger
        self.now = now
    }

    public func rebuild(_ definitions: [SearchIndexDefinition]) async throws -> [IndexRebuildReport] {
        // Every transform's program is found before the first index is touched.
        for definition in definitions { _ = try transform(of: definition) }
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
        let transform = try transform(of: definition)
        let name = claims.newName(for: uid, at: now())
        let temporary = name.description
        // Claimed before the index exists: from its first instant, a run of this checkout that
        // finds it sees that it is being built.
        let claim = try claims.claim(name, command: "recette reindex \(uid)")
        defer { claim.release() }

        // Prepare: leftovers of an interrupted run go; the live index's settings are read.
        let existing = try await client.indexes()
        try await removeLeftovers(of: uid, among: existing.map(\.uid), except: temporary)
        let live = existing.first { $0.uid == uid }
        let settings: Data?
        let settingsFrom: String
        if let configured = definition.settingsJSON {
            settings = configured
            settingsFrom = definition.settingsOrigin
        } else if live != nil {
            settings = try await client.settings(uid)
            settingsFrom = "live index"
        } else {
            settings = nil
            settingsFrom = "Meilisearch defaults"
        }

        // Set once this run made the live index itself (a first build): a failure before the
        // swap took must remove it too, since it did not exist before.
        var createdLive = false
        var swapped = false
        do {
            // Inside the do: an interrupted or failed creation is cleaned up like the rest.
            try await client.wait(for: try await client.createIndex(temporary, primaryKey: definition.primaryKey))
            if let settings {
                // Before the documents: changing searchable/filterable attributes re-indexes.
                try await client.wait(for: try await client.updateSettings(temporary, settings: settings))
            }
            lap("prepare")
            let sent = try await streamDocuments(of: definition, into: temporary, through: transform)
            lap("stream")
            for reference in sent.tasks { try await client.wait(for: reference) }
            let documents = try await client.numberOfDocuments(temporary)
            guard documents == sent.rows else {
                throw RecetteFailure(try await explainMismatch(definition, temporary: temporary, rows: sent.rows, documents: documents))
            }
            lap("tasks")
            var liveExists = live != nil
            if !liveExists {
                // Swapping needs two indexes: the live one starts empty, for an instant only
                // (it did not exist before).
                do {
                    try await client.wait(for: try await client.createIndex(uid, primaryKey: definition.primaryKey))
                    createdLive = true
                } catch let error as MeilisearchError where error.code == "index_already_exists" {
                    // Someone else (another checkout's first build) made it meanwhile: it is
                    // someone's live index now, and guarded like one.
                    liveExists = true
                }
            }
            if liveExists {
                // Counted now, not at the start: the live index may have changed meanwhile.
                let liveDocuments = try await client.numberOfDocuments(uid)
                let shrink = IndexShrink(live: liveDocuments, rebuilt: documents)
                if shrink.exceeds(maxShrink) {
                    guard allowShrink else {
                        throw RecetteFailure("""
                            index \(uid): the rebuilt index holds \(documents) documents, the live one \(liveDocuments) \
                            (\(shrink.percentLost)% fewer; RECETTE_SEARCH_MAX_SHRINK allows \(IndexShrink.percent(maxShrink))%): check the query \
                            in recette.yml, or pass --allow-shrink to replace it anyway — the live index was left as it was
                            """)
                    }
                    logger.warning("index \(uid): replacing \(liveDocuments) documents with \(documents) (\(shrink.percentLost)% fewer), as --allow-shrink asks")
                }
            }
            try await client.wait(for: try await client.swapIndexes(uid, temporary))
            swapped = true
            lap("swap")
            // The temporary uid now names the previous content.
            do {
                try await client.wait(for: try await client.deleteIndex(temporary))
            } catch {
                logger.warning("index \(uid) is rebuilt, but its previous content under \(temporary) could not be deleted (\(error)); the next rebuild deletes it")
            }
            lap("cleanup")
            recordDrops(of: definition, sent: sent, transform: transform)
            return IndexRebuildReport(uid: uid, temporaryUid: temporary, rows: sent.rows, documents: documents, batches: sent.batches,
                                      bytesSent: sent.bytes, phases: phases, seconds: (clock.now - started).seconds, settingsFrom: settingsFrom,
                                      transformDropped: transform == nil ? nil : sent.dropped)
        } catch {
            await removeUnfinished(temporary, createdLive: createdLive && !swapped ? uid : nil)
            throw error
        }
    }

    /// What the transform dropped, for `search status`, `search verify` and populate's check;
    /// a rebuild without a transform removes the record of an earlier one. The index is
    /// rebuilt either way: a record that cannot be written is a warning.
    private func recordDrops(of definition: SearchIndexDefinition, sent: Sent, transform: EntryTransform?) {
        let records = TransformDropRecords(searchDirectory: claims.directory)
        guard transform != nil else {
            records.remove(uid: definition.uid, meilisearch: client.baseURL)
            return
        }
        let drops = TransformDrops(uid: definition.uid, meilisearch: client.server, rebuiltAt: now(), rows: sent.rows + sent.dropped,
                                   documents: sent.rows, ids: sent.droppedIDs, unidentified: sent.unidentifiedDrops)
        do {
            try records.record(drops, meilisearch: client.baseURL)
        } catch {
            logger.warning("index \(definition.uid) is rebuilt, but the record of the \(drops.count) entries its transform dropped could not be written (\(error)): search status will count them as missing")
        }
    }

    /// The index's transform, its program found; nil when it has none.
    private func transform(of definition: SearchIndexDefinition) throws -> EntryTransform? {
        guard let argv = definition.transform else { return nil }
        guard let transforms else {
            throw RecetteFailure("index \(definition.uid) has a transform, and this command cannot run it: use 'recette reindex'")
        }
        return EntryTransform(setup: transforms, command: try transforms.command(argv, uid: definition.uid), uid: definition.uid,
                              primaryKey: definition.primaryKey)
    }

    /// Deletes the temporary indexes of `uid` whose owner is provably gone; reports the others.
    private func removeLeftovers(of uid: String, among uids: [String], except current: String) async throws {
        for candidate in uids where candidate != current {
            guard let name = TemporaryIndexName(parsing: candidate, of: uid) else { continue }
            switch try claims.standing(of: name) {
            case .abandoned(let claim):
                defer { claim.release() }
                logger.info("deleting \(candidate), left behind by an interrupted rebuild of this checkout")
                do {
                    try await client.wait(for: try await client.deleteIndex(candidate))
                } catch let error as MeilisearchError where error.code == "index_not_found" {
                    // Gone meanwhile (deleted by hand): what was wanted.
                }
            case .building(let holder):
                logger.info("leaving \(candidate) alone: \(holder.map(\.summary) ?? "another process") is building it")
            case .foreign:
                logger.warning("""
                    leaving \(candidate) alone: another checkout or machine (or an older recette) made it, and recette cannot tell \
                    whether that rebuild still runs; once it is over, delete it (DELETE /indexes/\(candidate))
                    """)
            }
        }
    }

    /// Best effort, even when the run is being cancelled: the new index must not stay, nor a
    /// live index this run created for a first build (`createdLive`), which did not exist
    /// before. Every wait here is bounded by `cleanupDeadline` and ends with a line.
    private func removeUnfinished(_ temporary: String, createdLive: String?) async {
        var client = self.client
        client.waitPolicy.deadline = min(client.waitPolicy.deadline, cleanupDeadline)
        let logger = self.logger
        logger.info("removing the unfinished index \(temporary); the live index is as it was")
        await Task.detached { [client] in
            if let createdLive {
                do {
                    try await client.wait(for: try await client.deleteIndex(createdLive))
                    logger.info("removed \(createdLive), created empty by this first build")
                } catch let error as MeilisearchError where error.code == "index_not_found" {
                } catch {
                    logger.warning("could not delete \(createdLive), created empty by this first build (\(error)); delete it (DELETE /indexes/\(createdLive))")
                }
            }
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
                        // A batch the server has received but not yet queued shows only later
                        // (seen under CI load): absent twice, a second apart.
                        try await Task.sleep(for: .seconds(1))
                        if try await client.unfinishedTaskCount(indexUid: temporary) == 0, try await client.index(temporary) == nil {
                            logger.info("removed \(temporary)")
                            return
                        }
                    }
                    logger.info("\(temporary) came back (a batch sent before the stop arrived late); deleting it again")
                }
                logger.warning("\(temporary) kept coming back; the next rebuild of this checkout deletes it")
            } catch {
                logger.warning("could not delete the unfinished index \(temporary) (\(error)); the next rebuild of this checkout deletes it")
            }
        }.value
    }

    /// Why the new index does not hold one document per row, from the id sets themselves: ids
    /// the query repeats, ids of the query missing from the index, ids in the index that are
    /// not the query's. Read after the fact (the database may have changed since the snapshot).
    private func explainMismatch(_ definition: SearchIndexDefinition, temporary: String, rows: Int, documents: Int) async throws -> String {
        var built = definition
        built.uid = temporary
        let drift = try await SearchDrift(client: client, rows: self.rows, logger: logger).verify(built)
        let duplicatesSQL = """
            SELECT id, count(*) - 1 AS repeats
            FROM (SELECT row_to_json(q)->>\(PostgresConnection.quoteLiteral(definition.primaryKey)) AS id FROM (\(definition.subquery)) AS q) AS d
            GROUP BY id HAVING count(*) > 1 ORDER BY id
            """
        let result = try await self.rows.query(duplicatesSQL)
        let duplicates = zip(result.column("id"), result.column("repeats")).map { (id: $0 ?? "NULL", repeats: Int($1 ?? "") ?? 0) }
        func some(_ ids: [String]) -> String {
            ids.prefix(3).joined(separator: ", ") + (ids.count > 3 ? ", …" : "")
        }
        var causes: [String] = []
        if !duplicates.isEmpty {
            causes.append("the query repeats \(duplicates.reduce(0) { $0 + $1.repeats }) '\(definition.primaryKey)' value(s) (\(some(duplicates.map(\.id)))): make them unique")
        }
        if !drift.missing.isEmpty {
            causes.append("\(drift.missing.count) of the query's documents never arrived (\(some(drift.missing))): Meilisearch reported success for batches it did not keep, or another client deleted them; run again")
        }
        if !drift.extra.isEmpty {
            causes.append("\(drift.extra.count) document(s) are not the query's (\(some(drift.extra))): another client wrote into \(temporary)")
        }
        if causes.isEmpty {
            causes.append("the ids now match: the database changed during the rebuild; run again")
        }
        return "index \(definition.uid): the query returned \(rows) rows but the new index holds \(documents) documents: "
            + causes.joined(separator: "; ") + " — the live index was left as it was"
    }

    struct Sent {
        var rows: Int
        var batches: Int
        var bytes: Int
        var tasks: [MeilisearchTaskReference]
        /// Entries the transform dropped, and their primary keys.
        var dropped = 0
        var droppedIDs: [String] = []
        var unidentifiedDrops = 0
    }

    /// The COPY runs on a thread of its own and fills batches (through the transform, when the
    /// index has one); this task sends them, one at a time, while the next one fills. A failure
    /// on either side stops the other.
    private func streamDocuments(of definition: SearchIndexDefinition, into index: String, through transform: EntryTransform?) async throws -> Sent {
        let channel = DocumentBatchChannel(capacity: 1)
        let limit = BatchSizeLimit(bytes: batchBytes)
        let countSQL = definition.documentCountSQL
        let copySQL = definition.documentCopySQL
        let logger = self.logger
        let uid = definition.uid
        let rows = self.rows
        let producer = Task {
            do {
                // The row callback runs on the source's own thread: `put` may block there.
                let batcher = NDJSONBatcher(limit: limit) { try channel.put($0) }
                if let transform {
                    let counts = try await transform.run(rows: rows, countSQL: countSQL, copySQL: copySQL, into: batcher)
                    channel.finish()
                    return (count: counts.count, copied: counts.copied, documents: counts.documents,
                            drops: (ids: counts.droppedIDs, unidentified: counts.unidentifiedDrops))
                }
                let (count, copied) = try await rows.countAndCopy(countSQL: countSQL, copySQL: copySQL) { row in try batcher.append(row: row) }
                try await offCooperativePool { try batcher.flush() }
                channel.finish()
                return (count: count, copied: copied, documents: copied, drops: (ids: [String](), unidentified: 0))
            } catch {
                channel.finish(throwing: error)
                throw error
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
            // A transform may be waiting for nothing the channel can stop (a silent one):
            // the producer's cancellation stops it.
            if transform != nil { producer.cancel() }
            _ = await producer.result
            throw error
        }
        // Interrupted, the loop above just ends; a transform may then be waiting for nothing
        // the channel can stop (a silent one): the producer's cancellation stops it.
        let (count, copied, documents, drops) = try await withTaskCancellationHandler {
            try await producer.value
        } onCancel: {
            if transform != nil { producer.cancel() }
        }
        guard documents == sent.rows, count == copied else {
            throw RecetteFailure("index \(uid): the query counted \(count) rows but \(copied) came out of COPY and \(sent.rows) documents were sent; the live index was left as it was")
        }
        // What the index must hold: the documents the transform printed, not the rows.
        sent.dropped = copied - documents
        (sent.droppedIDs, sent.unidentifiedDrops) = drops
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
