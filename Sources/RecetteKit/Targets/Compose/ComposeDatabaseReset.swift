import Foundation
import Logging
import RecetteWorld

/// What a reset of the compose target will do, worked out without changing anything.
public struct ComposeResetPlan: Sendable {
    public var installation: ComposeInstallation
    /// The volume that will be deleted, with the compose project it belongs to.
    public var volume: DatabaseVolume
    /// Containers of the db service that will be removed (none if it is not created yet).
    public var containers: [String]
    /// The project's other volumes, which stay.
    public var keptVolumes: [String]
    /// The commands, in order, exactly as they will run.
    public var commands: [Command]
    /// The service declares a healthcheck, so `up --wait` waits for it. Without one (or with
    /// `disable: true`, which compose's `--wait` rejects outright) `up` returns once the
    /// container runs, and the readiness probe does the waiting.
    public var waitsForHealthcheck: Bool
    /// The role the readiness probe names (POSTGRES_USER of the service, else `postgres`).
    public var databaseUser: String
    /// The database the official image creates: POSTGRES_DB, else the user's name.
    public var databaseName: String
    /// The db service's `image:` as compose resolves it (nil for a `build:` without one).
    public var image: String?
    /// The readiness probe, repeated until PostgreSQL answers or the timeout passes.
    public var readinessProbe: Command
    public var timeout: Duration

    /// The plan as shown by `--dry-run`.
    public var lines: [String] {
        var lines = ["would reset the database of compose service '\(volume.service)' (project '\(volume.project)', Docker Compose \(installation.composeVersion)):"]
        let containerList = containers.isEmpty ? "none created yet" : containers.joined(separator: ", ")
        lines.append("  destroy: container(s) of '\(volume.service)' (\(containerList)) and volume \(volume.dockerName) (mounted at \(volume.mountPath)), with all its data")
        lines.append("  keep: " + (keptVolumes.isEmpty ? "no other volume in the project" : "volumes " + keptVolumes.joined(separator: ", ")) + ", and the other services' containers")
        lines.append("  commands:")
        lines += commands.map { "    " + $0.description }
        lines.append("    \(readinessProbe.description)   (repeated until ready, at most \(ComposeProject.wholeSeconds(timeout)) s)")
        return lines
    }

    /// The confirmation question, naming what is destroyed.
    public var question: String {
        "Delete volume \(volume.dockerName) (every database of compose service '\(volume.service)', project '\(volume.project)') and start '\(volume.service)' on an empty one? Other volumes stay."
    }
}

/// How a reset went, with the time each part took (seconds).
public struct ComposeResetOutcome: Sendable {
    public var volume: DatabaseVolume
    public var removal: ComposeProject.VolumeRemoval
    /// `remove` (container and volume), `start` (`up --wait`), `ready` (pg_isready), `total`.
    public var seconds: [String: Double]
}

/// Resets the database of the `compose` target: removes the db service's container(s) and
/// its named volume — nothing else — then starts the service again on a fresh volume and
/// waits until PostgreSQL accepts connections.
///
/// Unlike `docker compose down -v`, the search index and media volumes stay, and so do the
/// other services' containers.
public struct ComposeDatabaseReset: Sendable {
    public var project: ComposeProject
    public var service: String
    public var volume: String
    /// For `up --wait` and readiness together.
    public var timeout: Duration
    private let runner: any ProcessRunning
    private let logger: Logger

    public init(project: ComposeProject, service: String, volume: String, timeout: Duration = .seconds(120),
                runner: any ProcessRunning, logger: Logger) {
        self.project = project
        self.service = service
        self.volume = volume
        self.timeout = timeout
        self.runner = runner
        self.logger = logger
    }

    /// The reset the configuration describes: RECETTE_COMPOSE_FILE and overrides,
    /// RECETTE_COMPOSE_PROJECT, RECETTE_DB_SERVICE, RECETTE_DB_VOLUME; the service and the
    /// volume not set are detected in the resolved project (`ComposeNames`).
    public static func configured(by context: RecetteContext, timeout: Duration = .seconds(120)) async throws -> ComposeDatabaseReset {
        let project = try ComposeProject.configured(by: context)
        let names = try await ComposeNames.resolve(context, project: project).0
        return ComposeDatabaseReset(project: project, service: names.dbService, volume: names.dbVolume,
                                    timeout: timeout, runner: context.runner, logger: context.logger)
    }

    /// Checks Docker, resolves the project and the volume's real name, and refuses anything
    /// unsafe (shared or external volume, a foreign container holding it) — all read-only.
    public func plan() async throws -> ComposeResetPlan {
        let installation = try await ComposeInstallation.check(runner: runner, environment: project.environment)
        let resolved = try await project.resolve()
        let databaseVolume = try resolved.databaseVolume(service: service, volume: volume)
        let foreign = try await project.foreignContainers(using: databaseVolume)
        guard foreign.isEmpty else {
            throw ComposeError.volumeInUse(dockerName: databaseVolume.dockerName, containers: foreign, containerAlreadyRemoved: false)
        }
        let user = Self.databaseUser(resolved.services[service])
        let healthcheck = resolved.services[service]?.hasHealthcheck ?? false
        return ComposeResetPlan(
            installation: installation,
            volume: databaseVolume,
            containers: try await project.containerNames(service: service),
            keptVolumes: resolved.dockerVolumeNames(excluding: volume),
            commands: [
                project.removeContainersCommand(service: service),
                project.removeVolumeCommand(dockerName: databaseVolume.dockerName),
                project.upCommand(services: [service], wait: healthcheck, timeout: timeout),
            ],
            waitsForHealthcheck: healthcheck,
            databaseUser: user,
            databaseName: Self.databaseName(resolved.services[service], user: user),
            image: resolved.services[service]?.image,
            readinessProbe: project.readinessProbeCommand(service: service, user: user),
            timeout: timeout
        )
    }

    /// Carries out `plan`.
    public func run(_ plan: ComposeResetPlan) async throws -> ComposeResetOutcome {
        let clock = ContinuousClock()
        let start = clock.now
        var seconds: [String: Double] = [:]
        let databaseVolume = plan.volume
        let service = databaseVolume.service

        logger.info("removing the '\(service)' container(s) and volume \(databaseVolume.dockerName)")
        let removal = try await project.removeServiceAndItsVolume(databaseVolume)
        if removal == .wasAbsent { logger.info("volume \(databaseVolume.dockerName) did not exist; nothing to delete") }
        let removed = clock.now
        seconds["remove"] = (removed - start).seconds

        logger.info("starting '\(service)' on a new volume")
        try await project.up(services: [service], wait: plan.waitsForHealthcheck, timeout: timeout)
        let started = clock.now
        seconds["start"] = (started - removed).seconds

        // Asked even after a healthy `up --wait`: a healthcheck on the Unix socket is already
        // satisfied by the official image's temporary init server.
        let remaining = max(timeout - (started - start), .seconds(5))
        try await project.waitUntilReady(service: service, user: plan.databaseUser, timeout: remaining)
        let ready = clock.now
        seconds["ready"] = (ready - started).seconds
        seconds["total"] = (ready - start).seconds
        return ComposeResetOutcome(volume: databaseVolume, removal: removal, seconds: seconds)
    }

    static func databaseName(_ service: ResolvedComposeProject.Service?, user: String) -> String {
        if let value = service?.environment["POSTGRES_DB"] ?? nil, !value.isEmpty { return value }
        return user
    }

    /// The superuser the official image creates: POSTGRES_USER, else `postgres`.
    static func databaseUser(_ service: ResolvedComposeProject.Service?) -> String {
        if let value = service?.environment["POSTGRES_USER"] ?? nil, !value.isEmpty { return value }
        return "postgres"
    }
}
