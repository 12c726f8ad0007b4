import Foundation
import Yams

/// Where a resolved value came from, in precedence order.
public enum SettingSource: String, Sendable, Codable, Comparable {
    /// `detected`: read from the project's own files (the compose file's Meilisearch service),
    /// where no setting says otherwise.
    case flag, environment, dotEnv = ".env", configFile = "recette.yml", detected = "detected", defaultValue = "default"

    private var rank: Int {
        switch self {
        case .flag: 0
        case .environment: 1
        case .dotEnv: 2
        case .configFile: 3
        case .detected: 4
        case .defaultValue: 5
        }
    }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
}

public struct ResolvedValue: Sendable, Equatable {
    public var value: String
    public var source: SettingSource
}

public enum ConfigurationError: Error, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case invalidConfigFile(path: String, reason: String)
    case invalidValue(setting: String, value: String, expected: String)
    /// A value that does not fit its setting's kind, found when the configuration loads.
    case invalidSetting(InvalidSetting)
    /// A key of `recette.yml` recette does not read (a typo, most often).
    case unknownKey(path: String, key: String, nearest: String?)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason):
            "cannot read \(path): \(reason)"
        case .invalidConfigFile(let path, let reason):
            "\(path) is not valid: \(reason); fix the file or move it aside"
        case .invalidValue(let setting, let value, let expected):
            "\(setting)='\(value)' is not valid: expected \(expected)"
        case .invalidSetting(let problem):
            problem.description
        case .unknownKey(let path, let key, let nearest):
            "\(path): unknown key \"\(key)\"" + (nearest.map { " (did you mean \"\($0)\"?)" } ?? "")
        }
    }
}

/// The project's configuration: flags > environment > `.env` > `recette.yml` > defaults.
public struct Configuration: Sendable {
    public let projectDirectory: URL
    private var values: [Setting: ResolvedValue]
    /// Every value (or default) parsed by its setting's kind, once: what the typed accessors
    /// (`wholeNumber(_:)`, `url(_:)`, `choice(_:as:)`…) give.
    let parsedSettings: [Setting: ParsedSetting]
    /// Values that do not fit their kind, in `Setting.all`'s order; `load` refuses the first.
    public let problems: [InvalidSetting]
    /// Files that were found and read, for `doctor`.
    public let filesRead: [String]
    /// `search.indexes` of `recette.yml`: the indexes `reindex --via direct` builds.
    public var searchIndexes: [SearchIndexDefinition]
    /// Meilisearch settings by index uid from `search.settings` of `recette.yml` and from
    /// `recette.search-settings.yml` (see `SearchSettingsFile`), recette.yml's winning.
    public var searchSettings: [String: SearchSettingsFile.Entry] = [:]

    /// - Parameter dotEnvLines: the `.env` line of each variable, for errors naming where a value came from.
    public init(values: [Setting: ResolvedValue], projectDirectory: URL, filesRead: [String] = [], searchIndexes: [SearchIndexDefinition] = [],
                dotEnvLines: [String: Int] = [:]) {
        self.values = values
        self.projectDirectory = projectDirectory
        self.filesRead = filesRead
        self.searchIndexes = searchIndexes
        var parsed: [Setting: ParsedSetting] = [:]
        var problems: [InvalidSetting] = []
        for setting in Setting.all {
            let resolved = values[setting] ?? setting.defaultValue.map { ResolvedValue(value: $0, source: .defaultValue) }
            guard let resolved else { continue }
            switch setting.kind.parse(resolved.value, relativeTo: projectDirectory) {
            case .some(let value):
                parsed[setting] = value
            case .none:
                problems.append(InvalidSetting(setting: setting, value: resolved.value, source: resolved.source,
                                               dotEnvLine: dotEnvLines[setting.environmentName]))
            }
        }
        self.parsedSettings = parsed
        self.problems = problems
    }

    /// Resolves every known setting from the four layers.
    /// - Parameters:
    ///   - flags: values given on the command line, keyed by setting.
    ///   - environment: the process environment.
    ///   - projectDirectory: where `.env` and `recette.yml` are looked for.
    ///   - readingDotEnv: false leaves `.env` out (see `committed(projectDirectory:)`).
    ///   - validating: false keeps values that do not fit their kind in `problems` instead of
    ///     refusing the first (`doctor` lists them all).
    public static func load(
        flags: [Setting: String] = [:],
        environment: [String: String],
        projectDirectory: URL,
        readingDotEnv: Bool = true,
        validating: Bool = true,
        detected: [Setting: String] = [:],
        fileSystem: FileManager = .default
    ) throws -> Configuration {
        var filesRead: [String] = []
        let dotEnvURL = projectDirectory.appendingPathComponent(".env")
        var dotEnv: [String: String] = [:]
        var dotEnvLines: [String: Int] = [:]
        if readingDotEnv && fileSystem.fileExists(atPath: dotEnvURL.path) {
            let text = try readText(dotEnvURL)
            for entry in try DotEnv.parse(text, file: dotEnvURL.path) {
                dotEnv[entry.key] = entry.value
                dotEnvLines[entry.key] = entry.line
            }
            filesRead.append(".env")
        }
        let configURL = projectDirectory.appendingPathComponent("recette.yml")
        var fileValues: [String: String] = [:]
        var searchIndexes: [SearchIndexDefinition] = []
        var searchSettings: [String: SearchSettingsFile.Entry] = [:]
        if fileSystem.fileExists(atPath: configURL.path) {
            let text = try readText(configURL)
            try ProjectConfigFile.checkBounded(yaml: text, path: configURL.path)
            fileValues = try ProjectConfigFile.flatten(yaml: text, path: configURL.path)
            try ProjectConfigFile.checkKnownKeys(yaml: text, path: "recette.yml")
            searchIndexes = try SearchIndexDefinition.parse(yaml: text, path: configURL.path)
            searchSettings = try SearchSettingsFile.parse(yaml: text, path: configURL.path, origin: "recette.yml")
            filesRead.append("recette.yml")
        }
        let pulledURL = projectDirectory.appendingPathComponent(SearchSettingsFile.fileName)
        if fileSystem.fileExists(atPath: pulledURL.path) {
            let text = try readText(pulledURL)
            try ProjectConfigFile.checkBounded(yaml: text, path: pulledURL.path)
            searchSettings.merge(try SearchSettingsFile.parse(yaml: text, path: pulledURL.path, origin: SearchSettingsFile.fileName)) { written, _ in written }
            filesRead.append(SearchSettingsFile.fileName)
        }

        var values: [Setting: ResolvedValue] = [:]
        for setting in Setting.all {
            if let value = flags[setting] {
                values[setting] = ResolvedValue(value: value, source: .flag)
            } else if let value = environment[setting.environmentName], !value.isEmpty {
                values[setting] = ResolvedValue(value: value, source: .environment)
            } else if let value = dotEnv[setting.environmentName], !value.isEmpty {
                values[setting] = ResolvedValue(value: value, source: .dotEnv)
            } else if let path = setting.configPath, let value = fileValues[path] {
                values[setting] = ResolvedValue(value: value, source: .configFile)
            } else if let value = detected[setting], !value.isEmpty {
                values[setting] = ResolvedValue(value: value, source: .detected)
            } else if let value = setting.defaultValue {
                values[setting] = ResolvedValue(value: value, source: .defaultValue)
            }
        }
        var configuration = Configuration(values: values, projectDirectory: projectDirectory, filesRead: filesRead,
                                          searchIndexes: searchIndexes, dotEnvLines: dotEnvLines)
        configuration.searchSettings = searchSettings
        if validating, let problem = configuration.problems.first { throw ConfigurationError.invalidSetting(problem) }
        return configuration
    }

    /// What the repository itself says: `recette.yml`, then defaults. No flags, environment or
    /// `.env`, which differ from one machine to the next: what `recette generate` renders from
    /// this is the same on every machine (and in CI).
    public static func committed(projectDirectory: URL) throws -> Configuration {
        try load(environment: [:], projectDirectory: projectDirectory, readingDotEnv: false)
    }

    public func resolved(_ setting: Setting) -> ResolvedValue? { values[setting] }

    /// A non-secret value. Asking for a secret this way is a programming error.
    public subscript(_ setting: Setting) -> String? {
        precondition(!setting.isSecret, "read \(setting.environmentName) with secret(_:)")
        return values[setting]?.value
    }

    public func secret(_ setting: Setting) -> Secret? {
        values[setting].map { Secret($0.value) }
    }

    /// Every secret value, to scrub from anything printed.
    public var secrets: [Secret] {
        Setting.all.filter(\.isSecret).compactMap { secret($0) }
    }


    /// The value as shown to people: secrets as `***`, URL passwords hidden.
    public func displayValue(_ setting: Setting) -> String? {
        guard let resolved = values[setting] else { return nil }
        if setting == .databaseURL || setting == .sourceDatabaseURL || setting == .searchDatabaseURL { return Redaction.hidingPassword(ofURL: resolved.value) }
        return setting.isSecret ? "*** (set)" : resolved.value
    }

    private static func readText(_ url: URL) throws -> String {
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigurationError.unreadable(path: url.path, reason: "not readable as UTF-8 text")
        }
    }
}

/// `recette.yml`: the committed, non-secret part of a project's configuration.
///
/// ```yaml
/// scalingo:
///   app: my-app
///   region: osc-fr1
/// target: local
/// compose:
///   db_service: db
/// ```
public enum ProjectConfigFile {
    /// Far more than any project's settings and index queries.
    static let maximumBytes = 1 << 20
    static let maximumNodes = 100_000

    /// Refuses a file that would take unbounded time and memory to load: Yams expands every
    /// alias when it builds values, so ten lines of aliases of aliases (a "billion laughs")
    /// become 10⁹ values. Composing the node tree shares aliased nodes (copy-on-write), so it
    /// stays as small as the text; walking it stops at the first node over the budget.
    public static func checkBounded(yaml: String, path: String) throws {
        guard yaml.utf8.count <= maximumBytes else {
            throw ConfigurationError.invalidConfigFile(path: path, reason: "it is larger than \(maximumBytes >> 20) MiB")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError.invalidConfigFile(path: path, reason: "\(error)".split(separator: "\n").first.map(String.init) ?? "YAML error")
        }
        var budget = maximumNodes
        func fits(_ node: Node) -> Bool {
            budget -= 1
            guard budget >= 0 else { return false }
            switch node {
            case .mapping(let mapping): return mapping.allSatisfy { fits($0.key) && fits($0.value) }
            case .sequence(let sequence): return sequence.allSatisfy(fits)
            case .scalar, .alias: return true
            }
        }
        if let root, !fits(root) {
            throw ConfigurationError.invalidConfigFile(path: path, reason: "it expands to more than \(maximumNodes) values (aliases of aliases?); write the values out instead of nesting aliases")
        }
    }

    /// Every key recette reads from `recette.yml`: each setting's own (`Setting.all`), and the
    /// structured ones that the features owning them read. `[]` stands for each entry of a
    /// list; what a listed key holds is its reader's (an index's Meilisearch `settings`).
    /// A new key is one line here.
    public static let knownKeys: [String] = Setting.all.compactMap(\.configPath)
        + SearchIndexDefinition.keys.map { "search.indexes[].\($0)" } + ["search.settings"]

    /// Refuses a key recette does not read, naming the nearest known one: a typo (`serach:`,
    /// `indexs:`) would otherwise leave the setting at its default without a word.
    public static func checkKnownKeys(yaml: String, path: String) throws {
        guard let root = (try? Yams.load(yaml: yaml)) as? [String: Any] else { return }
        func walk(_ mapping: [String: Any], pattern parent: String, shown parentShown: String) throws {
            let prefix = parent.isEmpty ? "" : parent + "."
            let siblings = Set(knownKeys.filter { $0.hasPrefix(prefix) }.map { key in
                String(key.dropFirst(prefix.count).prefix { $0 != "." && $0 != "[" })
            })
            for key in mapping.keys.sorted() {
                let pattern = prefix + key
                let shown = (parentShown.isEmpty ? "" : parentShown + ".") + key
                guard siblings.contains(key) else {
                    if holdsAnAnchor(key, in: yaml) { continue }
                    let nearest = siblings.min { (editDistance(key, $0), $0) < (editDistance(key, $1), $1) }
                    throw ConfigurationError.unknownKey(path: path, key: shown,
                                                        nearest: nearest.map { (parentShown.isEmpty ? "" : parentShown + ".") + $0 })
                }
                if knownKeys.contains(pattern) { continue }
                // A known key that is not a value: its entries (a mapping, or a list of mappings).
                switch mapping[key] {
                case let nested as [String: Any]:
                    try walk(nested, pattern: pattern, shown: shown)
                case let list as [Any]:
                    for (position, entry) in list.enumerated() {
                        if let nested = entry as? [String: Any] { try walk(nested, pattern: pattern + "[]", shown: shown + "[\(position)]") }
                    }
                default:
                    break  // the wrong shape is its reader's error (e.g. search.indexes must be a list)
                }
            }
        }
        try walk(root, pattern: "", shown: "")
    }

    /// `defaults: &defaults` holds values that keys recette reads take by alias (`scalingo:
    /// *defaults`): a key of its own, not a typo. (Yams keeps no anchor once it has loaded.)
    private static func holdsAnAnchor(_ key: String, in yaml: String) -> Bool {
        let name = NSRegularExpression.escapedPattern(for: key)
        return yaml.range(of: #"(^|[\n{,])[ \t-]*"# + name + #"[ \t]*:[ \t]*&"#, options: .regularExpression) != nil
    }

    /// Levenshtein distance: the fewest one-character edits from `a` to `b`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }

    public static func flatten(yaml: String, path: String) throws -> [String: String] {
        let node: Any?
        do {
            node = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigurationError.invalidConfigFile(path: path, reason: "\(error)".split(separator: "\n").first.map(String.init) ?? "YAML error")
        }
        guard let node else { return [:] }
        guard let mapping = node as? [String: Any] else {
            throw ConfigurationError.invalidConfigFile(path: path, reason: "the top level must be a mapping of keys to values")
        }
        var flat: [String: String] = [:]
        func walk(_ mapping: [String: Any], prefix: String) {
            for (key, value) in mapping {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                switch value {
                case let nested as [String: Any]: walk(nested, prefix: path)
                case let scalar as String: flat[path] = scalar
                case let scalar as Int: flat[path] = String(scalar)
                case let scalar as Bool: flat[path] = String(scalar)
                case let scalar as Double: flat[path] = String(scalar)
                // A list of plain strings (e.g. compose.override_files) reads like PATH: the
                // same setting can then come from the environment as `a.yaml:b.yaml`.
                case let list as [String]: flat[path] = list.joined(separator: ":")
                default: break  // lists (e.g. indexes) are read by the features that own them
                }
            }
        }
        walk(mapping, prefix: "")
        let secretNames = Setting.all.filter(\.isSecret).map(\.environmentName)
        // anonymize.rules names columns (up_users.password: null), not values.
        for key in flat.keys where !key.hasPrefix("anonymize.rules.") && secretNames.contains(where: { $0.lowercased() == key.lowercased() || key.hasSuffix("token") || key.hasSuffix("api_key") || key.hasSuffix("password") }) {
            throw ConfigurationError.invalidConfigFile(path: path, reason: "'\(key)' looks like a secret; secrets go in the environment or .env, never in a committed file")
        }
        return flat
    }
}
