import Foundation
import Logging
import RecetteWorld

/// What a restore produced.
public struct RestoreOutcome: Sendable {
    public var database: String
    /// URL of the restored database, without secrets.
    public var url: String
    public var tableOfContents: TableOfContents
    public var rowCounts: [TableRowCount]
    public var report: RestoreReport
    /// `.recette/runs/restore-<timestamp>.json`
    public var reportFile: URL?
    /// Where the replaced database was kept (url target), if it existed.
    public var previousDatabase: String?
}

/// How a restored database takes its place on a target's server: the part of a restore that
/// differs between targets. Two ways exist: a new database renamed into place (`SwapPlacement`,
/// the local and url targets, reached by libpq) and the compose db service's volume reset with
/// the dump restored into it (`ComposeVolumePlacement`).
protocol RestorePlacement: Sendable {
    /// What the placement holds from `open` to the end of the restore (a claim on a name…).
    associatedtype Held: Sendable
    /// What `open` shows for confirmation before it destroys something (the compose volume
    /// reset's plan); `Void` where nothing is destroyed before the swap.
    associatedtype Destruction
    /// `local`, `url`, `compose`, for reports.
    var targetName: String { get }
    /// The database the restore replaces.
    var database: String { get }
    /// The engine's server: pg_restore, ANALYZE, the prepare phase, the counts.
    var server: any RestoreServer { get }
    /// Where the pristine template is looked for and kept.
    var pristineServer: any PristineServer { get }
    /// What a clone of the template saves, for the log: "restoring".
    var work: String { get }
    /// Makes the server reachable where that destroys nothing: before the template is read
    /// (`readingTemplate`), or once the backup is verified.
    func prepareServer(readingTemplate: Bool) async throws
    /// The template's state, before the backup is verified; nil when there is none, or none
    /// this placement can read without destroying something.
    func templateState(_ pristine: PristineTemplate) async throws -> PristineTemplate.State?
    /// The backup checked (by `BackupVerification`, against the pg_restore that will restore
    /// it): nothing is touched yet.
    func verify(_ archiveFile: URL, workDirectory: URL) async throws -> (dump: URL, toc: TableOfContents)
    /// The database the dump goes into, made ready with its bulk-load settings, after
    /// `confirm` where something is destroyed. What the server needs of the dump (its
    /// extensions, its major version) and the kept tables are checked first.
    func open(kept: KeptTables, toc: TableOfContents, options: RestoreOptions, startedAt: Date,
              confirm: (Destruction) throws -> Void, timer: PhaseTimer) async throws -> OpenedRestore<Held>
    /// After a failed or interrupted load: the settings put back and what the load left
    /// cleaned up, then the error to throw (saying what became of the database).
    func abandon(_ opened: OpenedRestore<Held>, error: any Error, archive: String) async -> any Error
    /// The session the template is made on, and its ready copy started from.
    func maintenance(_ opened: OpenedRestore<Held>) async throws -> SQLSession
    /// The loaded database in its place, then the normal settings back. Returns the name the
    /// replaced database is kept under, if it is.
    func putInPlace(_ opened: OpenedRestore<Held>, startedAt: Date, timer: PhaseTimer) async throws -> String?
    /// Ends what `open` holds, however the restore ended.
    func close(_ opened: OpenedRestore<Held>)
    /// The restored database, for people: no secret in it.
    func displayURL() throws -> String
}

/// The database a restore loads into, as `RestorePlacement.open` made it.
struct OpenedRestore<Held: Sendable>: Sendable {
    /// The database pg_restore loads: the one replaced, or a new one renamed into place.
    var database: String
    /// Bulk-load settings applied (name, value), for the report.
    var settings: [(String, String)]
    /// Opens the database being replaced, for the kept tables (nil: none).
    var previous: @Sendable () throws -> SQLSession?
    var held: Held
}

/// Restores a backup into a target's database, losing nothing on the way: every check runs
/// first, the target's placement destroys nothing before the backup is known good, and a bad
/// archive or a failed pg_restore leaves what the placement promises (the previous database
/// as it was, or a volume said to be partial). The sequence, and its phase names, are the same
/// on every target.
struct DatabaseRestore<Placement: RestorePlacement>: Sendable {
    var context: RecetteContext
    var placement: Placement
    var options: RestoreOptions

    init(context: RecetteContext, placement: Placement, options: RestoreOptions) {
        self.context = context
        self.placement = placement
        self.options = options
    }

    func restore(archiveFile: URL, confirm: (Placement.Destruction) throws -> Void = { _ in }) async throws -> RestoreOutcome {
        let logger = context.logger
        let startedAt = context.now()
        let timer = PhaseTimer()
        func timed<T>(_ phase: String, _ work: () async throws -> T) async throws -> T { try await timer.time(phase, work) }
        let (database, target) = (placement.database, placement.targetName)

        // 1. Everything about the input is checked before the target is touched.
        let pristine = try PristineTemplate(database: database)
        let prepare = try PristineTemplate.prepareSettings(context.configuration, localWiring: options.localWiring, target: target)
        let preparePhase = try PreparePhase(localWiring: options.localWiring, configuration: context.configuration, target: target)
        let checksum = options.pristine && FileManager.default.isReadableFile(atPath: archiveFile.path)
            ? try await timed("checksum") { try await PristineTemplate.checksum(of: archiveFile, runner: context.runner) } : nil

        // A backup the pristine template already holds, made with today's settings and flags,
        // is cloned from it: a file copy, no pg_restore, no index builds.
        let readsTemplate = checksum != nil && !options.fresh
        if readsTemplate { try await timed("prepare server") { try await placement.prepareServer(readingTemplate: true) } }
        if let checksum, readsTemplate,
           pristine.holds(try await placement.templateState(pristine), checksum: checksum, prepare: prepare, options: options) {
            logger.info("the pristine template '\(pristine.name)' holds this backup: cloning it instead of \(placement.work) (--fresh restores anyway)")
            return try await PristineSwap(server: placement.pristineServer, template: pristine, logger: logger)
                .restore(archiveFile: archiveFile, prepare: prepare, options: options, startedAt: startedAt, timer: timer, context: context)
        }
        logger.info("checking \(archiveFile.path)")
        let work = try WorkDirectory.create(in: context.stateDirectory)
        defer { work.remove() }
        let (dump, toc) = try await timed("verify") { try await placement.verify(archiveFile, workDirectory: work.url) }
        logger.info("dump: \(toc.entries.count) items, from PostgreSQL \(toc.sourceServerVersion ?? "?"), pg_dump \(toc.pgDumpVersion ?? "?")")
        try await preparePhase.checkRules(against: dump, context: context)
        if !readsTemplate { try await timed("prepare server") { try await placement.prepareServer(readingTemplate: false) } }

        // 2. Into the database the placement opens.
        let opened = try await placement.open(kept: preparePhase.kept, toc: toc, options: options, startedAt: startedAt, confirm: confirm, timer: timer)
        defer { placement.close(opened) }
        logger.info("restoring into '\(opened.database)' on \(placement.server.serverDescription) with \(options.jobs) job(s)")
        let outcome: PgRestoreRun.Outcome
        let prepared: [PrepareAction]
        do {
            // The copy is made local before anyone can use it (staging's Meilisearch and
            // webhooks cut); the database being replaced is read for the kept tables.
            (outcome, prepared) = try await RestoreFinish.load(
                into: opened.database, on: placement.server, pgRestore: try context.postgresTools.require(.pgRestore), context: context,
                options: options, dump: dump, toc: toc, workDirectory: work.url, preparePhase: preparePhase, previous: opened.previous, timer: timer)
        } catch {
            // Runs even when the task was cancelled (Ctrl-C): a fresh task is not cancelled.
            let (placement, archive) = (placement, archiveFile.lastPathComponent)
            throw await Task { await placement.abandon(opened, error: error, archive: archive) }.value
        }

        // The template is taken before the database is in place, while nobody can be
        // connected to it and the bulk-load settings still apply (FILE_COPY's checkpoints skip
        // fsync). A server that refuses it (rights, disk) costs the template, not the restore.
        var pristineUse: RestoreReport.PristineUse?
        if let checksum {
            let marker = PristineMarker(database: database, archive: archiveFile.lastPathComponent, checksum: checksum, prepare: prepare,
                                        restoreOptions: PristineTemplate.contentOptions(options), createdAt: startedAt)
            pristineUse = await pristine.keep(from: opened.database, marker: marker, on: try await placement.maintenance(opened),
                                              serverDescription: placement.server.serverDescription, timer: timer, logger: logger)
        }

        // 3. In place; then the counts.
        let previous = try await placement.putInPlace(opened, startedAt: startedAt, timer: timer)
        let counts = try await timed("count rows") { try await RestoreFinish.rowCounts(placement.server, database: database) }
        // After the counts, which read every row: the copy would compete with them for the disk.
        if pristineUse != nil, placement.pristineServer.keepsSpare {
            await PristineSpare(names: pristine.names).start(on: placement.pristineServer, session: try await placement.maintenance(opened), logger: logger)
        }
        let report = RestoreReport(
            archive: archiveFile.lastPathComponent, target: target, database: database, startedAt: startedAt, jobs: options.jobs,
            settings: opened.settings.map { "\($0.0)=\($0.1)" }, totalSeconds: context.now().timeIntervalSince(startedAt),
            phases: timer.phases, pgRestorePhases: outcome.phases,
            kinds: RestoreReport.kinds(from: outcome.items), errors: outcome.errors,
            foreignKeysAddedNotValid: outcome.foreignKeysAddedNotValid, rowCounts: counts, pristine: pristineUse,
            prepare: preparePhase.runs ? prepared : nil)
        let reportFile = try? report.write(stateDirectory: context.stateDirectory)
        return RestoreOutcome(database: database, url: try placement.displayURL(), tableOfContents: toc,
                              rowCounts: counts, report: report, reportFile: reportFile, previousDatabase: previous)
    }
}

extension RestorePlacement {
    func close(_ opened: OpenedRestore<Held>) {}
}

/// The checks every target runs before anything is destroyed: the archive (gzip, tar, one
/// dump), the archive format against a pg_restore, and pg_restore's reading of the TOC.
public struct BackupVerification: Sendable {
    public var context: RecetteContext

    public init(context: RecetteContext) { self.context = context }

    /// - Parameter restoringMajor: the major version of the pg_restore that will restore (a
    ///   container's); defaults to this machine's.
    public func verify(_ archiveFile: URL, workDirectory: URL, restoringMajor: Int? = nil) async throws -> (URL, TableOfContents) {
        let runner = context.runner
        let pgRestore = try context.postgresTools.require(.pgRestore)
        let archive = try await BackupArchive.inspect(archiveFile, runner: runner)
        let dump = try await archive.dumpFile(extractingInto: workDirectory.appendingPathComponent("dump"), runner: runner)
        let name = archive.kind == .customDump ? "'\(archiveFile.path)'" : "'\(dump.lastPathComponent)' in '\(archiveFile.path)'"
        // The version first: an older pg_restore cannot even list a newer archive.
        let version = try ArchiveVersion.read(from: dump)
        let hostMajor = PostgresTools.majorVersion(fromVersionOutput: try await runner.output(of: Command(pgRestore, ["--version"]))) ?? 0
        for major in Set([hostMajor, restoringMajor ?? hostMajor]) {
            try RestorePreflight(pgRestoreMajor: major).checkArchiveVersion(version, dumpName: name)
        }
        let toc = try await DumpReader(pgRestore: pgRestore, runner: runner).tableOfContents(of: dump, describedAs: name)
        return (dump, toc)
    }
}
