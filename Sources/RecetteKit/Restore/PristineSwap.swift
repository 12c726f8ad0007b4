import Foundation
import Logging
import RecetteWorld

/// What a pristine swap does with a CMS working on the database it replaces.
public enum CMSAroundSwap: Sendable, Equatable {
    /// Its sessions are ended at the rename and it reconnects to the copy (local and url
    /// targets; a compose restore that clones, as the volume reset it stands for would).
    case endSessions
    /// compose: the CMS service is stopped before the rename and, if it was running, started
    /// again after (`reset --pristine`).
    case stopAndRestart
    /// compose: stopped before the rename and left for the caller to start (populate's `cms`
    /// step, which checks the schema first).
    case stop
}

/// The server a pristine template lives on, however recette reaches it: libpq from this
/// machine (`LibpqPristineServer`: local and url targets) or psql inside the compose db
/// service (`ComposePristineServer`, which needs no published port).
public protocol PristineServer: Sendable {
    /// `local`, `url`, `compose`, for reports.
    var targetName: String { get }
    /// For messages: `the local server`, `the 'db' service`.
    var serverDescription: String { get }
    var maintenanceDatabase: String { get }
    /// Keep the replaced database under a dated name instead of dropping it.
    var keepsPreviousDatabase: Bool { get }
    /// Ask before replacing the database here (a url target on another machine was confirmed
    /// by its guard already).
    var asksConfirmation: Bool { get }
    /// What happens around the rename, for `--dry-run` (nil: nothing beyond ending sessions).
    var aroundSwapPlan: String? { get }
    /// Makes the server reachable (starts the local cluster, the db service).
    func prepare() async throws
    /// Statements in `database`.
    func session(database: String) async throws -> SQLSession
    /// The swap into `database` and this run's claim on its incoming name.
    func claim(database: String, at date: Date, logger: Logger) async throws -> (DatabaseSwap, IncomingClaim)
    /// Runs the clone with the server's bulk-load settings, where it has any.
    func withCloneSettings<T: Sendable>(_ clone: () async throws -> T) async throws -> T
    /// Runs the rename; returns a sentence for people about what was done around it (the CMS).
    /// `swap` is told whether the clients were stopped first (their sessions are then ending).
    func aroundSwap<T: Sendable>(_ swap: (_ clientsStopped: Bool) async throws -> T) async throws -> (T, note: String?)
    /// Where the copy is, for people: a URL without secrets, or a description.
    func displayURL(database: String) throws -> String
    /// Where this machine reads `serverPath`, a path of the server's own file system (its data
    /// directory); nil when it cannot (a server elsewhere, a remote Docker engine).
    func pathOnThisMachine(serverPath: String) async -> String?
    /// A ready copy of the template is kept beside it (`PristineSpare`).
    var keepsSpare: Bool { get }
    /// Sends `statement` to the maintenance database and returns without waiting: the server
    /// runs it to its end after this run has gone.
    func startInBackground(_ statement: String) async throws
}

extension PristineServer {
    public func maintenance() async throws -> SQLSession { try await session(database: maintenanceDatabase) }
}

/// A pristine template's server reached by libpq, as the restore's destination is.
public struct LibpqPristineServer: PristineServer {
    public var destination: any RestoreDestination
    public var asksConfirmation: Bool
    public var keepsSpare: Bool

    /// `asksConfirmation` false: the server was confirmed already (a url target on another
    /// machine, by its guard). `configuration`: where `RECETTE_PRISTINE_SPARE` is read.
    public init(_ destination: any RestoreDestination, asksConfirmation: Bool = true, configuration: Configuration) throws {
        self.destination = destination
        self.asksConfirmation = asksConfirmation
        keepsSpare = try PristineSpare.isWanted(configuration, byDefault: destination.holdsThrowawayCopies)
    }

    public func startInBackground(_ statement: String) async throws {
        let connection = try PostgresConnection(url: try destination.connectionString(database: maintenanceDatabase))
        try await connection.onOwnThread { try $0.sendWithoutWaiting(statement) }
    }

    public var targetName: String { destination.targetName }
    public var serverDescription: String { destination.serverDescription }
    public var maintenanceDatabase: String { destination.maintenanceDatabase }
    public var keepsPreviousDatabase: Bool { destination.keepsPreviousDatabase }
    public var aroundSwapPlan: String? { nil }
    public func prepare() async throws { try await destination.prepare() }
    public func displayURL(database: String) throws -> String { try destination.displayURL(database: database) }
    public func pathOnThisMachine(serverPath: String) async -> String? { destination.serverFilesAreHere ? serverPath : nil }

    public func session(database: String) async throws -> SQLSession {
        SQLSession(try PostgresConnection(url: try destination.connectionString(database: database)))
    }

    public func claim(database: String, at date: Date, logger: Logger) async throws -> (DatabaseSwap, IncomingClaim) {
        let swap = try DatabaseSwap(maintenanceConnection: try destination.connectionString(database: maintenanceDatabase),
                                    database: database, keepsPrevious: keepsPreviousDatabase, logger: logger)
        return (swap, try await swap.claim(serverDescription: serverDescription, at: date))
    }

    /// A throwaway server (the local cluster) clones with the restore's bulk-load settings:
    /// FILE_COPY's checkpoints and the drop of the replaced copy then skip fsync (7.4 s →
    /// about 1 s for 1.5 GiB); the copy reaches disk at the kernel's pace, as a restore's does.
    public func withCloneSettings<T: Sendable>(_ clone: () async throws -> T) async throws -> T {
        let settings = destination.bulkLoadSettings
        guard !settings.isEmpty else { return try await clone() }
        try await destination.applySettings(settings)
        // Back to normal however the clone ends (a fresh task: also after Ctrl-C).
        do {
            let result = try await clone()
            try? await destination.resetSettings(settings.map(\.0))
            return result
        } catch {
            let destination = destination
            await Task { try? await destination.resetSettings(settings.map(\.0)) }.value
            throw error
        }
    }

    public func aroundSwap<T: Sendable>(_ swap: (_ clientsStopped: Bool) async throws -> T) async throws -> (T, note: String?) {
        (try await swap(false), nil)
    }
}

/// A copy of the pristine template put in the place of the project's database, the way a
/// restore replaces it (claimed incoming name, rename, the replaced one kept or dropped as the
/// target says). The sessions connected to the replaced database are ended at the rename.
public struct PristineSwap: Sendable {
    public var server: any PristineServer
    public var template: PristineTemplate
    public var logger: Logger

    public init(server: any PristineServer, template: PristineTemplate, logger: Logger) {
        self.server = server
        self.template = template
        self.logger = logger
    }

    public struct Outcome: Sendable {
        public var previousDatabase: String?
        /// Sessions of the replaced database that were ended (a running CMS reconnects).
        public var endedSessions: Int
        public var seconds: Double
        public var bytes: Int64
        /// What was done around the rename (the compose CMS service stopped and started).
        public var note: String?
        /// The template's ready copy was renamed into place (no copy made while waiting).
        public var fromSpare: Bool
        /// The next ready copy is there or being made in the background.
        public var nextSpare: Bool
    }

    /// `prepare` is today's prepare settings: a template made with others is refused, and so is
    /// a missing one, before anything is changed. `refresh` runs in the clone before it is
    /// swapped in: what must be today's, not the template's (the configured admin's password,
    /// which the template's marker cannot record).
    public func run(prepare: String, startedAt: Date, refresh: ((SQLSession) async throws -> Void)? = nil) async throws -> Outcome {
        let clock = ContinuousClock()
        let start = clock.now
        let (swap, claim) = try await server.claim(database: template.names.base, at: startedAt, logger: logger)
        defer { claim.release() }
        let state = try await template.state(on: claim.session)
        if let reason = template.unfitness(state, prepare: prepare, serverDescription: server.serverDescription) {
            throw RecetteFailure(reason)
        }
        return try await server.withCloneSettings {
            try await cloneAndSwap(swap, claim: claim, refresh: refresh, startedAt: startedAt, start: start, clock: clock, bytes: state?.bytes ?? 0)
        }
    }

    private func cloneAndSwap(_ swap: DatabaseSwap, claim: IncomingClaim, refresh: ((SQLSession) async throws -> Void)?, startedAt: Date,
                              start: ContinuousClock.Instant, clock: ContinuousClock, bytes: Int64) async throws -> Outcome {
        let spare = PristineSpare(names: template.names)
        var fromSpare = false
        if server.keepsSpare { fromSpare = try await spare.take(as: swap.incoming, marker: swap.incomingMarker, on: claim.session, logger: logger) }
        if !fromSpare {
            await TemplateReadahead(server: server, template: template.name, logger: logger).start(on: claim.session)
            try await swap.createIncoming(claim, serverDescription: server.serverDescription, from: template)
        }
        do {
            if let refresh { try await refresh(try await server.session(database: swap.incoming)) }
            let ((previous, sessions), note) = try await server.aroundSwap { clientsStopped -> (String?, Int) in
                // Clients only: an autovacuum worker in the replaced database is no one's to warn about.
                let count = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = \(PostgresConnection.quoteLiteral(swap.database))"
                func clientSessions() async throws -> Int { Int((try await claim.session.query(count).first?.first ?? nil) ?? "") ?? 0 }
                var sessions = try await clientSessions()
                // A stopped CMS's sessions end on their own a moment later (sooner on a quiet
                // machine): wait for them a little rather than end them.
                let deadline = ContinuousClock.now + .seconds(5)
                while clientsStopped && sessions > 0 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    sessions = try await clientSessions()
                }
                if sessions > 0 {
                    logger.notice("ending \(sessions) session(s) connected to '\(swap.database)' (a running CMS reconnects to the pristine copy)")
                }
                return (try await swap.run(claim, startedAt: startedAt), sessions)
            }
            let seconds = (clock.now - start).seconds
            let nextSpare = server.keepsSpare ? await spare.start(on: server, session: claim.session, logger: logger) : false
            return Outcome(previousDatabase: previous, endedSessions: sessions, seconds: seconds, bytes: bytes, note: note,
                           fromSpare: fromSpare, nextSpare: nextSpare)
        } catch {
            // Nothing to drop once the rename happened: the incoming name is gone by then.
            let claim = claim
            await Task { try? await swap.dropIncoming(claim) }.value
            throw error
        }
    }

    /// A restore of the backup the template holds: the template cloned and swapped in, then
    /// counted and reported like a restore.
    func restore(archiveFile: URL, prepare: String, options: RestoreOptions, startedAt: Date, timer: PhaseTimer,
                 context: RecetteContext) async throws -> RestoreOutcome {
        let server = server
        let database = template.names.base
        let admin = AdminAccess(context.configuration)
        let outcome = try await timer.time("clone pristine") {
            try await run(prepare: prepare, startedAt: startedAt, refresh: admin.map { admin in { try await admin.refresh(query: $0.query) } })
        }
        let counts = try await timer.time("count rows") {
            TableRowCount.parse(try await server.session(database: database).query(TableRowCount.sql))
        }
        let report = RestoreReport(
            archive: archiveFile.lastPathComponent, target: server.targetName, database: database, startedAt: startedAt, jobs: options.jobs,
            settings: [], totalSeconds: context.now().timeIntervalSince(startedAt), phases: timer.phases, pgRestorePhases: [], kinds: [], errors: [],
            foreignKeysAddedNotValid: 0, rowCounts: counts,
            pristine: .init(database: template.name, bytes: outcome.bytes, seconds: outcome.seconds, cloned: true))
        let reportFile = try? report.write(stateDirectory: context.stateDirectory)
        return RestoreOutcome(database: database, url: try server.displayURL(database: database), tableOfContents: TableOfContents(entries: []),
                              rowCounts: counts, report: report, reportFile: reportFile, previousDatabase: outcome.previousDatabase)
    }
}
