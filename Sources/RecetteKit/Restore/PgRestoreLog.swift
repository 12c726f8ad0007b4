import Foundation
import Logging
import Synchronization
import RecetteWorld

/// How long one TOC item took, from pg_restore's `--verbose` lines stamped on arrival.
public struct ItemTiming: Sendable, Codable, Equatable {
    public var id: Int?
    public var type: String
    public var name: String
    public var seconds: Double
}

/// An error pg_restore reported (and, without --exit-on-error, went past).
public struct RestoreError: Sendable, Codable, Equatable {
    /// `3345; 0 16390 TABLE DATA public answers app_user`
    public var tocEntry: String?
    public var message: String
    public var command: String?
}

/// Reads pg_restore's `--verbose` standard error as it arrives and times every item.
///
/// Parallel mode: `processing item ID TYPE TAG` (serial pre-data), then
/// `launching item ID …` / `finished item ID …` pairs. Serial mode: `creating TYPE "name"`,
/// `processing data for table "name"`, `executing …`: an item ends when the next begins.
public final class PgRestoreLog: Sendable {
    private let entries: [Int: TableOfContents.Entry]
    private let clock = ContinuousClock()
    private struct State {
        var launched: [Int: ContinuousClock.Instant] = [:]
        var serial: (type: String, name: String, id: Int?, start: ContinuousClock.Instant)?
        var timings: [ItemTiming] = []
        var errors: [RestoreError] = []
        var pendingEntry: String?
        /// Workers also print serial-style lines ("processing data for table …"); in parallel
        /// mode the launching/finished pairs are the timing, and those lines are ignored.
        var parallel = false
        var awaitingCommand = false
        var reportedIgnoredCount: Int?
    }
    private let state = Mutex(State())
    var reportedIgnoredCount: Int? { state.withLock { $0.reportedIgnoredCount } }
    private let onItemFinished: (@Sendable (ItemTiming) -> Void)?

    public init(toc: TableOfContents, onItemFinished: (@Sendable (ItemTiming) -> Void)? = nil) {
        entries = Dictionary(toc.entries.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.onItemFinished = onItemFinished
    }

    public func consume(_ rawLine: String) {
        // Parallel workers and the leader write "pg_restore: " and their message separately,
        // so messages from several processes can share one line, in any order ("processing
        // data for table "x"pg_restore: launching item 7 …"). Each fragment is one message.
        // (Seen here: up to 2 of 23 TABLE DATA items were lost before fragments were split.)
        if rawLine.hasPrefix("Command was: ") {
            consumeMessage(Substring(rawLine), isCommand: true)
            return
        }
        // Even the prefix may be split from its space: "pg_restore: pg_restore:finished item …".
        for fragment in rawLine.components(separatedBy: "pg_restore:") {
            let message = fragment.drop(while: { $0 == " " })
            if !message.isEmpty { consumeMessage(message, isCommand: false) }
        }
    }

    private func consumeMessage(_ line: Substring, isCommand: Bool) {
        let now = clock.now
        let finished = state.withLock { state -> ItemTiming? in
            var finished: ItemTiming?
            if isCommand {
                if state.awaitingCommand, !state.errors.isEmpty { state.errors[state.errors.count - 1].command = String(line.dropFirst("Command was: ".count)) }
                state.awaitingCommand = false
                return nil
            }
            if line.hasPrefix("from TOC entry ") {
                state.pendingEntry = String(line.dropFirst("from TOC entry ".count))
            } else if line.hasPrefix("error: ") {
                state.errors.append(RestoreError(tocEntry: state.pendingEntry, message: String(line.dropFirst("error: ".count)), command: nil))
                state.pendingEntry = nil
                state.awaitingCommand = true
            } else if line.hasPrefix("warning: errors ignored on restore: ") {
                state.reportedIgnoredCount = Int(line.split(separator: " ").last ?? "")
            } else if let id = Self.itemID(line, after: "launching item ") {
                state.parallel = true
                finished = closeSerial(&state, at: now)
                state.launched[id] = now
            } else if let id = Self.itemID(line, after: "finished item ") {
                if let start = state.launched.removeValue(forKey: id) {
                    finished = record(&state, id: id, type: nil, name: nil, seconds: (now - start).seconds)
                }
            } else if let id = Self.itemID(line, after: "processing item ") {
                finished = closeSerial(&state, at: now)
                let entry = entries[id]
                state.serial = (entry?.type ?? "?", entry?.name ?? "", id, now)
            } else if !state.parallel, line.hasPrefix("creating ") || line.hasPrefix("processing data for table ") || line.hasPrefix("executing ") {
                // In parallel mode "creating" follows "processing item" for the same item.
                if state.serial?.id != nil, line.hasPrefix("creating ") { return nil }
                finished = closeSerial(&state, at: now)
                let (type, name) = Self.serialItem(line)
                state.serial = (type, name, nil, now)
            } else if line.hasPrefix("entering main parallel loop") || line.hasPrefix("finished main parallel loop") {
                state.parallel = true
                finished = closeSerial(&state, at: now)
            }
            return finished
        }
        if let finished { onItemFinished?(finished) }
    }

    /// For a runner's standard error: each line to `--verbose` and to this log.
    public func lineHandler(logging logger: Logger) -> @Sendable (String) -> Void {
        { [self] line in
            logger.debug("\(line)")
            consume(line)
        }
    }

    /// Ends the last serial item (call when pg_restore exits).
    public func finish() {
        let finished = state.withLock { closeSerial(&$0, at: clock.now) }
        if let finished { onItemFinished?(finished) }
    }

    public var itemTimings: [ItemTiming] { state.withLock { $0.timings } }
    public var restoreErrors: [RestoreError] { state.withLock { $0.errors } }

    // MARK: - Private (lock held)

    private func closeSerial(_ state: inout State, at now: ContinuousClock.Instant) -> ItemTiming? {
        guard let open = state.serial else { return nil }
        state.serial = nil
        return record(&state, id: open.id, type: open.type, name: open.name, seconds: (now - open.start).seconds)
    }

    private func record(_ state: inout State, id: Int?, type: String?, name: String?, seconds: Double) -> ItemTiming {
        let entry = id.flatMap { entries[$0] }
        let timing = ItemTiming(id: id, type: entry?.type ?? type ?? "?", name: entry?.name ?? name ?? "", seconds: seconds)
        state.timings.append(timing)
        return timing
    }

    private static func itemID(_ line: Substring, after prefix: String) -> Int? {
        guard line.hasPrefix(prefix) else { return nil }
        return Int(line.dropFirst(prefix.count).prefix(while: \.isNumber))
    }

    /// `creating TABLE "public.answers"` → ("TABLE", "answers"); `processing data for table
    /// "public.answers"` → ("TABLE DATA", "answers").
    private static func serialItem(_ line: Substring) -> (String, String) {
        let quoted = line.split(separator: "\"").dropFirst().first.map(String.init) ?? ""
        let name = quoted.split(separator: ".").last.map(String.init) ?? quoted
        if line.hasPrefix("processing data for table ") { return ("TABLE DATA", name) }
        if line.hasPrefix("executing ") {
            let type = line.dropFirst("executing ".count).split(separator: " ").prefix(2).joined(separator: " ")
            return (type, line.split(separator: " ").last.map(String.init) ?? "")
        }
        let words = line.dropFirst("creating ".count).split(separator: "\"").first?.trimmingCharacters(in: .whitespaces) ?? "?"
        return (words, name)
    }
}
