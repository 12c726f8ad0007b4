import Foundation
import Logging
import RecetteWorld

/// What a pristine template was made from, kept in its comment so that a later reset or
/// restore can tell whether it still fits.
public struct PristineMarker: Codable, Equatable, Sendable {
    /// The project database it is the template of.
    public var database: String
    /// The archive's file name and SHA-256: the backup it holds.
    public var archive: String
    public var checksum: String
    /// Settings that shape what the restore leaves in the database beyond the backup itself
    /// (see `PristineTemplate.prepareSettings`): a reset to this template is refused when they
    /// differ from today's.
    public var prepare: String
    /// The restore's flags that shape the content (excluded tables…).
    public var restoreOptions: String
    public var createdAt: Date
}

/// The pristine copy of the last restore, `<db>__recette_pristine`: a template database that
/// accepts no connections, cloned by `CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`, which
/// copies files (no parsing, no index builds). `reset --pristine` and a restore of the same
/// backup clone it instead of running pg_restore again.
public struct PristineTemplate: Sendable {
    public let names: DerivedDatabaseNames
    static let commentPrefix = "recette pristine template "

    public init(database: String) throws {
        names = try DerivedDatabaseNames(base: database)
    }

    public var name: String { names.pristine }

    /// Today's prepare settings, as recorded in a template's marker: the role a restore creates
    /// for the dump and the prepare phase's actions (never a secret: the admin by e-mail only).
    public static func prepareSettings(_ configuration: Configuration, localWiring: Bool, target: String) throws -> String {
        let anonymize = try PersonalDataPreset.isEnabled(configuration, target: target)
        return "db_user=\(configuration[.scalingoDBUser] ?? "");\(LocalWiring.setting(localWiring));\(PersonalDataPreset.setting(anonymize))"
            + (AdminAccess(configuration).map { ";" + AdminAccess.setting($0) } ?? "")
            + (try PostRestoreSQL(configuration).setting.map { ";" + $0 } ?? "")
            + (KeptTables(configuration).setting.map { ";" + $0 } ?? "")
            + (anonymize ? try AnonymizationRules(configuration).setting.map { ";" + $0 } ?? "" : "")
    }

    /// The restore flags that change what the database holds.
    public static func contentOptions(_ options: RestoreOptions) -> String {
        ["keep-owners=\(options.keepOwners)", "schema-only=\(options.schemaOnly)",
         "exclude-table-data=\(options.excludedTableData.joined(separator: ","))",
         "exclude-table=\(options.excludedTables.joined(separator: ","))"].joined(separator: ";")
    }

    /// SHA-256 of the archive (`sha256sum`), what the template's marker names the backup by.
    public static func checksum(of file: URL, runner: any ProcessRunning) async throws -> String {
        let output = try await runner.output(of: Command("sha256sum", ["--", file.path]))
        guard let digest = output.split(separator: " ").first, digest.count == 64 else {
            throw RecetteFailure("sha256sum gave no checksum for '\(file.path)'; install coreutils")
        }
        return String(digest)
    }

    public struct State: Sendable {
        public var marker: PristineMarker?
        public var bytes: Int64
        /// A database by that name that is not recette's template (no marker it can read).
        public var isForeign: Bool { marker == nil }
    }

    /// The template on this server, if there is one (`maintenance`: a session on the server's
    /// maintenance database).
    public func state(on maintenance: SQLSession) async throws -> State? {
        guard let row = try await maintenance.query("""
            SELECT shobj_description(oid, 'pg_database'), pg_database_size(oid)::text FROM pg_database WHERE datname = \(PostgresConnection.quoteLiteral(name))
            """).first else { return nil }
        return State(marker: row.first.flatMap { $0 }.flatMap(Self.marker(fromComment:)), bytes: Int64(row.count > 1 ? row[1] ?? "" : "") ?? 0)
    }

    static func marker(fromComment comment: String) -> PristineMarker? {
        guard comment.hasPrefix(commentPrefix) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(PristineMarker.self, from: Data(comment.dropFirst(commentPrefix.count).utf8))
    }

    static func comment(for marker: PristineMarker) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return commentPrefix + String(decoding: try encoder.encode(marker), as: UTF8.self)
    }

    /// FILE_COPY is PostgreSQL 15's name for the only strategy older servers have.
    func templateClause(_ template: String, on session: SQLSession) async throws -> String {
        let version = try await session.query("SELECT current_setting('server_version_num')").first?.first ?? nil
        return "TEMPLATE \(PostgresConnection.quoteIdentifier(template))" + ((Int(version ?? "") ?? 0) >= 150000 ? " STRATEGY FILE_COPY" : "")
    }

    /// Makes the template from `source` (a complete database nobody is connected to), replacing
    /// recette's previous template of this database. Returns its size in bytes.
    @discardableResult
    public func create(from source: String, marker: PristineMarker, on maintenance: SQLSession, serverDescription: String) async throws -> Int64 {
        let quoted = PostgresConnection.quoteIdentifier(name)
        if let existing = try await state(on: maintenance) {
            guard !existing.isForeign else {
                throw RecetteFailure("database '\(name)' on \(serverDescription) is not recette's pristine template; rename or drop it, or restore with --no-pristine")
            }
            try await drop(on: maintenance)
        } else {
            try await PristineSpare(names: names).discard(on: maintenance)
        }
        try await maintenance.statements(["CREATE DATABASE \(quoted) \(try await templateClause(source, on: maintenance))",
                                          "ALTER DATABASE \(quoted) WITH IS_TEMPLATE true ALLOW_CONNECTIONS false",
                                          "COMMENT ON DATABASE \(quoted) IS \(PostgresConnection.quoteLiteral(try Self.comment(for: marker)))"])
        return try await state(on: maintenance)?.bytes ?? 0
    }

    /// The template taken at the end of a restore, timed as its `pristine template` phase. A
    /// server that refuses it (rights, disk) costs the template, not the restore: nil, and a
    /// warning.
    func keep(from source: String, marker: PristineMarker, on maintenance: SQLSession, serverDescription: String,
              timer: PhaseTimer, logger: Logger) async -> RestoreReport.PristineUse? {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let bytes = try await timer.time("pristine template") {
                try await create(from: source, marker: marker, on: maintenance, serverDescription: serverDescription)
            }
            return .init(database: name, bytes: bytes, seconds: (clock.now - start).seconds, cloned: false)
        } catch {
            logger.warning("no pristine template kept (\(error)); 'recette reset --pristine' needs one: restore again when this is fixed")
            return nil
        }
    }

    /// A template database cannot be dropped: it stops being one first. Its ready copy goes
    /// first (`PristineSpare`): a spare is never left without the template it copies.
    public func drop(on maintenance: SQLSession) async throws {
        let quoted = PostgresConnection.quoteIdentifier(name)
        try await PristineSpare(names: names).discard(on: maintenance)
        guard try await state(on: maintenance) != nil else { return }
        try await maintenance.statements(["ALTER DATABASE \(quoted) WITH IS_TEMPLATE false", "DROP DATABASE \(quoted)"])
    }

    /// Whether the template holds this very backup, made with today's prepare settings and
    /// content flags: a restore of it can clone the template instead.
    public func holds(_ state: State?, checksum: String, prepare: String, options: RestoreOptions) -> Bool {
        guard let marker = state?.marker else { return false }
        return marker.checksum == checksum && marker.prepare == prepare && marker.restoreOptions == Self.contentOptions(options)
    }

    /// Why the template cannot stand for a restore of today, or nil when it can.
    public func unfitness(_ state: State?, prepare: String, serverDescription: String) -> String? {
        guard let state else {
            return "there is no pristine template of '\(names.base)' on \(serverDescription) (a restore makes one, unless --no-pristine): run 'recette restore' or 'recette populate'"
        }
        guard let marker = state.marker else {
            return "'\(name)' on \(serverDescription) is not a template recette made; drop it or restore again"
        }
        guard marker.prepare == prepare else {
            return "the pristine template of '\(names.base)' was made with other prepare settings (\(marker.prepare), today \(prepare)); restore again to make a new one"
        }
        return nil
    }
}
