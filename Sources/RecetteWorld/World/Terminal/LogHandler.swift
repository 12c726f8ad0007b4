import Foundation
import Logging

public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// swift-log handler writing to standard error, as text or one JSON object per line.
/// Every message passes through the secret scrubber first.
public struct RecetteLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: LogFormat
    private let terminal: Terminal
    private let secrets: [Secret]
    private let write: @Sendable (String) -> Void

    public init(label: String, format: LogFormat, level: Logger.Level, terminal: Terminal, secrets: [Secret],
                write: @escaping @Sendable (String) -> Void = { StandardStream.error($0 + "\n") }) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.terminal = terminal
        self.secrets = secrets
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let message = Redaction.redacting(secrets, in: event.message.description)
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        switch format {
        case .json:
            var object: [String: String] = [
                "time": ISO8601DateFormatter.withFractionalSeconds.string(from: Date()),
                "level": event.level.rawValue,
                "logger": label,
                "message": message,
            ]
            for (key, value) in merged { object[key] = Redaction.redacting(secrets, in: value.description) }
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                write(String(decoding: data, as: UTF8.self))
            }
        case .text:
            let suffix = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }
                .map { "\($0.key)=\(Redaction.redacting(secrets, in: $0.value.description))" }.joined(separator: " ")
            let prefix: String
            switch event.level {
            case .error, .critical: prefix = terminal.paint("error: ", .red)
            case .warning: prefix = terminal.paint("warning: ", .yellow)
            case .debug, .trace: prefix = terminal.paint("debug: ", .dim)
            default: prefix = ""
            }
            write(prefix + message + suffix)
        }
    }
}

extension ISO8601DateFormatter {
    nonisolated(unsafe) static let withFractionalSeconds: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
