import Foundation
import Synchronization

/// A one-line progress display on standard error: bytes, rate, ETA. Drawn only on a TTY, at
/// most ten times a second; an unknown total shows bytes and rate only.
public final class ProgressBar: Sendable {
    private let label: String
    private let enabled: Bool
    private let write: @Sendable (String) -> Void
    /// False: show a percentage only (the quantity is a weight, not bytes).
    private let showsBytes: Bool
    private struct State {
        var total: Int64?
        var lastDraw = ContinuousClock.now - .seconds(1)
        var start = ContinuousClock.now
        var startBytes: Int64 = 0
        var drew = false
        var detail = ""
    }
    private let state = Mutex(State())

    public init(label: String, enabled: Bool, showsBytes: Bool = true, write: @escaping @Sendable (String) -> Void = { StandardStream.error($0) }) {
        self.label = label
        self.enabled = enabled
        self.showsBytes = showsBytes
        self.write = write
    }

    /// (Re)starts timing from `bytes` already there (a resumed download).
    public func begin(total: Int64?, from bytes: Int64) {
        state.withLock { state in
            state.total = total
            state.start = .now
            state.startBytes = bytes
        }
    }

    public func update(_ bytes: Int64, detail: String? = nil) {
        guard enabled else { return }
        state.withLock { state in
            if let detail { state.detail = detail }
            let now = ContinuousClock.now
            guard now - state.lastDraw >= .milliseconds(100) else { return }
            state.lastDraw = now
            state.drew = true
            write("\r\u{1B}[K" + line(state, bytes: bytes, now: now))
        }
    }

    public func finish() {
        state.withLock { state in
            if state.drew { write("\r\u{1B}[K") }
            state.drew = false
        }
    }

    private func line(_ state: State, bytes: Int64, now: ContinuousClock.Instant) -> String {
        let (total, startBytes, detail) = (state.total, state.startBytes, state.detail)
        let elapsed = max((now - state.start).seconds, 0.001)
        let rate = Double(bytes - startBytes) / elapsed
        if !showsBytes, let total, total > 0 {
            let percent = min(100, Int(Double(bytes) * 100 / Double(total)))
            var text = "\(label) \(String(format: "%3d", percent))%"
            if rate > 0 && bytes > startBytes { text += "  ETA \(Self.duration(Double(max(0, total - bytes)) / rate))" }
            return detail.isEmpty ? text : text + "  " + String(detail.prefix(60))
        }
        var text = "\(label) \(ByteCount.human(bytes))"
        if let total, total > 0 {
            let percent = min(100, Int(Double(bytes) * 100 / Double(total)))
            text = "\(label) \(String(format: "%3d", percent))% \(ByteCount.human(bytes)) / \(ByteCount.human(total))"
            if rate > 0 {
                let remaining = Double(max(0, total - bytes)) / rate
                text += "  \(ByteCount.human(Int64(rate)))/s  ETA \(Self.duration(remaining))"
                return text
            }
        }
        if rate > 0 { text += "  \(ByteCount.human(Int64(rate)))/s" }
        return text
    }

    static func duration(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return whole >= 3600 ? "\(whole / 3600)h\(String(format: "%02d", whole % 3600 / 60))m"
            : whole >= 60 ? "\(whole / 60)m\(String(format: "%02d", whole % 60))s" : "\(whole)s"
    }
}
