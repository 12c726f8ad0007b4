import Foundation
import Synchronization
import RecetteWorld

/// Hands NDJSON batches from a producer thread (a COPY out of PostgreSQL) to an async
/// consumer (the HTTP sender), holding at most `capacity` finished batches in between: when
/// the sender is slower, the producer thread waits, and memory stays flat.
final class DocumentBatchChannel: Sendable {
    struct Batch: Sendable {
        var body: Data
        var documents: Int
    }

    let batches: AsyncThrowingStream<Batch, any Error>
    private let continuation: AsyncThrowingStream<Batch, any Error>.Continuation
    private let slots: DispatchSemaphore
    private let abandoned = Mutex<(any Error)?>(nil)

    init(capacity: Int = 1) {
        (batches, continuation) = AsyncThrowingStream.makeStream(of: Batch.self, bufferingPolicy: .unbounded)
        slots = DispatchSemaphore.withSlots(capacity)
    }

    /// Producer side: blocks while `capacity` batches wait; throws once the consumer gave up.
    func put(_ batch: Batch) throws {
        slots.wait()
        if let error = abandoned.withLock({ $0 }) {
            slots.signal()
            throw error
        }
        continuation.yield(batch)
    }

    /// Producer side: no more batches (or the producer failed).
    func finish(throwing error: (any Error)? = nil) {
        continuation.finish(throwing: error)
    }

    /// Consumer side: one batch is done with; the producer may fill another.
    func release() { slots.signal() }

    /// Consumer side: stop the producer (its next `put` throws `error`).
    func abandon(_ error: any Error) {
        abandoned.withLock { if $0 == nil { $0 = error } }
        slots.signal()
    }
}

/// The largest batch, in bytes; shared by the producer and the sender, which halves it when
/// Meilisearch answers 413.
final class BatchSizeLimit: Sendable {
    private let bytes: Mutex<Int>
    init(bytes: Int) { self.bytes = Mutex(max(bytes, 1024)) }
    var current: Int { bytes.withLock { $0 } }
    func lower(to newValue: Int) { bytes.withLock { $0 = max(1024, min($0, newValue)) } }
}

/// Cuts a stream of rows (one JSON document per COPY row, newline-terminated) into NDJSON
/// batches of at most `limit` bytes. A single row larger than the limit travels alone. One
/// producer at a time (the row source's reading thread, then the final flush): a batch is
/// emitted, outside the lock, before the next row is added.
final class NDJSONBatcher: Sendable {
    private struct State {
        var body = Data()
        var documents = 0
        var totalDocuments = 0
        var totalBytes = 0

        /// The batch so far, and a fresh body sized for the next.
        mutating func take(reserving capacity: Int) -> DocumentBatchChannel.Batch? {
            guard documents > 0 else { return nil }
            let batch = DocumentBatchChannel.Batch(body: body, documents: documents)
            totalDocuments += documents
            totalBytes += body.count
            body = Data()
            body.reserveCapacity(capacity)
            documents = 0
            return batch
        }
    }

    private let limit: BatchSizeLimit
    private let emit: @Sendable (DocumentBatchChannel.Batch) throws -> Void
    private let state: Mutex<State>

    init(limit: BatchSizeLimit, emit: @escaping @Sendable (DocumentBatchChannel.Batch) throws -> Void) {
        self.limit = limit
        self.emit = emit
        var initial = State()
        initial.body.reserveCapacity(limit.current)
        state = Mutex(initial)
    }

    var totalDocuments: Int { state.withLock { $0.totalDocuments } }
    var totalBytes: Int { state.withLock { $0.totalBytes } }

    /// One COPY row. libpq hands each row whole, with its newline.
    func append(row: UnsafeRawBufferPointer) throws {
        let limit = limit.current
        let full = state.withLock { state -> DocumentBatchChannel.Batch? in
            let full = state.documents > 0 && state.body.count + row.count > limit ? state.take(reserving: limit) : nil
            state.body.append(contentsOf: row)
            if row.last != UInt8(ascii: "\n") { state.body.append(UInt8(ascii: "\n")) }
            state.documents += 1
            return full
        }
        if let full { try emit(full) }
    }

    func flush() throws {
        let limit = limit.current
        if let batch = state.withLock({ $0.take(reserving: limit) }) { try emit(batch) }
    }

    /// Splits a batch in two at the newline nearest its middle (nil when it holds one document).
    static func halves(of batch: DocumentBatchChannel.Batch) -> (DocumentBatchChannel.Batch, DocumentBatchChannel.Batch)? {
        guard batch.documents > 1 else { return nil }
        let bytes = batch.body
        let middle = bytes.startIndex + bytes.count / 2
        let newline = UInt8(ascii: "\n")
        var cut = bytes[middle...].firstIndex(of: newline).map { $0 + 1 }
        if cut == nil || cut! >= bytes.endIndex { cut = bytes[..<middle].lastIndex(of: newline).map { $0 + 1 } }
        guard let cut, cut > bytes.startIndex, cut < bytes.endIndex else { return nil }
        let first = bytes[..<cut]
        let firstCount = first.reduce(0) { $0 + ($1 == newline ? 1 : 0) }
        return (DocumentBatchChannel.Batch(body: Data(first), documents: firstCount),
                DocumentBatchChannel.Batch(body: Data(bytes[cut...]), documents: batch.documents - firstCount))
    }
}

extension DispatchSemaphore {
    /// A semaphore holding `count` slots, made from 0: libdispatch traps (SIGILL) when a
    /// semaphore is freed while its value is below the one it was created with, which is what
    /// an abandoned producer or consumer leaves behind.
    static func withSlots(_ count: Int) -> DispatchSemaphore {
        let semaphore = DispatchSemaphore(value: 0)
        for _ in 0..<count { semaphore.signal() }
        return semaphore
    }
}
