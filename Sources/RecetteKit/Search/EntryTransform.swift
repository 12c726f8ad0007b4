import Foundation
import Synchronization
import RecetteWorld

/// What every index's `transform` needs from the world: how to start it and how long it may
/// stay silent.
public struct TransformSetup: Sendable {
    public var runner: any ProcessRunning
    /// The transform's working directory; relative program paths start here too.
    public var projectDirectory: URL
    /// Where a bare program name is looked up: the base environment's PATH.
    public var searchPath: String
    /// RECETTE_TRANSFORM_TIMEOUT: the longest silence while the transform owes a line.
    public var timeout: Duration

    public init(runner: any ProcessRunning, projectDirectory: URL, searchPath: String, timeout: Duration) {
        self.runner = runner
        self.projectDirectory = projectDirectory
        self.searchPath = searchPath
        self.timeout = timeout
    }

    public init(context: RecetteContext) throws {
        let seconds = try context.configuration.number(.transformTimeout)
        self.init(runner: context.runner, projectDirectory: context.projectDirectory,
                  searchPath: context.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", timeout: .milliseconds(Int64(seconds * 1000)))
    }

    /// The command for `argv`, its program found (checked before the rebuild touches
    /// Meilisearch: a typo must not cost a temporary index).
    func command(_ argv: [String], uid: String) throws -> Command {
        let program = argv[0]
        let manager = FileManager.default
        let path: String?
        if program.contains("/") {
            let url = program.hasPrefix("/") ? URL(fileURLWithPath: program) : projectDirectory.appendingPathComponent(program)
            path = manager.isExecutableFile(atPath: url.path) ? url.path : nil
        } else {
            path = searchPath.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent(program).path }
                .first { manager.isExecutableFile(atPath: $0) }
        }
        guard let path else {
            throw RecetteFailure("""
                index \(uid): its transform's program '\(program)' is not \(program.contains("/") ? "an executable file (from \(projectDirectory.path))" : "on PATH"): \
                install it, or fix search.indexes[].transform in recette.yml
                """)
        }
        // Nothing added to the environment: the transform gets recette's base environment,
        // never a secret recette read from .env.
        return Command(path, Array(argv.dropFirst()), workingDirectory: projectDirectory.path)
    }
}

/// An index's `transform` run over the rows of its query: started once, the entries written
/// to its standard input as NDJSON in the query's order while its standard output is read,
/// one JSON value per line in the same order (`null` drops the entry). Nothing collects the
/// entries: the rows wait in the pipe and in a few bounded buffers, and at most
/// `maximumEntriesAhead` entries are ahead of the transform's output.
///
/// With the primary key `_meilisearch_id`, as the plugin does it after `transformEntry`, the
/// field is taken off each entry before the transform sees it and set on its document (line
/// i ↔ entry i); with another primary key, every document must carry it.
struct EntryTransform: Sendable {
    var setup: TransformSetup
    var command: Command
    var uid: String
    var primaryKey: String
    var maximumEntriesAhead = 100_000
    /// The size of a write to the transform's standard input.
    var inputChunkBytes = 256 << 10
    /// A read of the transform's output below this is followed by a pause of 1 ms.
    static let smallRead = 16 << 10

    private enum TaskEnd: Sendable {
        case rows((count: Int, copied: Int))
        case rowsStopped
        case process
        case watch
    }

    struct Counts {
        var count: Int
        var copied: Int
        var documents: Int
        var dropped: Int
        /// The primary keys of the dropped entries (decoded JSON values), in order, and how many
        /// dropped entries had none to read.
        var droppedIDs: [String]
        var unidentifiedDrops: Int
    }

    /// Streams the rows of `copySQL` through the transform into `batcher`.
    func run(rows: any SearchRowSource, countSQL: String, copySQL: String, into batcher: NDJSONBatcher) async throws -> Counts {
        // A transform that dies while it is written to must be an error, not recette's death.
        InterruptHandler.ignoreBrokenPipes()
        let input = DocumentBatchChannel(capacity: 2)
        let pending = PendingEntries(capacity: maximumEntriesAhead)
        let progress = TransformProgress()
        let stripped = primaryKey == PendingEntries.pluginKey ? Array(primaryKey.utf8) : nil
        let feed = TransformFeed(key: Array(primaryKey.utf8), stripsKey: stripped != nil, uid: uid, pending: pending, chunkBytes: inputChunkBytes) { try input.put($0) }
        let output = TransformOutput(uid: uid, primaryKey: primaryKey, setsPluginKey: stripped != nil, pending: pending, batcher: batcher)
        let errors = LineTail(capacity: 10)
        let stop: @Sendable (any Error) -> Void = { error in
            input.abandon(error)
            pending.abandon(error)
        }
        let command = self.command
        let runner = setup.runner
        let timeout = setup.timeout
        let shown = "`\(command.name)\(command.arguments.isEmpty ? "" : " " + command.arguments.joined(separator: " "))`"

        var counts: (count: Int, copied: Int)?
        do {
            try await withThrowingTaskGroup(of: TaskEnd.self) { group in
                group.addTask {
                    do {
                        let result = try await rows.countAndCopy(countSQL: countSQL, copySQL: copySQL) { row in try feed.append(row: row) }
                        try await offCooperativePool { try feed.flush() }
                        input.finish()
                        return .rows(result)
                    } catch is TransformStoppedReading {
                        // The process side knows why (an exit status, a bad line): it says so.
                        input.finish()
                        return .rowsStopped
                    } catch {
                        input.finish(throwing: error)
                        throw error
                    }
                }
                group.addTask {
                    defer { progress.end() }
                    do {
                        // Neither side throws into the runner: it would wait for the child's
                        // standard error to end, and the child lives on. A failure is noted
                        // instead, and the watch turns it into the end of the group, which
                        // stops the child (its process group, SIGTERM then SIGKILL).
                        _ = try await runner.run(command, streamingInput: { write in
                            do {
                                for try await chunk in input.batches {
                                    progress.writing(chunk.documents)
                                    try await write(Array(chunk.body))
                                    input.release()
                                }
                            } catch is StandardInputClosed {
                                stop(TransformStoppedReading())
                            } catch {
                                progress.fail(error)
                            }
                            progress.inputClosed()
                        }, output: .chunks { data in
                            guard !progress.hasFailed else { return }
                            progress.arrived(data)
                            progress.busy(true)
                            defer { progress.busy(false) }
                            do {
                                try await output.feed(data)
                            } catch {
                                progress.fail(error)
                            }
                            // A transform printing line by line while this side keeps up costs
                            // a wake-up of several threads per line (measured: more CPU than the
                            // rest of recette's work); a short pause lets the pipe gather a few
                            // dozen lines for the next read.
                            if data.count < Self.smallRead { try? await Task.sleep(for: .milliseconds(1)) }
                        }, onStandardErrorLine: { errors.append(String($0.prefix(300))) }, acceptedExitStatuses: [0])
                        if let failure = progress.failure { throw failure }
                        try await output.finish()
                    } catch {
                        stop(TransformStoppedReading())
                        throw error
                    }
                    return .process
                }
                group.addTask {
                    try await Self.watch(progress, timeout: timeout)
                    return .watch
                }
                var ended = 0
                for try await end in group {
                    switch end {
                    case .rows(let result): counts = result
                    case .rowsStopped, .process, .watch: break
                    }
                    ended += 1
                    // The rows and the process are done: only the watch is left, asleep.
                    if ended == 2 && progress.isEnded { group.cancelAll() }
                }
            }
        } catch let error as TransformSilence {
            throw RecetteFailure(explain("printed nothing for \(error.seconds) while it owed \(error.owed) line(s) (RECETTE_TRANSFORM_TIMEOUT): it was stopped", shown, errors))
        } catch let error as ProcessError {
            switch error {
            case .failed(_, let status, _):
                throw RecetteFailure(explain("exited with status \(status) after \(progress.printed) line(s)", shown, errors))
            case .killedBySignal(_, let signal, _):
                throw RecetteFailure(explain("was killed by signal \(signal) after \(progress.printed) line(s)", shown, errors))
            default:
                throw RecetteFailure("index \(uid): the transform \(error); the live index was left as it was")
            }
        } catch let error as TransformOutputFailure {
            throw RecetteFailure(explain(error.reason, shown, errors))
        }
        guard let counts else {
            throw RecetteFailure(explain("stopped reading its standard input after \(progress.printed) line(s), and exited with status 0", shown, errors))
        }
        guard output.lines == counts.copied, pending.isEmpty else {
            throw RecetteFailure(explain("printed \(output.lines) line(s) for \(counts.copied) entries: it must print one per entry, in order (null drops one)", shown, errors))
        }
        let dropped = output.droppedIDs
        return Counts(count: counts.count, copied: counts.copied, documents: output.documents, dropped: output.lines - output.documents,
                      droppedIDs: dropped.identified, unidentifiedDrops: dropped.unidentified)
    }

    /// One line: what went wrong, the transform's standard error's last lines, and that the live
    /// index is as it was.
    private func explain(_ what: String, _ shown: String, _ errors: LineTail) -> String {
        let tail = errors.lines.filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        let said = tail.isEmpty ? "it wrote nothing on standard error" : "its standard error ended: " + tail.joined(separator: " | ")
        return "index \(uid): the transform \(shown) \(what) — \(said) — the live index was left as it was"
    }

    /// Throws `TransformSilence` when the transform owes output and has printed nothing for
    /// `timeout`; returns once it has ended. Time spent handing documents on to Meilisearch
    /// does not count: that is recette's wait, not the transform's.
    private static func watch(_ progress: TransformProgress, timeout: Duration) async throws {
        let clock = ContinuousClock()
        let tick = min(timeout / 4, .milliseconds(250))
        while !progress.isEnded {
            do {
                try await Task.sleep(for: tick)
            } catch {
                return
            }
            if let failure = progress.failure { throw failure }
            if let silence = progress.silence(now: clock.now), silence.since >= timeout {
                throw TransformSilence(seconds: String(format: "%.1fs", silence.since.seconds), owed: silence.owed)
            }
        }
    }
}

/// The transform side stopped: recette stops feeding it, and the process side's error says why.
struct TransformStoppedReading: Error {}

struct TransformSilence: Error {
    var seconds: String
    var owed: Int
}

struct TransformOutputFailure: Error {
    var reason: String
}

/// Whether the transform owes output, and since when it printed nothing.
final class TransformProgress: Sendable {
    private struct State {
        var started = 0
        var newlines = 0
        var inputClosed = false
        var busy = false
        var ended = false
        var lastProgress = ContinuousClock.now
        var failure: (any Error)?
    }
    private let state = Mutex(State())

    /// A chunk of `entries` is being written: from now on it owes their lines.
    func writing(_ entries: Int) {
        state.withLock { state in
            if state.started == state.newlines { state.lastProgress = .now }
            state.started += entries
        }
    }

    func inputClosed() {
        state.withLock { state in
            if !state.inputClosed { state.lastProgress = .now }
            state.inputClosed = true
        }
    }

    func arrived(_ data: Data) {
        let newlines = data.withUnsafeBytes { buffer -> Int in
            guard var cursor = buffer.baseAddress else { return 0 }
            var count = 0
            var left = buffer.count
            while left > 0, let found = memchr(cursor, Int32(UInt8(ascii: "\n")), left) {
                count += 1
                let next = UnsafeRawPointer(found) + 1
                left -= cursor.distance(to: next)
                cursor = next
            }
            return count
        }
        state.withLock { state in
            state.newlines += newlines
            state.lastProgress = .now
        }
    }

    func busy(_ busy: Bool) {
        state.withLock { state in
            state.busy = busy
            state.lastProgress = .now
        }
    }

    func end() { state.withLock { $0.ended = true } }

    /// Something went wrong on either side of the transform; the first failure is the one told.
    func fail(_ error: any Error) { state.withLock { if $0.failure == nil { $0.failure = error } } }

    var failure: (any Error)? { state.withLock { $0.failure } }
    var hasFailed: Bool { failure != nil }

    var isEnded: Bool { state.withLock { $0.ended } }

    /// The lines the transform printed so far.
    var printed: Int { state.withLock { $0.newlines } }

    /// How long the transform has been silent while owing lines (or not exiting after its
    /// input ended), and how many it owes; nil when it owes nothing or recette is the one busy.
    func silence(now: ContinuousClock.Instant) -> (since: Duration, owed: Int)? {
        state.withLock { state in
            let owed = max(state.started - state.newlines, 0)
            guard !state.ended, !state.busy, owed > 0 || state.inputClosed else { return nil }
            return (now - state.lastProgress, owed)
        }
    }
}

/// The entries written to the transform and not yet answered, in order, with the
/// `_meilisearch_id` each one had. Bounded: the producer waits for a free slot.
final class PendingEntries: Sendable {
    static let pluginKey = "_meilisearch_id"

    private struct Queue {
        var ids: [[UInt8]?] = []
        var head = 0
    }
    private let queue = Mutex(Queue())
    private let slots: DispatchSemaphore
    private let abandoned = Mutex<(any Error)?>(nil)

    init(capacity: Int) { slots = DispatchSemaphore.withSlots(capacity) }

    /// Producer side (the row source's thread): may block while `capacity` entries wait.
    func push(_ id: [UInt8]?) throws {
        slots.wait()
        if let error = abandoned.withLock({ $0 }) {
            slots.signal()
            throw error
        }
        queue.withLock { $0.ids.append(id) }
    }

    /// The id of the entry the next output line answers; nil when no entry waits.
    func pop() -> [UInt8]?? {
        let id: [UInt8]?? = queue.withLock { queue in
            guard queue.head < queue.ids.count else { return .none }
            let id = queue.ids[queue.head]
            queue.head += 1
            // Compacted now and then, so the array stays as long as the entries ahead.
            if queue.head >= 4096 && queue.head * 2 >= queue.ids.count {
                queue.ids.removeFirst(queue.head)
                queue.head = 0
            }
            return .some(id)
        }
        if id != nil { slots.signal() }
        return id
    }

    var isEmpty: Bool { queue.withLock { $0.head >= $0.ids.count } }

    func abandon(_ error: any Error) {
        abandoned.withLock { if $0 == nil { $0 = error } }
        slots.signal()
    }
}

/// The row source's side: each entry (a row's JSON object) goes to the transform's standard
/// input, without `_meilisearch_id` when the plugin's key is the primary key. Its primary key
/// waits in `pending` for the output line that answers it: set on the document, or noted as
/// dropped. One producer at a time (the row source's reading thread, then the final flush).
final class TransformFeed: Sendable {
    private struct State {
        var chunk = Data()
        var entries = 0
        var rows = 0

        mutating func take(reserving capacity: Int) -> DocumentBatchChannel.Batch? {
            guard entries > 0 else { return nil }
            let batch = DocumentBatchChannel.Batch(body: chunk, documents: entries)
            chunk = Data()
            chunk.reserveCapacity(capacity)
            entries = 0
            return batch
        }
    }

    private let key: [UInt8]
    private let stripsKey: Bool
    private let uid: String
    private let pending: PendingEntries
    private let chunkBytes: Int
    private let emit: @Sendable (DocumentBatchChannel.Batch) throws -> Void
    private let state: Mutex<State>

    init(key: [UInt8], stripsKey: Bool, uid: String, pending: PendingEntries, chunkBytes: Int, emit: @escaping @Sendable (DocumentBatchChannel.Batch) throws -> Void) {
        self.key = key
        self.stripsKey = stripsKey
        self.uid = uid
        self.pending = pending
        self.chunkBytes = chunkBytes
        self.emit = emit
        var initial = State()
        initial.chunk.reserveCapacity(chunkBytes + 4096)
        state = Mutex(initial)
    }

    func append(row: UnsafeRawBufferPointer) throws {
        let number = state.withLock { state in
            state.rows += 1
            return state.rows
        }
        var line = row
        if line.last == UInt8(ascii: "\n") { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        // The line as it goes to the transform: whole, or without the plugin's key.
        var kept = (line, UnsafeRawBufferPointer(start: nil, count: 0))
        let member: JSONLineScanner.Member?
        do throws(JSONLineScanner.Failure) {
            // PostgreSQL's JSON needs no checking; only the key is looked for, and where the
            // query puts it first (as the plugin's ids usually are) nothing else is read.
            if let leading = try JSONLineScanner.leadingMember(of: line, key: key) {
                member = leading
            } else {
                member = try JSONLineScanner.scan(line, findingKey: key).member
            }
        } catch {
            throw RecetteFailure("index \(uid): row \(number) of the query is not a JSON object (\(error.reason)): fix the query in recette.yml")
        }
        if stripsKey {
            guard let member else {
                throw RecetteFailure("index \(uid): row \(number) of the query has no '\(PendingEntries.pluginKey)' (the primary key): add it to the query in recette.yml")
            }
            try pending.push(Array(UnsafeRawBufferPointer(rebasing: line[member.value])))
            kept = (UnsafeRawBufferPointer(rebasing: line[..<member.removal.lowerBound]), UnsafeRawBufferPointer(rebasing: line[member.removal.upperBound...]))
        } else {
            // The document the transform prints carries the key; the entry's own is only for
            // the record of the dropped ones.
            try pending.push(member.map { Array(UnsafeRawBufferPointer(rebasing: line[$0.value])) })
        }
        let chunkBytes = chunkBytes
        let full = state.withLock { state -> DocumentBatchChannel.Batch? in
            state.chunk.append(contentsOf: kept.0)
            state.chunk.append(contentsOf: kept.1)
            state.chunk.append(UInt8(ascii: "\n"))
            state.entries += 1
            return state.chunk.count >= chunkBytes ? state.take(reserving: chunkBytes + 4096) : nil
        }
        if let full { try emit(full) }
    }

    func flush() throws {
        let capacity = chunkBytes + 4096
        if let batch = state.withLock({ $0.take(reserving: capacity) }) { try emit(batch) }
    }
}

/// The transform's side: each line of its standard output checked, `null` dropped, the
/// document completed with `_meilisearch_id` (or checked for its primary key) and batched.
final class TransformOutput: Sendable {
    private let reader: WholeLineReader<TransformLines>

    init(uid: String, primaryKey: String, setsPluginKey: Bool, pending: PendingEntries, batcher: NDJSONBatcher) {
        reader = WholeLineReader(label: "recette.transform-output",
                                 handler: TransformLines(uid: uid, primaryKey: primaryKey, setsPluginKey: setsPluginKey, pending: pending, batcher: batcher))
    }

    var lines: Int { reader.handler.counts.withLock { $0.lines } }
    var documents: Int { reader.handler.counts.withLock { $0.documents } }

    /// The primary keys of the entries answered with `null` (their JSON values decoded), and
    /// how many of them had none.
    var droppedIDs: (identified: [String], unidentified: Int) {
        let (values, unidentified) = reader.handler.dropped.withLock { ($0.ids, $0.unidentified) }
        var ids: [String] = []
        ids.reserveCapacity(values.count)
        var undecoded = 0
        for value in values {
            if let decoded = try? JSONSerialization.jsonObject(with: Data(value), options: [.fragmentsAllowed]), !(decoded is NSNull) {
                ids.append(MeilisearchClient.idText(decoded))
            } else {
                undecoded += 1
            }
        }
        return (ids, unidentified + undecoded)
    }

    func feed(_ chunk: Data) async throws { try await reader.feed(chunk) }

    func finish() async throws {
        try await reader.finish()
        try await reader.onQueue { [batcher = reader.handler.batcher] in try batcher.flush() }
    }
}

/// Each line of the transform's output, on the reader's queue.
final class TransformLines: LineHandler {
    let uid: String
    let primaryKey: String
    let keyBytes: [UInt8]
    let setsPluginKey: Bool
    let pending: PendingEntries
    let batcher: NDJSONBatcher
    /// Read once the output has ended.
    let counts = Mutex<(lines: Int, documents: Int)>((0, 0))
    /// The primary keys (JSON values) of the entries answered with `null`, and how many of
    /// those had none; read once the output has ended.
    let dropped = Mutex<(ids: [[UInt8]], unidentified: Int)>(([], 0))
    /// The document being completed, its buffer kept from line to line.
    private let document = Mutex<[UInt8]>([])

    init(uid: String, primaryKey: String, setsPluginKey: Bool, pending: PendingEntries, batcher: NDJSONBatcher) {
        self.uid = uid
        self.primaryKey = primaryKey
        keyBytes = Array(primaryKey.utf8)
        self.setsPluginKey = setsPluginKey
        self.pending = pending
        self.batcher = batcher
    }

    func handle(_ line: UnsafeRawBufferPointer) throws {
        let lineCount = counts.withLock { counts in
            counts.lines += 1
            return counts.lines
        }
        let text = UnsafeRawBufferPointer(rebasing: line.dropLast())
        guard let id = pending.pop() else {
            throw TransformOutputFailure(reason: "printed more lines than the entries it was given (line \(lineCount): \(TransformOutput.shown(text)))")
        }
        let scan: JSONLineScanner.Scan
        do {
            scan = try JSONLineScanner.scan(text, findingKey: keyBytes)
        } catch {
            throw TransformOutputFailure(reason: "printed a line that is not JSON (line \(lineCount), \(error.reason)): \(TransformOutput.shown(text))")
        }
        switch scan.kind {
        case .null:
            dropped.withLock { dropped in
                if let id { dropped.ids.append(id) } else { dropped.unidentified += 1 }
            }
            return
        case .other(let kind):
            throw TransformOutputFailure(reason: "printed \(kind) on line \(lineCount), not a document (an object) or null: \(TransformOutput.shown(text))")
        case .object:
            break
        }
        if setsPluginKey, let id {
            // The plugin's own order: the key set after the transform, whatever it returned.
            try document.withLock { document in
                document.removeAll(keepingCapacity: true)
                document.append(contentsOf: "{\"\(PendingEntries.pluginKey)\":".utf8)
                document.append(contentsOf: id)
                var rest = Array(UnsafeRawBufferPointer(rebasing: text[(scan.objectStart + 1)...]))
                if let member = scan.member {
                    let cut = (member.removal.lowerBound - scan.objectStart - 1)..<(member.removal.upperBound - scan.objectStart - 1)
                    rest.removeSubrange(cut)
                }
                if scan.otherMembers { document.append(UInt8(ascii: ",")) }
                document.append(contentsOf: rest)
                document.append(UInt8(ascii: "\n"))
                try document.withUnsafeBytes { try batcher.append(row: $0) }
            }
        } else {
            guard scan.member != nil else {
                throw TransformOutputFailure(reason: "printed a document without '\(primaryKey)', the index's primary key (line \(lineCount)): \(TransformOutput.shown(text))")
            }
            try batcher.append(row: line)
        }
        counts.withLock { $0.documents += 1 }
    }
}

extension TransformOutput {
    /// A line as an error shows it: its first 80 characters.
    static func shown(_ text: UnsafeRawBufferPointer) -> String {
        let string = String(decoding: text.prefix(320), as: UTF8.self)
        return string.count > 80 ? String(string.prefix(80)) + "…" : string
    }
}
