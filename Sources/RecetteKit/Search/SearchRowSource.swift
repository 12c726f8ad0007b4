import Foundation
import Synchronization
import RecetteWorld

/// Where the search commands read the database's rows (documents, counts, ids): a libpq
/// connection to a reachable server, or `psql` run inside a compose db service that publishes
/// no port.
public protocol SearchRowSource: Sendable {
    /// For messages: where the rows come from, never a password.
    var display: String { get }

    /// The rows of one query (a SELECT, no trailing semicolon), as text; NULL is nil.
    func query(_ sql: String) async throws -> QueryResult

    /// In one read-only snapshot: the count that `countSQL` returns, then each row of
    /// `copySQL` (a `COPY … TO STDOUT`) handed to `row` whole, with its newline. `row` runs on
    /// a thread of its own and may block there: that is how a slow reader holds the rows back.
    /// Returns the count and the number of rows copied.
    func countAndCopy(countSQL: String, copySQL: String,
                      row: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) async throws -> (count: Int, copied: Int)
}

extension SearchRowSource {
    /// The single integer of a `SELECT count(*) …`.
    func count(_ sql: String) async throws -> Int {
        Int(try await query(sql).scalar ?? "0") ?? 0
    }
}

/// Rows through libpq: the target's server is reachable from this machine.
public struct LibpqRowSource: SearchRowSource {
    /// A libpq connection string; it may hold a password: never printed.
    public var connectionString: String
    public var display: String

    public init(connectionString: String, display: String) {
        self.connectionString = connectionString
        self.display = display
    }

    public func query(_ sql: String) async throws -> QueryResult {
        let connection = try PostgresConnection(url: connectionString)
        return try await connection.onOwnThread { try $0.query(sql) }
    }

    public func countAndCopy(countSQL: String, copySQL: String,
                             row: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) async throws -> (count: Int, copied: Int) {
        let connection = try PostgresConnection(url: connectionString)
        return try await connection.onOwnThread { connection in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            // A document query's planned cost (a join per populated attribute) passes
            // jit_above_cost, and compiling it took 2.6 s of a 100,000-entry read: more than it saves.
            try connection.execute("SET LOCAL jit = off")
            let count = Int(try connection.query(countSQL).scalar ?? "0") ?? 0
            let copied = try connection.copyOut(copySQL) { try row($0) }
            try connection.execute("COMMIT")
            return (count, copied)
        }
    }
}

/// What `WholeLineReader` hands each whole line to, on the reader's serial queue, where it
/// may block (a full batch channel holds the child back through its pipe).
protocol LineHandler: Sendable {
    /// One whole line, with its newline.
    func handle(_ line: UnsafeRawBufferPointer) throws
}

/// Cuts a child's output into whole lines (however long: a document may exceed any buffer)
/// and hands them to `handler` on a serial queue of its own.
final class WholeLineReader<Handler: LineHandler>: Sendable {
    let handler: Handler
    private let queue: DispatchQueue
    /// Chunks gathered by `feed` (called one at a time) until there is enough to hand to the
    /// queue: a hop per 64 KiB pipe read would cost more than the splitting.
    private let gathered = Mutex(Data())
    static var handOverBytes: Int { 1 << 20 }
    /// The bytes after the last whole line; used on `queue` only.
    private let pending = Mutex(Data())

    init(label: String, handler: Handler) {
        queue = DispatchQueue(label: label)
        self.handler = handler
    }

    func feed(_ chunk: Data) async throws {
        let ready = gathered.withLock { gathered -> Data? in
            gathered.append(chunk)
            guard gathered.count >= Self.handOverBytes else { return nil }
            defer { gathered = Data() }
            return gathered
        }
        if let ready { try await handOver(ready, last: false) }
    }

    /// The output ended: a last line without its newline is handed over with one.
    func finish() async throws {
        try await handOver(gathered.withLock { gathered in defer { gathered = Data() }; return gathered }, last: true)
    }

    /// Runs `work` on the queue, after every line handed over so far.
    func onQueue<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await offCooperativePool(queue, work)
    }

    private func handOver(_ bytes: Data, last: Bool) async throws {
        try await offCooperativePool(queue) { [self] in
            try pending.withLock { pending in
                pending.append(bytes)
                if last && !pending.isEmpty && pending.last != UInt8(ascii: "\n") { pending.append(UInt8(ascii: "\n")) }
                try emitWholeLines(of: &pending)
            }
        }
    }

    private func emitWholeLines(of pending: inout Data) throws {
        let consumed = try pending.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Int in
            guard let base = buffer.baseAddress else { return 0 }
            var start = 0
            while start < buffer.count, let found = memchr(base + start, Int32(UInt8(ascii: "\n")), buffer.count - start) {
                let end = base.distance(to: UnsafeRawPointer(found)) + 1
                try handler.handle(UnsafeRawBufferPointer(rebasing: buffer[start..<end]))
                start = end
            }
            return start
        }
        pending.removeSubrange(pending.startIndex..<(pending.startIndex + consumed))
    }
}

/// psql's output in whole lines: the first is the count, each other one a row.
final class CopyLines: LineHandler {
    private let row: @Sendable (UnsafeRawBufferPointer) throws -> Void
    private let counts = Mutex<(count: Int?, copied: Int)>((nil, 0))

    init(row: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) {
        self.row = row
    }

    func result() throws -> (count: Int, copied: Int) {
        let (count, copied) = counts.withLock { $0 }
        guard let count else { throw RecetteFailure("psql printed no row count: the query did not run") }
        return (count, copied)
    }

    func handle(_ line: UnsafeRawBufferPointer) throws {
        if counts.withLock({ $0.count }) == nil {
            let text = String(decoding: line.dropLast(), as: UTF8.self)
            guard let value = Int(text) else {
                throw RecetteFailure("psql printed '\(text.prefix(80))' where the row count was expected")
            }
            counts.withLock { $0.count = value }
        } else {
            try row(line)
            counts.withLock { $0.copied += 1 }
        }
    }
}

typealias CopyLineReader = WholeLineReader<CopyLines>

/// Runs blocking work (a full batch channel's `put`) on a dispatch queue rather than on a
/// thread of Swift's cooperative pool, which blocking work can starve.
func offCooperativePool<T: Sendable>(_ queue: DispatchQueue = .global(), _ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        queue.async {
            do {
                continuation.resume(returning: try work())
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// PostgreSQL's `COPY … WITH (FORMAT csv, HEADER true)` output as a `QueryResult`: quoted
/// fields may hold commas, quotes (doubled) and newlines; an unquoted empty field is NULL, a
/// quoted one the empty string.
enum PostgresCSV {
    static func parse(_ data: Data) throws -> QueryResult {
        var records: [[String?]] = []
        var record: [String?] = []
        var field: [UInt8] = []
        var quoted = false
        var inQuotes = false
        var index = data.startIndex
        func endField() {
            record.append(field.isEmpty && !quoted ? nil : String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quoted = false
        }
        while index < data.endIndex {
            let byte = data[index]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    let next = data.index(after: index)
                    if next < data.endIndex && data[next] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index = next
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == UInt8(ascii: "\"") {
                inQuotes = true
                quoted = true
            } else if byte == UInt8(ascii: ",") {
                endField()
            } else if byte == UInt8(ascii: "\n") {
                endField()
                records.append(record)
                record = []
            } else if byte != UInt8(ascii: "\r") {
                field.append(byte)
            }
            index = data.index(after: index)
        }
        guard !inQuotes else { throw RecetteFailure("psql's CSV output ends inside a quoted field: it was cut") }
        if !field.isEmpty || quoted || !record.isEmpty {
            endField()
            records.append(record)
        }
        guard let header = records.first else { throw RecetteFailure("psql printed no CSV header: the query did not run") }
        return QueryResult(columns: header.map { $0 ?? "" }, rows: Array(records.dropFirst()), affectedRows: records.count - 1)
    }
}
