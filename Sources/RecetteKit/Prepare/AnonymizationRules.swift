import Foundation
import Yams
import RecetteWorld

/// The project's own anonymisation, per column, in `recette.yml` (issue 14), applied to every
/// row when the anonymisation runs (`anonymize` auto: the url target; true; false), after the
/// built-in preset (a rule on a preset column wins):
///
/// ```yaml
/// anonymize:
///   enabled: auto            # or the short form `anonymize: auto|true|false`
///   rules:
///     up_users:
///       phone: null
///       city: { constant: Paris }
///       contact_email: email              # user-<id>@example.invalid (unique)
///       work_email: keep_domain_email     # user-<id>@<the same domain>
///       siret: hash                       # SHA-256 of a per-restore salt and the value
///       notes: { sql: "left(notes, 3)" }  # any expression over the row
/// ```
///
/// A rule naming a table or column the backup lacks is an error before the restore starts
/// (`check(columns:)` against the dump's own `CREATE TABLE`s).
public struct AnonymizationRules: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        case null, constant(String), email, keepDomainEmail, hash, sql(String)
    }

    public struct ColumnRule: Sendable, Equatable {
        public var table: String
        public var column: String
        public var rule: Rule
    }

    public var rules: [ColumnRule]
    /// `anonymize.enabled` of the long form.
    public var enabled: String?

    static let usage = "use null, { constant: VALUE }, email, keep_domain_email, hash or { sql: EXPRESSION }"

    public init(rules: [ColumnRule] = [], enabled: String? = nil) {
        self.rules = rules
        self.enabled = enabled
    }

    /// The `anonymize:` section of the project's recette.yml (none: no rules).
    public init(_ configuration: Configuration) throws {
        let file = configuration.projectDirectory.appendingPathComponent("recette.yml")
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { self.init(); return }
        try self.init(yaml: text)
    }

    public init(yaml: String) throws {
        let root = (try? Yams.load(yaml: yaml)) as? [String: Any]
        guard let section = root?["anonymize"] as? [String: Any] else { self.init(); return }
        func fail(_ path: String, _ problem: String) -> RecetteFailure {
            RecetteFailure("recette.yml, anonymize.\(path): \(problem)")
        }
        let unknown = Set(section.keys).subtracting(["enabled", "rules"])
        guard unknown.isEmpty else { throw fail(unknown.sorted()[0], "unknown key; the section holds enabled (auto, true, false) and rules") }
        let enabled = section["enabled"].map { "\($0)" }
        var rules: [ColumnRule] = []
        if let tables = section["rules"] {
            guard let tables = tables as? [String: Any] else { throw fail("rules", "must map tables to their columns' rules") }
            for (table, columns) in tables.sorted(by: { $0.key < $1.key }) {
                guard let columns = columns as? [String: Any] else { throw fail("rules.\(table)", "must map columns to rules (\(Self.usage))") }
                for (column, value) in columns.sorted(by: { $0.key < $1.key }) {
                    let path = "rules.\(table).\(column)"
                    let rule: Rule
                    switch value {
                    case is NSNull: rule = .null
                    case let name as String:
                        switch name {
                        case "null": rule = .null
                        case "email": rule = .email
                        case "keep_domain_email": rule = .keepDomainEmail
                        case "hash": rule = .hash
                        default: throw fail(path, "unknown rule '\(name)': \(Self.usage)")
                        }
                    case let mapping as [String: Any] where mapping.count == 1:
                        let (kind, argument) = mapping.first!
                        switch (kind, argument) {
                        case ("constant", is NSNull): rule = .null
                        case ("constant", let value): rule = .constant("\(value)")
                        case ("sql", let expression as String) where !expression.trimmingCharacters(in: .whitespaces).isEmpty: rule = .sql(expression)
                        default: throw fail(path, "unknown rule '\(kind)': \(Self.usage)")
                        }
                    default: throw fail(path, "not a rule: \(Self.usage)")
                    }
                    rules.append(ColumnRule(table: table, column: column, rule: rule))
                }
            }
        }
        self.init(rules: rules, enabled: enabled)
    }

    /// The fingerprint part a pristine template records.
    public var setting: String? {
        rules.isEmpty ? nil : "rules=" + PostRestoreSQL.digest(rules.map { "\($0.table).\($0.column)=\($0.rule)" }.joined(separator: ";"))
    }

    public var planLines: [String] {
        rules.isEmpty ? [] : ["prepare: anonymise per recette.yml's rules: " + rules.map { "\($0.table).\($0.column) (\(Self.name($0.rule)))" }.joined(separator: ", ")]
    }

    static func name(_ rule: Rule) -> String {
        switch rule {
        case .null: "null"
        case .constant: "constant"
        case .email: "email"
        case .keepDomainEmail: "keep_domain_email"
        case .hash: "hash"
        case .sql: "sql"
        }
    }

    /// Every rule's table and column against `columns` (table → its columns): one line naming
    /// each that is missing, before anything is touched.
    public func check(columns: [String: Set<String>], in source: String) throws {
        var problems: [String] = []
        for rule in rules {
            guard let have = columns[rule.table] else { problems.append("table '\(rule.table)' is not in \(source)"); continue }
            if !have.contains(rule.column) { problems.append("table '\(rule.table)' has no column '\(rule.column)' in \(source)") }
            if [.email, .keepDomainEmail].contains(rule.rule), !have.contains("id") { problems.append("rule \(Self.name(rule.rule)) of \(rule.table).\(rule.column) needs an id column, which '\(rule.table)' lacks") }
        }
        guard problems.isEmpty else {
            throw RecetteFailure("recette.yml's anonymize rules do not fit the backup: \(problems.joined(separator: "; ")); fix anonymize.rules (nothing was changed)")
        }
    }

    /// The `public` tables of a dump and their columns, from its `CREATE TABLE`s
    /// (`pg_restore --schema-only --file=-`, only the tables the rules name).
    public func checkAgainstDump(_ dump: URL, pgRestore: String, runner: any ProcessRunning) async throws {
        guard !rules.isEmpty else { return }
        let tables = Set(rules.map(\.table)).sorted()
        let arguments = ["--schema-only", "--section=pre-data", "--file=-"] + tables.flatMap { ["--table=\($0)"] } + [dump.path]
        let ddl = try await runner.output(of: Command(pgRestore, arguments))
        try check(columns: Self.columns(fromDDL: ddl), in: "the backup")
    }

    /// pg_dump writes `CREATE TABLE public.name (` then one column per line, 4 spaces in.
    static func columns(fromDDL ddl: String) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        var current: String?
        for line in ddl.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("CREATE TABLE public."), line.hasSuffix("(") {
                current = unquote(String(line.dropFirst("CREATE TABLE public.".count).dropLast().trimmingCharacters(in: .whitespaces)))
                result[current!] = []
            } else if let table = current {
                if line.hasPrefix(")") { current = nil; continue }
                guard line.hasPrefix("    "), !line.hasPrefix("    CONSTRAINT ") else { continue }
                let text = line.dropFirst(4)
                let name: String
                if text.hasPrefix("\"") {
                    var chars = text.dropFirst()[...]
                    var out = ""
                    while let c = chars.first {
                        chars = chars.dropFirst()
                        if c == "\"" { if chars.first == "\"" { out.append("\""); chars = chars.dropFirst() } else { break } } else { out.append(c) }
                    }
                    name = out
                } else {
                    name = String(text.prefix { $0 != " " && $0 != "," })
                }
                result[table, default: []].insert(name)
            }
        }
        return result
    }

    private static func unquote(_ name: String) -> String {
        name.hasPrefix("\"") && name.hasSuffix("\"") ? String(name.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"") : name
    }

    /// `query` runs one SQL statement in the new database. One UPDATE per table, every row;
    /// the configured admin keeps its row as the preset leaves it (the admin access action
    /// sets it afterwards anyway).
    public func apply(keepingAdmin adminEmail: String?, query: (String) async throws -> [[String?]]) async throws -> [PrepareAction] {
        var generator = SystemRandomNumberGenerator()
        // A salt of this restore: equal values hash alike within the copy (joins still work),
        // and a hash cannot be looked up in a table of known e-mails.
        let salt = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        var actions: [PrepareAction] = []
        for table in Set(rules.map(\.table)).sorted() {
            let mine = rules.filter { $0.table == table }
            let set = mine.map { "\(PostgresConnection.quoteIdentifier($0.column)) = \(Self.expression($0, salt: salt))" }
            let count = try await PersonalDataPreset.updateEveryRow(
                table, set: set, keepingAdmin: table == "admin_users" ? adminEmail : nil,
                failure: PrepareFailure(action: "anonymise \(table) (recette.yml rules)", cause: "", skip: "fix anonymize.rules in recette.yml"), query: query)
            actions.append(PrepareAction(action: "anonymise \(table) (recette.yml rules)",
                                         detail: "\(count) row(s): " + mine.map { "\($0.column) (\(Self.name($0.rule)))" }.joined(separator: ", ")))
        }
        return actions
    }

    static func expression(_ rule: ColumnRule, salt: String) -> String {
        let column = PostgresConnection.quoteIdentifier(rule.column)
        switch rule.rule {
        case .null: return "NULL"
        case .constant(let value): return PostgresConnection.quoteLiteral(value)
        case .email: return "'user-' || id || '@example.invalid'"
        case .keepDomainEmail:
            return "CASE WHEN \(column) LIKE '%@%' THEN 'user-' || id || '@' || split_part(\(column), '@', 2) ELSE \(column) END"
        case .hash:
            return "CASE WHEN \(column) IS NULL THEN NULL ELSE encode(sha256(convert_to(\(PostgresConnection.quoteLiteral(salt)) || \(column)::text, 'UTF8')), 'hex') END"
        case .sql(let expression): return "(\(expression))"
        }
    }
}
