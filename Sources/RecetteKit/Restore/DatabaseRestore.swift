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

/// Restores a backup into a database of a destination, losing nothing on the way:
/// every check runs first, the dump goes into a fresh database, which takes the place of the
/// old one by renaming only once complete. A bad archive, a failed or interrupted pg_restore
/// leaves the previous database exactly as it was.
public struct DatabaseRestore: Sendable {
    public var context: RecetteContext
    public var destination: any RestoreDestination
    public var database: String
    public var options: RestoreOptions
    public var now: @Sendable () -> Date

    public init(context: RecetteContext, destination: any RestoreDestination, database: String, options: RestoreOptions) {
        self.context = context
        self.destination = destination
        self.database = database
        self.options = options
        self.now = context.now
    }

    public func restore(archiveFile: URL) async throws -> RestoreOutcome {
        let logger = context.logger
        let runner = context.runner
        let startedAt = now()
        let timer = PhaseTimer()
        func timed<T>(_ phase: String, _ work: () async throws -> T) async throws -> T { try await timer.time(phase, work) }

        // 1. Everything about the input is checked before the target is touched.
        try destination.check(options)
        let pristine = try PristineTemplate(database: database)
        let prepare = try PristineTemplate.prepareSettings(context.configuration, localWiring: options.localWiring, target: destination.targetName)
        let preparePhase = try PreparePhase(localWiring: options.localWiring, configuration: context.configuration, target: destination.targetName)
        let checksum = options.pristine && FileManager.default.isReadableFile(atPath: archiveFile.path)
            ? try await timed("checksum") { try await PristineTemplate.checksum(of: archiveFile, runner: runner) } : nil
        var serverPrepared = false

        // A backup the pristine template already holds, made with today's settings and flags,
        // is cloned from it: a file copy, no pg_restore, no index builds.
        let pristineServer = try LibpqPristineServer(destination, configuration: context.configuration)
        if let checksum, !options.fresh {
            try await timed("prepare server") { try await destination.prepare() }
            serverPrepared = true
            if pristine.holds(try await pristine.state(on: try await pristineServer.maintenance()), checksum: checksum, prepare: prepare, options: options) {
                logger.info("the pristine template '\(pristine.name)' holds this backup: cloning it instead of restoring (--fresh restores anyway)")
                return try await PristineSwap(server: pristineServer, template: pristine, logger: logger)
                    .restore(archiveFile: archiveFile, prepare: prepare, options: options, startedAt: startedAt, timer: timer, context: context)
            }
        }
        logger.info("checking \(archiveFile.path)")
        let work = try WorkDirectory.create(in: context.stateDirectory)
        defer { work.remove() }
        let workDirectory = work.url
        let pgRestore = try context.postgresTools.require(.pgRestore)
        let (dump, toc) = try await timed("verify") {
            try await BackupVerification(context: context).verify(archiveFile, workDirectory: workDirectory)
        }
        logger.info("dump: \(toc.entries.count) items, from PostgreSQL \(toc.sourceServerVersion ?? "?"), pg_dump \(toc.pgDumpVersion ?? "?")")
        try await preparePhase.checkRules(against: dump, context: context)

        if !serverPrepared { try await timed("prepare server") { try await destination.prepare() } }
        let admin = try PostgresConnection(url: try destination.connectionString(database: destination.maintenanceDatabase))
        try RestorePreflight(pgRestoreMajor: 0).checkExtensions(toc: toc, on: admin, serverDescription: destination.serverDescription)

        // Kept tables come from the database being replaced, when there is one: checked now.
        let hasPrevious = try !preparePhase.kept.tables.isEmpty
            && !admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).rows.isEmpty
        let previousURL = hasPrevious ? try destination.connectionString(database: database) : nil
        if let previousURL {
            let previous = try PostgresConnection(url: previousURL)
            if let warning = try await preparePhase.kept.check(toc: toc, previous: { try previous.query($0).rows }, database: database) {
                logger.warning("\(warning)")
            }
        } else {
            _ = try await preparePhase.kept.check(toc: toc, previous: nil, database: database)
        }

        // The names this run will create are claimed and checked against the catalog before
        // anything is created or dropped.
        let swap = try DatabaseSwap(maintenanceConnection: try destination.connectionString(database: destination.maintenanceDatabase),
                                    database: database, keepsPrevious: destination.keepsPreviousDatabase, logger: logger)
        let claim = try await swap.claim(serverDescription: destination.serverDescription, at: startedAt)
        defer { claim.release() }

        // Roles: with --keep-owners every owner the dump names must exist; SCALINGO_DB_USER is
        // created for teams whose code expects that role, whatever the owners.
        var roles = options.keepOwners ? toc.ownerRoles : []
        if let user = context.configuration[.scalingoDBUser], !user.isEmpty { roles.insert(user) }
        for role in roles.sorted() {
            try createRoleIfMissing(role, admin: admin)
        }

        // 2. Restore into a new database.
        let incoming = swap.incoming
        try await swap.createIncoming(claim, serverDescription: destination.serverDescription)
        let settings = destination.bulkLoadSettings
        if !settings.isEmpty {
            try await timed("bulk-load settings") { try await destination.applySettings(settings) }
        }
        logger.info("restoring into a new database with \(options.jobs) job(s)")
        let server = LibpqRestoreServer(destination: destination, pgRestorePath: pgRestore, runner: runner)
        let outcome: PgRestoreRun.Outcome
        let prepared: [PrepareAction]
        do {
            // The copy is made local before anyone can use it: a failure here drops it and
            // leaves the previous database as it was. The database being replaced is read for
            // the kept tables before the swap renames it.
            (outcome, prepared) = try await RestoreFinish.load(
                into: incoming, on: server, pgRestore: pgRestore, context: context, options: options, dump: dump, toc: toc,
                workDirectory: workDirectory, preparePhase: preparePhase,
                previous: { try previousURL.map { _ in try server.plainSession(database: database) } }, timer: timer)
        } catch {
            // Runs even when the task was cancelled (Ctrl-C): a fresh task is not cancelled.
            let destination = destination
            await Task {
                if !settings.isEmpty { try? await destination.resetSettings(settings.map(\.0)) }
                try? await swap.dropIncoming(claim)
            }.value
            if let failure = error as? PrepareFailure {
                throw RecetteFailure("\(failure); the existing '\(database)' database was left as it was (\(failure.skip))")
            }
            if let failure = error as? PgRestoreFailure {
                throw RecetteFailure("pg_restore failed on '\(archiveFile.lastPathComponent)': \(failure); the existing '\(database)' database was left as it was")
            }
            throw error
        }

        // The template is taken before the swap, while nobody can be connected to the new
        // database. A server that refuses it (rights, disk) costs the template, not the restore.
        var pristineUse: RestoreReport.PristineUse?
        if let checksum {
            let marker = PristineMarker(database: database, archive: archiveFile.lastPathComponent, checksum: checksum, prepare: prepare,
                                        restoreOptions: PristineTemplate.contentOptions(options), createdAt: startedAt)
            pristineUse = await pristine.keep(from: incoming, marker: marker, on: claim.session, serverDescription: destination.serverDescription,
                                              timer: timer, logger: logger)
        }

        // 3. Swap: the old copy goes aside only once the new one is complete. Settings go back
        // to normal only afterwards: DROP DATABASE forces a checkpoint, which with fsync back on
        // would sync every file of the new copy (2.2 s of a 17 s restore in the benchmark). The
        // copy then reaches disk at the kernel's pace: a power cut in the next half minute means
        // restoring again, as a crash during the restore would.
        let previous: String?
        do {
            previous = try await timed("swap") { try await swap.run(claim, startedAt: startedAt) }
        } catch {
            if !settings.isEmpty { try? await destination.resetSettings(settings.map(\.0)) }
            throw error
        }
        if !settings.isEmpty {
            try await timed("normal settings") { try await destination.resetSettings(settings.map(\.0)) }
        }

        let counts = try await timed("count rows") { try await RestoreFinish.rowCounts(server, database: database) }
        // After the counts, which read every row: the copy would compete with them for the disk.
        if pristineUse != nil, pristineServer.keepsSpare {
            await PristineSpare(names: pristine.names).start(on: pristineServer, session: claim.session, logger: logger)
        }
        let report = RestoreReport(
            archive: archiveFile.lastPathComponent, target: destination.targetName, database: database, startedAt: startedAt, jobs: options.jobs,
            settings: settings.map { "\($0.0)=\($0.1)" }, totalSeconds: now().timeIntervalSince(startedAt),
            phases: timer.phases, pgRestorePhases: outcome.phases,
            kinds: RestoreReport.kinds(from: outcome.items), errors: outcome.errors,
            foreignKeysAddedNotValid: outcome.foreignKeysAddedNotValid, rowCounts: counts, pristine: pristineUse,
            prepare: preparePhase.runs ? prepared : nil)
        let reportFile = try? report.write(stateDirectory: context.stateDirectory)
        return RestoreOutcome(database: database, url: try destination.displayURL(database: database), tableOfContents: toc,
                              rowCounts: counts, report: report, reportFile: reportFile, previousDatabase: previous)
    }

    /// NOLOGIN and not superuser: the role only owns objects.
    private func createRoleIfMissing(_ role: String, admin: PostgresConnection) throws {
        guard try admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]).rows.isEmpty else { return }
        do {
            try admin.execute("CREATE ROLE \(PostgresConnection.quoteIdentifier(role)) NOLOGIN NOSUPERUSER")
            context.logger.info("created role '\(role)' (NOLOGIN) for the dump's objects")
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw RecetteFailure("cannot create role '\(role)' on \(destination.serverDescription) (\(error.message)); restore without --keep-owners, or create the role first")
        }
    }
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
