import Foundation
import Logging
import RecetteWorld

/// A Docker Compose v2 project as recette drives it: `docker compose` with the project's
/// files (the compose file, then any overrides), its project name when one is configured,
/// and the caller's environment passed through (compose interpolates `${VAR}` from it).
///
/// Every operation is an argv array; each has a `…Command` builder so `--dry-run` can print
/// exactly what would run.
public struct ComposeProject: Sendable {
    /// The compose file first, then the overrides, in the order compose merges them.
    public let files: [URL]
    /// `--project-name`; nil leaves the choice to compose (COMPOSE_PROJECT_NAME, the file's
    /// `name:`, else the first file's directory). `resolve()` says what it chose.
    public let projectName: String?
    /// Added to the inherited environment of every docker command.
    public let environment: [String: String]
    public let workingDirectory: URL
    let runner: any ProcessRunning
    private let logger: Logger?
    /// The pauses of `waitUntilReady` (tests give a clock that does not wait).
    package var readinessPolling = Polling(first: .milliseconds(100), longest: .seconds(1))

    public init(files: [URL], projectName: String? = nil, environment: [String: String] = [:], workingDirectory: URL,
                runner: any ProcessRunning, logger: Logger? = nil) {
        self.files = files
        self.projectName = projectName
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.runner = runner
        self.logger = logger
    }

    /// The project the configuration names: RECETTE_COMPOSE_FILE, RECETTE_COMPOSE_OVERRIDES
    /// (`:`-separated), RECETTE_COMPOSE_PROJECT; relative paths are from the project directory.
    /// Every file must exist: compose's own message for a missing one does not say which
    /// setting to fix.
    public static func configured(by context: RecetteContext) throws -> ComposeProject {
        let configuration = context.configuration
        guard let composeFile = configuration.path(.composeFile) else {
            throw ComposeError.composeFileMissing(path: "(not set)", setting: Setting.composeFile.environmentName)
        }
        var files = [(composeFile, Setting.composeFile)]
        files += configuration.paths(.composeOverrides).map { ($0, Setting.composeOverrides) }
        for (file, setting) in files where !FileManager.default.fileExists(atPath: file.path) {
            throw ComposeError.composeFileMissing(path: file.path, setting: setting.environmentName)
        }
        let name = configuration[.composeProjectName].flatMap { $0.isEmpty ? nil : $0 }
        return ComposeProject(files: files.map { $0.0.standardizedFileURL }, projectName: name, environment: context.environment,
                              workingDirectory: configuration.projectDirectory, runner: context.runner, logger: context.logger)
    }

    // MARK: - Commands

    /// `docker compose [--project-name NAME] -f FILE… ARGUMENTS…`.
    public func command(_ arguments: [String], environment extra: [String: String] = [:]) -> Command {
        var argv = ["compose"]
        if let projectName { argv += ["--project-name", projectName] }
        for file in files { argv += ["-f", file.path] }
        return Command("docker", argv + arguments, environment: environment.merging(extra) { $1 }, workingDirectory: workingDirectory.path)
    }

    /// A plain `docker` command (volumes, containers) with the same environment (DOCKER_HOST…).
    public func dockerCommand(_ arguments: [String]) -> Command {
        Command("docker", arguments, environment: environment, workingDirectory: workingDirectory.path)
    }

    /// The one running container of `service` (`docker compose ps --quiet`); none or several
    /// is an error naming the fix.
    public func runningContainer(of service: String) async throws -> String {
        let containers = try await runner.output(of: command(["ps", "--quiet", service]))
            .split(separator: "\n").map(String.init)
        guard let container = containers.first, containers.count == 1 else {
            throw RecetteFailure("the compose service '\(service)' has \(containers.count) running container(s), not one: start it ('docker compose up -d \(service)')")
        }
        return container
    }

    /// Stops and removes the service's containers. `--volumes` removes only *anonymous*
    /// volumes of those containers (e.g. the one an image's `VOLUME` line creates when the
    /// named volume is mounted elsewhere), never a named volume.
    public func removeContainersCommand(service: String) -> Command {
        command(["rm", "--stop", "--force", "--volumes", service])
    }

    public func removeVolumeCommand(dockerName: String) -> Command {
        dockerCommand(["volume", "rm", dockerName])
    }

    public func upCommand(services: [String], wait: Bool, timeout: Duration) -> Command {
        var arguments = ["up", "--detach"]
        if wait { arguments += ["--wait", "--wait-timeout", String(Self.wholeSeconds(timeout))] }
        return command(arguments + services)
    }

    /// `pg_isready` inside the container, over TCP on 127.0.0.1 (the port is the container's
    /// PGPORT, 5432 by default). TCP rather than the Unix socket because the official image
    /// runs its init scripts on a socket-only temporary server: the socket answers before the
    /// real server is up, TCP does not. Right user and database, so the server logs no failed
    /// connection attempt for each probe.
    public func readinessProbeCommand(service: String, user: String) -> Command {
        command(["exec", "-T", service, "pg_isready", "--quiet", "--host=127.0.0.1", "--username=\(user)", "--dbname=postgres", "--timeout=3"])
    }

    // MARK: - Reading

    /// What compose makes of the files: project name, services, real volume names.
    public func resolve() async throws -> ResolvedComposeProject {
        let result: ProcessResult
        do {
            // The resolved document holds interpolated values, secrets included: it is parsed,
            // never logged.
            result = try await runner.run(command(["config", "--format", "json"]))
        } catch let error as ProcessError {
            if case .notFound = error { throw ComposeError.dockerMissing }
            throw ComposeError.configurationUnreadable(files: files.map(\.path), reason: Self.lastLine(of: error))
        }
        do {
            return try ResolvedComposeProject.decode(result.standardOutput)
        } catch {
            throw ComposeError.configurationUnreadable(files: files.map(\.path), reason: "unexpected 'docker compose config --format json' output (\(error))")
        }
    }

    /// The real Docker name of the named volume `volume` of `service` (e.g. `myproj_db-data`),
    /// as compose resolves it: never guessed from the directory name.
    public func resolvedVolumeName(service: String, volume: String) async throws -> String {
        try await resolve().databaseVolume(service: service, volume: volume).dockerName
    }

    /// Names of the containers (running or not) of `service`.
    public func containerNames(service: String) async throws -> [String] {
        try await runner.output(of: command(["ps", "--all", "--format", "{{.Name}}", service]))
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// Whether a container of `service` is running.
    public func isRunning(service: String) async throws -> Bool {
        !(try await runner.output(of: command(["ps", "--status", "running", "--quiet", service]))
            .trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
    }

    /// Containers holding `volume` that are not the db service's own (those `rm` removes):
    /// another project's, a hand-started one, a `docker compose run` one-off.
    public func foreignContainers(using volume: DatabaseVolume) async throws -> [String] {
        let format = "{{.Names}}\t{{.Label \"com.docker.compose.project\"}}\t{{.Label \"com.docker.compose.service\"}}\t{{.Label \"com.docker.compose.oneoff\"}}"
        let lines = try await runner.output(of: dockerCommand(["ps", "--all", "--filter", "volume=\(volume.dockerName)", "--format", format]))
        return lines.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard let name = fields.first, !name.isEmpty else { return nil }
            let own = fields.count >= 4 && fields[1] == volume.project && fields[2] == volume.service && fields[3] != "True"
            return own ? nil : name
        }
    }

    /// The last `lines` lines of the service's log, for error messages; empty when there is none.
    public func logsTail(service: String, lines: Int) async -> [String] {
        let result = try? await runner.run(command(["logs", "--no-color", "--no-log-prefix", "--tail", String(lines), service]))
        return result?.outputText.split(separator: "\n").map(String.init) ?? []
    }

    // MARK: - Changing

    public enum VolumeRemoval: Sendable, Equatable {
        case removed
        /// There was nothing to delete (a first run, or a previous reset stopped halfway).
        case wasAbsent
    }

    /// Stops and removes the containers of `service`, then its named volume `volume`, and
    /// nothing else: the project's other volumes and containers stay.
    @discardableResult
    public func removeServiceAndItsVolume(service: String, volume: String) async throws -> VolumeRemoval {
        let databaseVolume = try await resolve().databaseVolume(service: service, volume: volume)
        let foreign = try await foreignContainers(using: databaseVolume)
        guard foreign.isEmpty else {
            throw ComposeError.volumeInUse(dockerName: databaseVolume.dockerName, containers: foreign, containerAlreadyRemoved: false)
        }
        return try await removeServiceAndItsVolume(databaseVolume)
    }

    /// As `removeServiceAndItsVolume(service:volume:)`, for a volume already resolved and checked.
    @discardableResult
    public func removeServiceAndItsVolume(_ volume: DatabaseVolume) async throws -> VolumeRemoval {
        try await run(removeContainersCommand(service: volume.service))
        let result = try await runner.run(removeVolumeCommand(dockerName: volume.dockerName), input: nil, output: .discard,
                                          onStandardErrorLine: nil, acceptedExitStatuses: [0, 1])
        guard result.exitStatus != 0 else { return .removed }
        let message = result.standardErrorTail.joined(separator: " ")
        // Docker's words: "get NAME: no such volume", "remove NAME: volume is in use - [ids]".
        if message.lowercased().contains("no such volume") { return .wasAbsent }
        if message.lowercased().contains("in use") {
            let holders = (try? await foreignContainers(using: volume)) ?? []
            throw ComposeError.volumeInUse(dockerName: volume.dockerName, containers: holders, containerAlreadyRemoved: true)
        }
        throw ProcessError.failed(command: removeVolumeCommand(dockerName: volume.dockerName).description, status: result.exitStatus,
                                  standardErrorTail: result.standardErrorTail)
    }

    /// `up --detach`, and with `wait` also `--wait --wait-timeout`: compose returns once the
    /// services run and, for those with a healthcheck, are healthy.
    public func up(services: [String], wait: Bool = true, timeout: Duration = .seconds(120)) async throws {
        do {
            try await run(upCommand(services: services, wait: wait, timeout: timeout))
        } catch let error as ProcessError {
            let service = services.count == 1 ? services[0] : services.joined(separator: ", ")
            let log = services.count == 1 ? await lastLogLine(service: services[0]) : nil
            throw ComposeError.startFailed(service: service, reason: Self.lastLine(of: error), lastLogLine: log)
        }
    }

    /// `docker compose stop`: the containers stay, `up` starts them again.
    public func stop(services: [String]) async throws {
        try await run(command(["stop"] + services))
    }

    /// Polls `pg_isready` inside the service's container until PostgreSQL accepts connections,
    /// with backoff (0.1 s doubling to 1 s), until `timeout`. Needed where the service has no
    /// healthcheck (compose's `--wait` then returns as soon as the container runs, or rejects a
    /// `disable: true` one outright) and where its healthcheck asks the Unix socket (see
    /// `readinessProbeCommand`).
    public func waitUntilReady(service: String, user: String = "postgres", timeout: Duration) async throws {
        let probe = readinessProbeCommand(service: service, user: user)
        let ready = try await readinessPolling.poll(timeout: timeout) { () -> Bool? in
            let result = try await runner.run(probe, input: nil, output: .discard, onStandardErrorLine: nil, acceptedExitStatuses: Set(0...255))
            let message = result.standardErrorTail.joined(separator: " ").lowercased()
            if result.exitStatus == 0 { return true }
            if result.exitStatus == 126 || result.exitStatus == 127 {
                // The runtime's "executable file not found in $PATH".
                throw ComposeError.probeUnavailable(service: service, program: "pg_isready")
            }
            if message.contains("is not running") {
                // compose's answer when the container exited: it will not come back by waiting.
                throw ComposeError.serviceStopped(service: service, lastLogLine: await lastLogLine(service: service))
            }
            // Otherwise pg_isready said 1 (rejecting: starting up) or 2 (no response yet); a
            // restarting container answers like that too. Keep waiting.
            return nil
        }
        if ready == nil {
            throw ComposeError.notReady(service: service, seconds: Self.wholeSeconds(timeout), lastLogLine: await lastLogLine(service: service))
        }
    }

    /// `docker compose cp FILE SERVICE:PATH`.
    public func copy(file: URL, toService service: String, path: String) async throws {
        try await run(command(["cp", file.path, "\(service):\(path)"]))
    }

    /// `docker compose exec -T SERVICE ARGV…`. `environment` values reach the container as
    /// `-e NAME` (the value is read from the compose process's own environment), so a secret
    /// is never on a command line. `detached` (`-d`): the command goes on in the container
    /// after this returns, with nobody reading its output.
    @discardableResult
    public func exec(service: String, argv: [String], environment variables: [String: String] = [:], input: Data? = nil,
                     output: StandardOutputHandling = .collect(), acceptedExitStatuses: Set<Int32> = [0], detached: Bool = false) async throws -> ProcessResult {
        var arguments = ["exec", "-T"] + (detached ? ["--detach"] : [])
        for name in variables.keys.sorted() { arguments += ["-e", name] }
        let execCommand = command(arguments + [service] + argv, environment: variables)
        return try await runner.run(execCommand, input: input, output: output,
                                    onStandardErrorLine: debugLog(prefix: service),
                                    acceptedExitStatuses: acceptedExitStatuses)
    }

    // MARK: - Private

    private func run(_ command: Command) async throws {
        _ = try await runner.run(command, input: nil, output: .discard,
                                 onStandardErrorLine: debugLog(prefix: "docker"),
                                 acceptedExitStatuses: [0])
    }

    /// Compose's progress lines and a child's standard error, for `--verbose`.
    private func debugLog(prefix: String) -> (@Sendable (String) -> Void)? {
        guard let logger else { return nil }
        return { line in logger.debug("\(prefix): \(line)") }
    }

    /// The line of the log tail most likely to say why: PostgreSQL's last FATAL/PANIC/ERROR
    /// (a failed start ends with "database system is shut down", which says nothing), else
    /// the last line.
    private func lastLogLine(service: String) async -> String? {
        let lines = await logsTail(service: service, lines: 20).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        return lines.last(where: { $0.contains("FATAL:") || $0.contains("PANIC:") || $0.contains("ERROR:") }) ?? lines.last
    }

    static func wholeSeconds(_ duration: Duration) -> Int {
        max(1, Int(duration.seconds.rounded(.up)))
    }

    static func lastLine(of error: ProcessError) -> String {
        error.standardErrorTail.last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }) ?? error.description
    }
}
