import Foundation
import Logging
import RecetteWorld

/// A ready copy of the pristine template, `<db>__recette_spare`: made in the background once
/// the template exists and again after each reset that used it, so that the next
/// `reset --pristine` renames a finished copy into place instead of copying 1.5 GiB while
/// the developer waits (a clone of a template the page cache has let go of is read from disk:
/// 4.4 s for the 1M-offer sample, against 0.3 s for the rename).
///
/// It costs the template's size again on disk (`RECETTE_PRISTINE_SPARE=false` goes without).
/// It accepts no connections, so nobody can change it, and it is always a copy of the template
/// of today: the template is never replaced or dropped without the spare going first (and a
/// copy still being made is cancelled), and a spare older than its template (a lower oid) is
/// not used. The one statement that makes it cannot also comment it: its mark is in the
/// statement, `ALLOW_CONNECTIONS false CONNECTION LIMIT 0` (the limit is given back to -1 when
/// it is renamed into place). A database by its name without both is not recette's and is
/// left alone. (A first version compared its size with the template's: under CI load the two
/// differed minutes after an exact file copy, so size is no mark.) The copy
/// is made by one `CREATE DATABASE` sent to the server and left to run there
/// (`PristineServer.startInBackground`): it outlives recette, and a stopped server or a
/// cancelled statement leaves no half copy (PostgreSQL removes it).
public struct PristineSpare: Sendable {
    public let names: DerivedDatabaseNames

    public init(names: DerivedDatabaseNames) { self.names = names }

    public var name: String { names.spare }

    /// The ready copy's mark: no database recette did not make has both this limit and no
    /// connections allowed, under this name.
    static let connectionLimitMark = 0

    /// Whether the spare is kept: `RECETTE_PRISTINE_SPARE` (auto: where the server holds
    /// throwaway copies, recette's own cluster and the compose db service, not a url target).
    public static func isWanted(_ configuration: Configuration, byDefault: Bool) throws -> Bool {
        switch try configuration.choice(.pristineSpare, as: Choice.self) {
        case .auto: byDefault
        case .on: true
        case .off: false
        }
    }

    enum Choice: String { case auto, on = "true", off = "false" }

    public enum State: Sendable, Equatable {
        case absent
        /// Its `CREATE DATABASE` is still running, in the session of `pid`.
        case beingMade(pid: String)
        case ready(bytes: Int64)
        /// A database by that name recette cannot use. `recettes`: a copy of an older template
        /// (a lower oid), dropped when a new one is made; otherwise not recette's (it accepts
        /// connections, or lacks the connection-limit mark, or there is no template), never
        /// used or dropped.
        case unusable(recettes: Bool)
    }

    /// How the statement that makes the spare begins: also how a copy still being made is
    /// found in `pg_stat_activity`, without asking the server's version for the rest.
    var creationPrefix: String { "CREATE DATABASE \(PostgresConnection.quoteIdentifier(name)) " }

    /// The statement that makes the spare.
    func creation(on session: SQLSession) async throws -> String {
        let template = try PristineTemplate(database: names.base)
        return creationPrefix + "\(try await template.templateClause(template.name, on: session)) ALLOW_CONNECTIONS false CONNECTION LIMIT \(Self.connectionLimitMark)"
    }

    public func state(on session: SQLSession) async throws -> State {
        let literal = PostgresConnection.quoteLiteral
        let row = try await session.query("""
            SELECT (SELECT pid::text FROM pg_stat_activity WHERE starts_with(query, \(literal(creationPrefix))) AND state = 'active' AND pid <> pg_backend_pid() LIMIT 1),
                   (SELECT CASE WHEN s.datallowconn OR s.datconnlimit <> \(Self.connectionLimitMark) OR t.oid IS NULL THEN 'other'
                                WHEN s.oid::bigint < t.oid::bigint THEN 'old' ELSE pg_database_size(s.oid)::text END
                    FROM pg_database s LEFT JOIN pg_database t ON t.datname = \(literal(names.pristine)) WHERE s.datname = \(literal(name)))
            """).first ?? []
        // psql in a container prints NULL as "".
        func field(_ index: Int) -> String? { row.count > index ? row[index].flatMap { $0.isEmpty ? nil : $0 } : nil }
        if let pid = field(0) { return .beingMade(pid: pid) }
        switch field(1) {
        case nil: return .absent
        case "other": return .unusable(recettes: false)
        case "old": return .unusable(recettes: true)
        case let size?: return .ready(bytes: Int64(size) ?? 0)
        }
    }

    /// Starts making the spare on `server`, unless one is ready or being made. Never fails the
    /// run that asks: a spare is a convenience (the next reset then clones the template).
    /// Returns whether a ready copy is there or on its way.
    @discardableResult
    public func start(on server: any PristineServer, session: SQLSession, logger: Logger) async -> Bool {
        do {
            switch try await state(on: session) {
            case .ready, .beingMade: return true
            case .unusable(recettes: false):
                logger.warning("'\(name)' on \(server.serverDescription) is not recette's ready copy (it accepts connections, or has no CONNECTION LIMIT 0): left alone, and the next reset clones the template; drop or rename it to have a ready copy again")
                return false
            case .unusable(recettes: true):
                try await drop(on: session)
            case .absent: break
            }
            try await server.startInBackground(try await creation(on: session))
            logger.info("making a ready copy of the pristine template in the background ('\(name)'), for the next reset")
            return true
        } catch {
            logger.warning("no ready copy of the pristine template is being made (\(error)); the next reset clones the template")
            return false
        }
    }

    /// Renames a ready spare to `incoming` (dropping a leftover by that name first) and opens it
    /// to connections. A spare still being made is waited for. False when there is none: the
    /// caller clones the template.
    func take(as incoming: String, marker: String, on session: SQLSession, logger: Logger, polling: Polling = Self.polling) async throws -> Bool {
        var current = try await state(on: session)
        if case .beingMade = current {
            logger.notice("waiting for the ready copy of the template being made in the background ('\(name)')")
            current = try await polling.poll(timeout: .seconds(900)) { () -> State? in
                let state = try await state(on: session)
                if case .beingMade = state { return nil }
                return state
            } ?? current
        }
        guard case .ready = current else { return false }
        let quoted = PostgresConnection.quoteIdentifier
        try await session.statements(["DROP DATABASE IF EXISTS \(quoted(incoming)) WITH (FORCE)",
                                      "ALTER DATABASE \(quoted(name)) RENAME TO \(quoted(incoming))",
                                      "ALTER DATABASE \(quoted(incoming)) WITH ALLOW_CONNECTIONS true CONNECTION LIMIT -1",
                                      "COMMENT ON DATABASE \(quoted(incoming)) IS \(PostgresConnection.quoteLiteral(marker))"])
        return true
    }

    package static let polling = Polling(first: .milliseconds(100), longest: .seconds(1))

    /// Cancels a copy being made and drops the spare: before its template is replaced or
    /// dropped, and by `pristine drop`. A database by that name that is not recette's is left
    /// alone.
    package func discard(on session: SQLSession, polling: Polling = Self.polling) async throws {
        if case .beingMade(let pid) = try await state(on: session) {
            _ = try await session.query("SELECT pg_cancel_backend(\(Int(pid) ?? 0))")
            let ended = try await polling.poll(timeout: .seconds(60)) { () -> Bool? in
                if case .beingMade = try await state(on: session) { return nil }
                return true
            }
            guard ended != nil else {
                throw RecetteFailure("the ready copy '\(name)' is still being made a minute after it was cancelled (session \(pid)); end that session (pg_terminate_backend) and run this again")
            }
        }
        try await drop(on: session)
    }

    private func drop(on session: SQLSession) async throws {
        if case .unusable(recettes: false) = try await state(on: session) { return }
        try await session.script("DROP DATABASE IF EXISTS \(PostgresConnection.quoteIdentifier(name)) WITH (FORCE)")
    }
}
