import Foundation
import RecetteWorld

/// The `compose` target: the project's db service. Its reset deletes only that service's
/// volume; the restore runs inside the container; the CMS is its compose service.
public struct ComposeTarget: Target {
    public var context: RecetteContext
    public var kind: RestoreTargetKind { .compose }

    public func restorePlan(file: URL, options: RestoreOptions) async throws -> [String] {
        let reset = try await ComposeDatabaseReset.configured(by: context)
        let plan = try await reset.plan()
        // An image with no major is refused from its tag alone: said now, not after a download.
        if let refusal = PostgresImagePin.refusal(image: plan.image, service: reset.service, archiveMajor: nil) {
            return ["would stop before anything is reset: \(refusal)"]
        }
        return ["check \(file.path) (also against the pg_restore of the '\(reset.service)' image, and its major against the archive's), then:"] + plan.lines
            + ["copy the dump into the container and run \(Targets.pgRestoreFlags(options)) there"]
            + (try PreparePhase(localWiring: options.localWiring, configuration: context.configuration, target: kind.rawValue).planLines)
            + (options.pristine ? ["keep a pristine template '\(try PristineTemplate(database: plan.databaseName).name)' of the result in the '\(reset.service)' service"
                                   + (options.fresh ? "" : "; a backup it already holds (same checksum and settings) is cloned from it instead of the reset and pg_restore above")] : [])
    }

    public func restore(file: URL, options: RestoreOptions, confirmReset: (ComposeResetPlan) throws -> Void) async throws -> RestoreOutcome {
        let reset = try await ComposeDatabaseReset.configured(by: context)
        let placement = try await ComposeVolumePlacement(context: context, reset: reset)
        return try await DatabaseRestore(context: context, placement: placement, options: options).restore(archiveFile: file, confirm: confirmReset)
    }

    public func resetDatabase(waitTimeout: Duration, confirm: (String, String) throws -> Void) async throws -> [String] {
        let reset = try await ComposeDatabaseReset.configured(by: context, timeout: waitTimeout)
        let plan = try await reset.plan()
        if context.dryRun { return plan.lines }
        try confirm(plan.question, "delete volume \(plan.volume.dockerName)")
        let outcome = try await reset.run(plan)
        let seconds = { (phase: String) in String(format: "%.1f", outcome.seconds[phase] ?? 0) }
        let what = outcome.removal == .removed ? "deleted and recreated" : "created (there was none)"
        return ["volume \(outcome.volume.dockerName) \(what); '\(outcome.volume.service)' ready in \(seconds("total")) s (remove \(seconds("remove")) s, start \(seconds("start")) s, ready \(seconds("ready")) s)"]
    }

    public func templateServer(for what: String, cms: CMSAroundSwap) async throws -> (server: any PristineServer, database: String) {
        let (server, database) = try await Self.pristineServer(context, cms: cms)
        return (server, database)
    }

    public func searchRows() async throws -> any SearchRowSource {
        try await Self.composeRows(context)
    }

    public var runsCMS: Bool { true }
    public func cms() async throws -> CMSStarter? { try await CMSStarter.configured(by: context, compose: true) }

    /// The CMS service's environment as compose resolves it (to name a string batch size).
    public func cmsEnvironment() async -> [String: String] {
        guard let project = try? ComposeProject.configured(by: context),
              let (names, resolved) = try? await ComposeNames.resolve(context, project: project),
              let service = resolved.services[names.cmsService] else { return [:] }
        return service.environment.compactMapValues { $0 }
    }

    static func composeRows(_ context: RecetteContext) async throws -> any SearchRowSource {
        let route = context.configuration.text(.composeDBRoute)
        let project = try ComposeProject.configured(by: context)
        let (names, resolved) = try await ComposeNames.resolve(context, project: project)
        let service = names.dbService
        guard let definition = resolved.services[service] else {
            throw ComposeError.unknownService(service: service, available: Array(resolved.services.keys))
        }
        let described = ComposeServiceDetection(resolved).describeDatabase(name: service, service: definition)
        let (user, database) = (described.user, described.database)
        let password = ComposeServiceDetection.value("POSTGRES_PASSWORD", in: definition).map(Secret.init)
        let throughService = ComposeServiceRowSource(project: project, service: service, user: user, database: database, password: password)
        if route == "exec" { return throughService }
        let preferredPort = ComposeServiceDetection.value("PGPORT", in: definition).flatMap { Int($0) }
        if route == "socket" {
            let container = try await project.runningContainer(of: service)
            guard let socket = await ComposeServiceSocket.locate(container: container, project: project, preferredPort: preferredPort) else {
                throw RecetteFailure("""
                    no PostgreSQL socket of the compose service '\(service)' is reachable from this machine, and RECETTE_COMPOSE_DB_ROUTE=socket asks for it \
                    (it needs the Docker engine on this machine and root): set RECETTE_COMPOSE_DB_ROUTE=auto
                    """)
            }
            return socketRows(socket, service: service, user: user, database: database, password: password)
        }
        let result = try await context.runner.run(project.command(["port", service, "5432"]), input: nil, output: .collect(),
                                                  onStandardErrorLine: nil, acceptedExitStatuses: Set(0...255))
        let published = result.outputText.split(separator: "\n").first.map(String.init) ?? ""
        guard result.exitStatus == 0, let colon = published.lastIndex(of: ":"), let port = Int(published[published.index(after: colon)...]) else {
            guard route == "auto" else {
                throw RecetteFailure("""
                    the compose service '\(service)' publishes no PostgreSQL port, and RECETTE_COMPOSE_DB_ROUTE=port asks for one: \
                    publish it on this machine only (ports: ["127.0.0.1:5432:5432"]) or set RECETTE_COMPOSE_DB_ROUTE=auto
                    """)
            }
            // Nothing published (a db on an internal network): the server's own socket when this
            // machine can reach it, else through the service itself.
            if let container = try? await project.runningContainer(of: service),
               let socket = await ComposeServiceSocket.locate(container: container, project: project, preferredPort: preferredPort) {
                let rows = socketRows(socket, service: service, user: user, database: database, password: password)
                do {
                    _ = try await rows.query("SELECT 1")
                    return rows
                } catch {
                    context.logger.debug("the socket \(socket.directory)/.s.PGSQL.\(socket.port) did not answer (\(error)): reading through docker exec")
                }
            }
            return throughService
        }
        var host = String(published[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if host == "0.0.0.0" || host == "::" || host.isEmpty { host = "127.0.0.1" }
        var environmentForLibpq = ["PGHOST": host, "PGPORT": String(port), "PGUSER": user]
        if let password { environmentForLibpq["PGPASSWORD"] = password.reveal() }
        let connectionString = PostgresConnection.connectionString(libpqEnvironment: environmentForLibpq, database: database)
        return LibpqRowSource(connectionString: connectionString, display: "postgresql://\(user)@\(host):\(port)/\(database)")
    }

    private static func socketRows(_ socket: ComposeServiceSocket, service: String, user: String, database: String, password: Secret?) -> LibpqRowSource {
        LibpqRowSource(connectionString: socket.connectionString(user: user, database: database, password: password),
                       display: "database '\(database)' of the compose service '\(service)' (as \(user), through its socket \(socket.directory))")
    }
}
