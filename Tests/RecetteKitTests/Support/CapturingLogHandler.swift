import Foundation
import Logging
import Synchronization
@testable import RecetteKit
@testable import RecetteWorld

/// Keeps every log line (as RecetteLogHandler formats it, debug included) for inspection.
final class LogCapture: Sendable {
    private let stored = Mutex<[String]>([])
    var lines: [String] { stored.withLock { $0 } }
    var text: String { lines.joined(separator: "\n") }

    func logger(secrets: [Secret] = []) -> Logger {
        Logger(label: "test") { label in
            RecetteLogHandler(label: label, format: .text, level: .trace,
                              terminal: Terminal(standardOutputIsTTY: false, standardErrorIsTTY: false, colorEnabled: false),
                              secrets: secrets, write: { [self] line in stored.withLock { $0.append(line) } })
        }
    }
}
