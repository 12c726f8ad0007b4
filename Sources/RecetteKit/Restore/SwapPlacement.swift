import Foundation
import Logging
import RecetteWorld

/// The local and url targets' placement: the dump goes into a new database on a server
/// reached by libpq (`RestoreDestination`), which takes the place of the old one by renaming
/// only once complete (`DatabaseSwap`). A failed or interrupted load drops the new database
/// and leaves the previous one exactly as it was.
struct SwapPlacement: RestorePlacement {
    var context: RecetteContext
    var destination: any RestoreDestination
    var database: String
    let libpqServer: LibpqRestoreServer
    let libpqPristineServer: LibpqPristineServer

    /// Checks the options against the destination (`--unlogged` only on throwaway copies).
    init(context: RecetteContext, destination: any RestoreDestination, database: String, options: RestoreOptions) throws {
        try destination.check(options)
        self.context = context
        self.destination = destination
        self.database = database
        libpqServer = LibpqRestoreServer(destination: destination, pgRestorePath: try context.postgresTools.require(.pgRestore), runner: context.runner)
        libpqPristineServer = try LibpqPristineServer(destination, configuration: context.configuration)
    }

    var targetName: String { destination.targetName }
    var server: any RestoreServer { libpqServer }
    var pristineServer: any PristineServer { libpqPristineServer }
    var work: String { "restoring" }

    /// Held from `open` on: the claim on the incoming name and its swap.
    struct Held: Sendable {
        var swap: DatabaseSwap
        var claim: IncomingClaim
    }

    /// Starts the local cluster; checks a url target against the recette app's database.
    func prepareServer(readingTemplate: Bool) async throws { try await destination.prepare() }

    func templateState(_ pristine: PristineTemplate) async throws -> PristineTemplate.State? {
        return try await pristine.state(on: try await libpqPristineServer.maintenance())
    }

    func verify(_ archiveFile: URL, workDirectory: URL) async throws -> (dump: URL, toc: TableOfContents) {
        try await BackupVerification(context: context).verify(archiveFile, workDirectory: workDirectory)
    }

    func open(kept: KeptTables, toc: TableOfContents, options: RestoreOptions, startedAt: Date,
                     confirm: (()) throws -> Void, timer: PhaseTimer) async throws -> OpenedRestore<Held> {
        let logger = context.logger
        let admin = try PostgresConnection(url: try destination.connectionString(database: destination.maintenanceDatabase))
        let destination = destination
        try await admin.onOwnThread { try RestorePreflight(pgRestoreMajor: 0).checkExtensions(toc: toc, on: $0, serverDescription: destination.serverDescription) }
        // Kept tables come from the database being replaced, when there is one: checked now,
        // read by the prepare phase before the swap renames it.
        let hasPrevious = try await admin.onOwnThread { admin in
            try !kept.tables.isEmpty && !admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).rows.isEmpty
        }
        if hasPrevious {
            let previous = SQLSession(try PostgresConnection(url: try destination.connectionString(database: database)))
            if let warning = try await kept.check(toc: toc, previous: previous.query, database: database) { logger.warning("\(warning)") }
        } else {
            _ = try await kept.check(toc: toc, previous: nil, database: database)
        }

        // The names this run will create are claimed and checked against the catalog before
        // anything is created or dropped.
        let swap = try DatabaseSwap(maintenanceConnection: try destination.connectionString(database: destination.maintenanceDatabase),
                                    database: database, keepsPrevious: destination.keepsPreviousDatabase, logger: logger)
        let claim = try await swap.claim(serverDescription: destination.serverDescription, at: startedAt)
        do {
            // Roles: with --keep-owners every owner the dump names must exist; SCALINGO_DB_USER
            // is created for teams whose code expects that role, whatever the owners.
            var roles = options.keepOwners ? toc.ownerRoles : []
            if let user = context.configuration[.scalingoDBUser], !user.isEmpty { roles.insert(user) }
            for role in roles.sorted() {
                try await admin.onOwnThread { try createRoleIfMissing(role, admin: $0) }
            }
            try await swap.createIncoming(claim, serverDescription: destination.serverDescription)
            let settings = destination.bulkLoadSettings
            if !settings.isEmpty {
                try await timer.time("bulk-load settings") { try await destination.applySettings(settings) }
            }
            let (server, database) = (libpqServer, database)
            return OpenedRestore(database: swap.incoming, settings: settings,
                                 previous: { hasPrevious ? try server.plainSession(database: database) : nil },
                                 held: Held(swap: swap, claim: claim))
        } catch {
            claim.release()
            throw error
        }
    }

    func abandon(_ opened: OpenedRestore<Held>, error: any Error, archive: String) async -> any Error {
        if !opened.settings.isEmpty { try? await destination.resetSettings(opened.settings.map(\.0)) }
        try? await opened.held.swap.dropIncoming(opened.held.claim)
        if let failure = error as? PrepareFailure {
            return RecetteFailure("\(failure); the existing '\(database)' database was left as it was (\(failure.skip))")
        }
        if let failure = error as? PgRestoreFailure {
            return RecetteFailure("pg_restore failed on '\(archive)': \(failure); the existing '\(database)' database was left as it was")
        }
        return error
    }

    func maintenance(_ opened: OpenedRestore<Held>) async throws -> SQLSession { opened.held.claim.session }

    /// The old copy goes aside only once the new one is complete. Settings go back to normal
    /// only afterwards: DROP DATABASE forces a checkpoint, which with fsync back on would sync
    /// every file of the new copy (2.2 s of a 17 s restore in the benchmark). The copy then
    /// reaches disk at the kernel's pace: a power cut in the next half minute means restoring
    /// again, as a crash during the restore would.
    func putInPlace(_ opened: OpenedRestore<Held>, startedAt: Date, timer: PhaseTimer) async throws -> String? {
        let names = opened.settings.map(\.0)
        let previous: String?
        do {
            previous = try await timer.time("swap") { try await opened.held.swap.run(opened.held.claim, startedAt: startedAt) }
        } catch {
            if !names.isEmpty { try? await destination.resetSettings(names) }
            throw error
        }
        if !names.isEmpty {
            try await timer.time("normal settings") { try await destination.resetSettings(names) }
        }
        return previous
    }

    func close(_ opened: OpenedRestore<Held>) { opened.held.claim.release() }

    func displayURL() throws -> String { try destination.displayURL(database: database) }

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

extension DatabaseRestore where Placement == SwapPlacement {
    /// A restore into `database` of a server reached by libpq: a new database, then the swap.
    init(context: RecetteContext, destination: any RestoreDestination, database: String, options: RestoreOptions) throws {
        self.init(context: context, placement: try SwapPlacement(context: context, destination: destination, database: database, options: options),
                  options: options)
    }
}
