import Foundation
import Logging
import RecetteWorld

/// The compose db service as the home of a pristine template: every statement through psql
/// inside the container (`ComposeServiceServer`), as the compose restore runs them, so a db
/// service that publishes no port works the same. The CMS service is stopped around the
/// rename when asked (`CMSAroundSwap`): a running Strapi would otherwise hold sessions on the
/// database being replaced and reconnect to it at once.
public struct ComposePristineServer: PristineServer {
    public var server: ComposeServiceServer
    /// The CMS service stopped around the rename (unless `cms` is `.endSessions`).
    public var cmsService: String
    public var cms: CMSAroundSwap
    /// Starting the db service (when it is not running) waits for its healthcheck.
    public var waitsForHealthcheck: Bool
    public var timeout: Duration
    public var keepsSpare: Bool

    public init(server: ComposeServiceServer, cmsService: String, cms: CMSAroundSwap, waitsForHealthcheck: Bool, keepsSpare: Bool,
                timeout: Duration = .seconds(120)) {
        self.server = server
        self.cmsService = cmsService
        self.cms = cms
        self.waitsForHealthcheck = waitsForHealthcheck
        self.keepsSpare = keepsSpare
        self.timeout = timeout
    }

    /// psql started with `docker compose exec --detach`: it goes on in the container after
    /// this returns. The statement is on psql's command line (a detached exec has no standard
    /// input): it names databases only.
    public func startInBackground(_ statement: String) async throws {
        try await project.exec(service: server.service, argv: ["psql", "--no-psqlrc", "--quiet", "--username=\(server.user)", "--dbname=\(maintenanceDatabase)",
                                                               "--command=\(statement)"], detached: true)
    }

    var project: ComposeProject { server.project }
    var logger: Logger { server.logger }

    public var targetName: String { "compose" }
    public var serverDescription: String { server.serverDescription }
    /// Every image of the official postgres family has it (initdb makes it).
    public var maintenanceDatabase: String { "postgres" }
    public var keepsPreviousDatabase: Bool { false }
    public var asksConfirmation: Bool { true }

    public var aroundSwapPlan: String? {
        switch cms {
        case .endSessions: nil
        case .stopAndRestart: "stop the CMS service '\(cmsService)' if it runs (docker compose stop \(cmsService)) and start it again after the rename"
        case .stop: "stop the CMS service '\(cmsService)' if it runs (docker compose stop \(cmsService)); the cms step starts it"
        }
    }

    public func displayURL(database: String) throws -> String { "compose service '\(server.service)', database '\(database)'" }

    /// Inside the running db container's root, links followed inside it.
    public func pathOnThisMachine(serverPath: String) async -> String? {
        guard let container = try? await project.runningContainer(of: server.service),
              let root = await ComposeServiceSocket.containerRoot(container: container, project: project) else { return nil }
        return ComposeServiceSocket.resolve(serverPath, under: root)
    }

    /// The db service is started when it does not answer (its volume, and the template in it,
    /// stay as they are).
    public func prepare() async throws {
        if (try? await server.query("SELECT 1", database: maintenanceDatabase)) != nil { return }
        logger.info("starting the '\(server.service)' service")
        try await project.up(services: [server.service], wait: waitsForHealthcheck, timeout: timeout)
        try await project.waitUntilReady(service: server.service, user: server.user, timeout: timeout)
    }

    public func session(database: String) async throws -> SQLSession {
        let server = server
        // psql autocommits each statement of its standard input: CREATE DATABASE may be one.
        return SQLSession(query: { sql in try await server.query(sql, database: database) },
                          script: { sql in try await server.execute(sql, database: database) },
                          statements: { list in
                              guard !list.isEmpty else { return }
                              try await server.execute(list.map { $0 + ";" }.joined(separator: "\n"), database: database)
                          })
    }

    /// Unlocked: each psql is a session of its own, and the project's run lock keeps a second
    /// run out of this project's db service.
    public func claim(database: String, at date: Date, logger: Logger) async throws -> (DatabaseSwap, IncomingClaim) {
        let swap = try DatabaseSwap(maintenanceConnection: nil, database: database, keepsPrevious: false, logger: logger)
        return (swap, try await swap.claim(on: try await maintenance(), serverDescription: serverDescription, at: date))
    }

    /// The db service keeps its own settings: it is not a throwaway server.
    public func withCloneSettings<T: Sendable>(_ clone: () async throws -> T) async throws -> T { try await clone() }

    public func aroundSwap<T: Sendable>(_ swap: (_ clientsStopped: Bool) async throws -> T) async throws -> (T, note: String?) {
        guard cms != .endSessions else { return (try await swap(false), nil) }
        let service = cmsService
        guard try await project.isRunning(service: service) else {
            return (try await swap(false), "the CMS service '\(service)' is not running: nothing was stopped or started")
        }
        let after = cms == .stopAndRestart ? "it is started again after" : "the cms step starts it again"
        logger.notice("stopping the CMS service '\(service)' for the swap (\(after))")
        try await project.stop(services: [service])
        let result: T
        do {
            result = try await swap(true)
        } catch {
            // The database in place is the one the CMS ran on: it goes back as it was.
            if cms == .stopAndRestart {
                let (project, timeout) = (project, timeout)
                await Task { try? await project.up(services: [service], wait: true, timeout: timeout) }.value
            }
            throw error
        }
        guard cms == .stopAndRestart else {
            return (result, "the CMS service '\(service)' was stopped for the swap; the cms step starts it again")
        }
        logger.notice("starting the CMS service '\(service)' again: docker compose up --wait \(service)")
        do {
            try await project.up(services: [service], wait: true, timeout: timeout)
        } catch {
            throw RecetteFailure("the database was reset, but the CMS service '\(service)' did not start again (\(error)); see 'docker compose logs \(service)'")
        }
        return (result, "the CMS service '\(service)' was stopped for the swap and started again")
    }
}

extension ComposeTarget {
    /// The db service's server as the restore reaches it, with the CMS service of the project.
    static func pristineServer(_ context: RecetteContext, cms: CMSAroundSwap) async throws -> (server: ComposePristineServer, database: String) {
        let reset = try await ComposeDatabaseReset.configured(by: context)
        let plan = try await reset.plan()
        let names = try await ComposeNames.resolve(context, project: reset.project).0
        let server = ComposeServiceServer(project: reset.project, service: reset.service, user: plan.databaseUser, runner: context.runner, logger: context.logger)
        return (ComposePristineServer(server: server, cmsService: names.cmsService, cms: cms, waitsForHealthcheck: plan.waitsForHealthcheck,
                                      keepsSpare: try PristineSpare.isWanted(context.configuration, byDefault: true)),
                plan.databaseName)
    }
}
