import Foundation

/// A one-line progress display on standard error: bytes, rate, ETA. Drawn only on a TTY, at
/// most ten times a second; an unknown total shows bytes and rate only.
public final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private let label: String
    private let enabled: Bool
    private let write: @Sendable (String) -> Void
    private var total: Int64?
    private var lastDraw = ContinuousClock.now - .seconds(1)
    private var start = ContinuousClock.now
    private var startBytes: Int64 = 0
    private var drew = false
    /// False: show a percentage only (the quantity is a weight, not bytes).
    private let showsBytes: Bool
    private var detail = ""

    public init(label: String, enabled: Bool, showsBytes: Bool = true, write: @escaping @Sendable (String) -> Void = { StandardStream.error($0) }) {
        self.label = label
        self.enabled = enabled
        self.showsBytes = showsBytes
        self.write = write
    }

    /// (Re)starts timing from `bytes` already there (a resumed download).
    public func begin(total: Int64?, from bytes: Int64) {
        lock.withLock {
            self.total = total
            start = .now
            startBytes = bytes
        }
    }

    public func update(_ bytes: Int64, detail: String? = nil) {
        guard enabled else { return }
        lock.withLock {
            if let detail { self.detail = detail }
            let now = ContinuousClock.now
            guard now - lastDraw >= .milliseconds(100) else { return }
            lastDraw = now
            drew = true
            write("\r\u{1B}[K" + line(bytes: bytes, now: now))
        }
    }

    public func finish() {
        lock.withLock {
            if drew { write("\r\u{1B}[K") }
            drew = false
        }
    }

    func line(bytes: Int64, now: ContinuousClock.Instant) -> String {
        let elapsed = max((now - start).seconds, 0.001)
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
