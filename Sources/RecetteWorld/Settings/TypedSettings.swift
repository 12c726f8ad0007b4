import Foundation

/// A setting's value parsed by its kind.
enum ParsedSetting: Sendable {
    case text(String)
    case wholeNumber(Int)
    case number(Double)
    /// The accepted word it stands for (aliases and case resolved).
    case choice(String)
    case url(URL)
    case path(URL)
    case pathList([URL])
}

extension SettingKind {
    /// The value parsed, or nil when it does not fit.
    func parse(_ text: String, relativeTo projectDirectory: URL) -> ParsedSetting? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        func path(_ text: String) -> URL {
            text.hasPrefix("/") ? URL(fileURLWithPath: text) : projectDirectory.appendingPathComponent(text)
        }
        switch self {
        case .text:
            return .text(text)
        case .wholeNumber(let range, _):
            guard trimmed.allSatisfy(\.isASCII), let value = Int(trimmed), range.contains(value) else { return nil }
            return .wholeNumber(value)
        case .number(let range, _):
            guard let value = Double(trimmed), value.isFinite, range.contains(value) else { return nil }
            return .number(value)
        case .choice(let words, let aliases):
            let word = trimmed.lowercased()
            if words.contains(word) { return .choice(word) }
            return aliases[word].map { .choice($0) }
        case .url(let schemes):
            guard let url = URL(string: trimmed), let scheme = url.scheme?.lowercased(), schemes.contains(scheme),
                  let host = url.host, !host.isEmpty else { return nil }
            return .url(url)
        case .path:
            return trimmed.isEmpty ? nil : .path(path(trimmed))
        case .pathList:
            return .pathList(trimmed.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map(path))
        }
    }

    /// What the kind accepts, as the end of an error message.
    func expected(default defaultValue: String?) -> String {
        let example = defaultValue.map { " (default \($0))" } ?? ""
        switch self {
        case .text:
            return "text"
        case .wholeNumber(let range, let unit):
            return "a whole number\(unit.map { " of \($0)" } ?? "") from \(range.lowerBound) to \(range.upperBound)" + example
        case .number(let range, let unit):
            return "a number\(unit.map { " of \($0)" } ?? "") from \(Self.plain(range.lowerBound)) to \(Self.plain(range.upperBound))" + example
        case .choice(let words, _):
            return Self.oneOf(words)
        case .url(let schemes):
            return "an absolute \(Self.oneOf(schemes, joinedWith: " or ")) URL with a host" + example
        case .path:
            return "a file or directory path"
        case .pathList:
            return "paths separated by ':'"
        }
    }

    private static func plain(_ number: Double) -> String {
        number == number.rounded() ? String(Int(number)) : String(number)
    }

    private static func oneOf(_ words: [String], joinedWith last: String = " or ") -> String {
        guard words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + last + words[words.count - 1]
    }
}

/// A value that does not fit its setting, said in one line: the setting by both its names,
/// where the value came from, the value (never a secret's) and what is accepted.
public struct InvalidSetting: Sendable, Equatable, CustomStringConvertible {
    public var setting: Setting
    public var value: String
    public var source: SettingSource
    public var dotEnvLine: Int?

    public var description: String {
        let name = setting.environmentName + (setting.configPath.map { " (\($0))" } ?? "")
        let origin: String
        switch source {
        case .flag: origin = "on the command line"
        case .environment: origin = "from the environment"
        case .dotEnv: origin = "from .env" + (dotEnvLine.map { " line \($0)" } ?? "")
        case .configFile: origin = "from recette.yml"
        case .detected: origin = "detected in the compose file"
        case .defaultValue: origin = "by default"
        }
        let shown = setting.isSecret ? "" : " is \"\(value)\""
        return "\(name) \(origin)\(shown): expected \(setting.kind.expected(default: setting.defaultValue))"
    }
}

/// The typed values the steps read: parsed once when the configuration was made, defaults from
/// the settings table. Each throws only for a configuration made without `load`'s check (a
/// test's), with the same one-line message.
extension Configuration {
    private func parsedValue(_ setting: Setting) throws -> ParsedSetting? {
        if let problem = problems.first(where: { $0.setting == setting }) { throw ConfigurationError.invalidSetting(problem) }
        return parsedSettings[setting]
    }

    private func unset(_ setting: Setting) -> RecetteFailure {
        RecetteFailure("\(setting.environmentName) is not set")
    }

    /// Whether a value was given (by any source but the default).
    public func isSet(_ setting: Setting) -> Bool {
        guard let source = resolved(setting)?.source else { return false }
        return source != .defaultValue
    }

    /// A text setting that has a default: its value, or that default.
    public func text(_ setting: Setting) -> String {
        precondition(setting.defaultValue != nil && !setting.isSecret, "\(setting.environmentName) has no default: read it with configuration[.x]")
        return self[setting] ?? setting.defaultValue!
    }

    public func wholeNumber(_ setting: Setting) throws -> Int {
        guard case .wholeNumber(let value) = try parsedValue(setting) else { throw unset(setting) }
        return value
    }

    public func number(_ setting: Setting) throws -> Double {
        guard case .number(let value) = try parsedValue(setting) else { throw unset(setting) }
        return value
    }

    public func url(_ setting: Setting) throws -> URL {
        guard case .url(let value) = try parsedValue(setting) else { throw unset(setting) }
        return value
    }

    /// A choice as the type that names its words (their raw values are the table's words).
    public func choice<Choice: RawRepresentable>(_ setting: Setting, as type: Choice.Type) throws -> Choice where Choice.RawValue == String {
        guard case .choice(let word) = try parsedValue(setting) else { throw unset(setting) }
        guard let value = Choice(rawValue: word) else { preconditionFailure("\(Choice.self) has no case '\(word)' of \(setting.environmentName)") }
        return value
    }

    /// A path setting resolved against the project directory; nil when unset without a default.
    public func path(_ setting: Setting) -> URL? {
        guard case .path(let value) = try? parsedValue(setting) else { return nil }
        return value
    }

    /// A list of paths resolved against the project directory; empty when unset.
    public func paths(_ setting: Setting) -> [URL] {
        guard case .pathList(let value) = try? parsedValue(setting) else { return [] }
        return value
    }
}
