import Synchronization
@testable import RecetteWorld

/// Collects printed lines, where the executable would write them to standard output.
final class RecordingOutputSink: OutputSink {
    private let stored = Mutex<[String]>([])
    func write(_ line: String) { stored.withLock { $0.append(line) } }
    var lines: [String] { stored.withLock { $0 } }
}
