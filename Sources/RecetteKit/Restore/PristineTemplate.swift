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

    /// The template on this server, if there is one.
    public func state(on admin: PostgresConnection) throws -> State? {
        guard let row = try admin.query("""
            SELECT shobj_description(oid, 'pg_database'), pg_database_size(oid)::text FROM pg_database WHERE datname = $1
            """, [name]).rows.first else { return nil }
        return State(marker: row[0].flatMap(Self.marker(fromComment:)), bytes: Int64(row[1] ?? "") ?? 0)
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
    func templateClause(_ template: String, on admin: PostgresConnection) -> String {
        "TEMPLATE \(PostgresConnection.quoteIdentifier(template))" + (admin.serverMajorVersion >= 15 ? " STRATEGY FILE_COPY" : "")
    }

    /// Makes the template from `source` (a complete database nobody is connected to), replacing
    /// recette's previous template of this database. Returns its size in bytes.
    @discardableResult
    public func create(from source: String, marker: PristineMarker, on admin: PostgresConnection, serverDescription: String) throws -> Int64 {
        let quoted = PostgresConnection.quoteIdentifier(name)
        if let existing = try state(on: admin) {
            guard !existing.isForeign else {
                throw RecetteFailure("database '\(name)' on \(serverDescription) is not recette's pristine template; rename or drop it, or restore with --no-pristine")
            }
            try drop(on: admin)
        }
        try admin.execute("CREATE DATABASE \(quoted) \(templateClause(source, on: admin))")
        try admin.execute("ALTER DATABASE \(quoted) WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        try admin.execute("COMMENT ON DATABASE \(quoted) IS \(PostgresConnection.quoteLiteral(try Self.comment(for: marker)))")
        return try state(on: admin)?.bytes ?? 0
    }

    /// A template database cannot be dropped: it stops being one first.
    public func drop(on admin: PostgresConnection) throws {
        let quoted = PostgresConnection.quoteIdentifier(name)
        guard try state(on: admin) != nil else { return }
        try admin.execute("ALTER DATABASE \(quoted) WITH IS_TEMPLATE false")
        try admin.execute("DROP DATABASE \(quoted)")
    }

    /// Creates `database` as a copy of the template (it must not exist).
    public func clone(into database: String, on admin: PostgresConnection) throws {
        try admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database)) \(templateClause(name, on: admin))")
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

/// A copy of the pristine template put in the place of the project's database, the way a
/// restore replaces it (claimed incoming name, rename, the replaced one kept or dropped as the
/// target says). The sessions connected to the replaced database are ended at the rename.
public struct PristineSwap: Sendable {
    public var destination: any RestoreDestination
    public var template: PristineTemplate
    public var logger: Logger

    public init(destination: any RestoreDestination, template: PristineTemplate, logger: Logger) {
        self.destination = destination
        self.template = template
        self.logger = logger
    }

    public struct Outcome: Sendable {
        public var previousDatabase: String?
        /// Sessions of the replaced database that were ended (a running CMS reconnects).
        public var endedSessions: Int
        public var seconds: Double
        public var bytes: Int64
    }

    /// `prepare` is today's prepare settings: a template made with others is refused, and so is
    /// a missing one, before anything is changed. `refresh` runs in the clone before it is
    /// swapped in (given its connection string): what must be today's, not the template's
    /// (the configured admin's password, which the template's marker cannot record).
    public func run(prepare: String, startedAt: Date, refresh: ((String) async throws -> Void)? = nil) async throws -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        let maintenance = try destination.connectionString(database: destination.maintenanceDatabase)
        let swap = try DatabaseSwap(maintenanceConnection: maintenance, database: template.names.base,
                                    keepsPrevious: destination.keepsPreviousDatabase, logger: logger)
        let claim = try swap.claim(serverDescription: destination.serverDescription, at: startedAt)
        defer { claim.release() }
        let state = try template.state(on: claim.connection)
        if let reason = template.unfitness(state, prepare: prepare, serverDescription: destination.serverDescription) {
            throw RecetteFailure(reason)
        }
        // A throwaway server (the local cluster) clones with the restore's bulk-load settings:
        // FILE_COPY's checkpoints and the drop of the replaced copy then skip fsync (7.4 s →
        // about 1 s for 1.5 GiB); the copy reaches disk at the kernel's pace, as a restore's does.
        let settings = destination.bulkLoadSettings
        if !settings.isEmpty { try await destination.applySettings(settings) }
        // Back to normal however the clone ends (a fresh task: also after Ctrl-C).
        do {
            let outcome = try await cloneAndSwap(swap, claim: claim, refresh: refresh, startedAt: startedAt, start: start, clock: clock,
                                                 bytes: state?.bytes ?? 0)
            if !settings.isEmpty { try? await destination.resetSettings(settings.map(\.0)) }
            return outcome
        } catch {
            let destination = destination
            await Task { if !settings.isEmpty { try? await destination.resetSettings(settings.map(\.0)) } }.value
            throw error
        }
    }

    private func cloneAndSwap(_ swap: DatabaseSwap, claim: IncomingClaim, refresh: ((String) async throws -> Void)?, startedAt: Date,
                              start: ContinuousClock.Instant, clock: ContinuousClock, bytes: Int64) async throws -> Outcome {
        try swap.createIncoming(claim, serverDescription: destination.serverDescription, from: template)
        if let refresh {
            do {
                try await refresh(try destination.connectionString(database: swap.incoming))
            } catch {
                try? swap.dropIncoming(claim)
                throw error
            }
        }
        let sessions = Int(try claim.connection.query("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", [swap.database]).scalar ?? "") ?? 0
        if sessions > 0 {
            logger.notice("ending \(sessions) session(s) connected to '\(swap.database)' (a running CMS reconnects to the pristine copy)")
        }
        let previous: String?
        do {
            previous = try swap.run(claim, startedAt: startedAt)
        } catch {
            try? swap.dropIncoming(claim)
            throw error
        }
        return Outcome(previousDatabase: previous, endedSessions: sessions, seconds: (clock.now - start).seconds, bytes: bytes)
    }
}
