import Foundation
import Logging
@testable import RecetteKit
@testable import RecetteWorld

/// Keeps every log line (as RecetteLogHandler formats it, debug included) for inspection.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    var lines: [String] { lock.withLock { stored } }
    var text: String { lines.joined(separator: "\n") }

    func logger(secrets: [Secret] = []) -> Logger {
        Logger(label: "test") { label in
            RecetteLogHandler(label: label, format: .text, level: .trace,
                              terminal: Terminal(standardOutputIsTTY: false, standardErrorIsTTY: false, colorEnabled: false),
                              secrets: secrets, write: { [self] line in lock.withLock { stored.append(line) } })
        }
    }
}
