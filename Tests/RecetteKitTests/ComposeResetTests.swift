import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// `recette reset --target compose` on the real engine, with compose/compose.yaml and the
/// test override: only the db service's container and volume go; the search index and media
/// volumes, and the other services' containers, stay. Each test has its own compose project
/// (unique name, free port) and takes it down with its volumes at the end, whatever happens.
@Suite(.tags(.docker, .slow), .dockerSlot, .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct ComposeResetTests {
    // MARK: (a) volume names come from compose, not from a guess

    @Test func theVolumeNameIsWhatComposeConfigSays() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        let project = try ComposeProject.configured(by: stack.context())
        let resolved = try await project.resolvedVolumeName(service: "db", volume: "db-data")
        #expect(resolved == "\(stack.name)_db-data")
        // The same answer read straight from `docker compose config`, without recette's decoder.
        let json = try await SubprocessRunner().run(stack.compose(["config", "--format", "json"])).standardOutput
        let document = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let volumes = try #require(document["volumes"] as? [String: [String: Any]])
        #expect(volumes["db-data"]?["name"] as? String == resolved)

        // No project name configured: compose's own choice, which `<dir>_<volume>` would get
        // wrong when the file has `name:` or the volume has its own `name:`, or
        // COMPOSE_PROJECT_NAME is set.
        let directory = TestEnvironment.clusterDirectory.appendingPathComponent("Shop App.\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let plain = "services:\n  db:\n    image: local/postgres:15\n    volumes: [pg:/var/lib/postgresql/data]\nvolumes:\n  pg: {}\n"
        try plain.write(to: directory.appendingPathComponent("compose.yaml"), atomically: true, encoding: .utf8)
        try (plain.replacingOccurrences(of: "  pg: {}", with: "  pg:\n    name: team-pg-volume")).write(to: directory.appendingPathComponent("named-volume.yaml"), atomically: true, encoding: .utf8)
        try ("name: explicit-project\n" + plain).write(to: directory.appendingPathComponent("named-project.yaml"), atomically: true, encoding: .utf8)
        func volumeName(file: String, environment: [String: String] = [:]) async throws -> String {
            let context = try TestEnvironment.machineContext(projectDirectory: directory, environment: ["RECETTE_COMPOSE_FILE": file].merging(environment) { $1 })
            return try await ComposeProject.configured(by: context).resolvedVolumeName(service: "db", volume: "pg")
        }
        let directoryProject = directory.lastPathComponent.lowercased().filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }
        #expect(try await volumeName(file: "compose.yaml") == "\(directoryProject)_pg")
        #expect(try await volumeName(file: "named-volume.yaml") == "team-pg-volume")
        #expect(try await volumeName(file: "named-project.yaml") == "explicit-project_pg")
        #expect(try await volumeName(file: "compose.yaml", environment: ["COMPOSE_PROJECT_NAME": "from-env"]) == "from-env_pg")
    }

    // MARK: (b) the reset removes the db's data and nothing else

    @Test func resetEmptiesTheDatabaseAndKeepsSearchAndMediaVolumes() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        let context = try stack.context()
        let project = try ComposeProject.configured(by: context)
        try await project.up(services: ["db", "search", "cms"], wait: true, timeout: .seconds(180))
        try await project.waitUntilReady(service: "db", timeout: .seconds(60))
        let others = try await stack.runningContainerIDs(["search", "cms"])
        #expect(others.count == 2)

        // Through the library.
        var marks = try await stack.writeMarkers(project: project, round: "library")
        let reset = try await ComposeDatabaseReset.configured(by: context, timeout: .seconds(180))
        let plan = try await reset.plan()
        #expect(plan.volume.dockerName == "\(stack.name)_db-data")
        #expect(plan.waitsForHealthcheck)
        #expect(plan.keptVolumes == ["\(stack.name)_meilisearch-data", "\(stack.name)_strapi-uploads"])
        let start = ContinuousClock.now
        let outcome = try await reset.run(plan)
        let libraryElapsed = ContinuousClock.now - start
        #expect(outcome.removal == .removed)
        try await stack.expectFreshDatabaseAndSurvivingMarkers(project: project, marks: marks, otherContainers: others)

        // Through the built binary, as a user runs it.
        marks = try await stack.writeMarkers(project: project, round: "cli")
        let cliStart = ContinuousClock.now
        let result = try await CLI.run(["reset", "--target", "compose", "--yes", "--project-dir", stack.directory.path], environment: stack.cliEnvironment())
        let cliElapsed = ContinuousClock.now - cliStart
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("volume \(stack.name)_db-data deleted and recreated"), "\(result.standardOutput)")
        try await stack.expectFreshDatabaseAndSurvivingMarkers(project: project, marks: marks, otherContainers: others)

        print("reset timings: library \(String(format: "%.2f", libraryElapsed.seconds)) s " +
              "(remove \(String(format: "%.2f", outcome.seconds["remove"] ?? -1)), start \(String(format: "%.2f", outcome.seconds["start"] ?? -1)), ready \(String(format: "%.2f", outcome.seconds["ready"] ?? -1))); " +
              "binary \(String(format: "%.2f", cliElapsed.seconds)) s: \(result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))")
    }

    // MARK: (c) --dry-run changes nothing

    @Test func dryRunPrintsThePlanAndChangesNothing() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        try await stack.startedDatabase()
        let before = try await stack.snapshot()

        // No --yes and no terminal: a dry run needs neither.
        let result = try await CLI.run(["reset", "--target", "compose", "--dry-run", "--project-dir", stack.directory.path], environment: stack.cliEnvironment())
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("docker volume rm \(stack.name)_db-data"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("rm --stop --force --volumes db"))
        #expect(result.standardOutput.contains("keep: volumes \(stack.name)_meilisearch-data, \(stack.name)_strapi-uploads"))

        #expect(try await stack.snapshot() == before)
    }

    // MARK: (d) bad settings and refusals destroy nothing

    @Test func errorsAreOneLineAndDestroyNothing() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        let project = try await stack.startedDatabase()
        let before = try await stack.snapshot()

        // A container outside the db service holding the volume (e.g. a forgotten
        // `docker run -v …`): never started, created is enough to hold it.
        let holder = "\(stack.name)-holder"
        try await SubprocessRunner().run(Command("docker", ["create", "--name", holder, "--network", "none", "-v", "\(stack.name)_db-data:/held", "local/postgres:15", "true"]))
        defer { stack.removeContainer(holder) }

        let cases: [(environment: [String: String], arguments: [String], expected: String)] = [
            (["RECETTE_COMPOSE_FILE": "/nonexistent/compose.yaml"], ["--yes"], "compose file /nonexistent/compose.yaml does not exist"),
            (["RECETTE_DB_SERVICE": "postgres"], ["--yes"], "has no service 'postgres' (services: cms, db, search)"),
            (["RECETTE_DB_VOLUME": "pgdata"], ["--yes"], "does not mount the named volume 'pgdata'"),
            ([:], ["--yes"], "volume \(stack.name)_db-data is also used by container(s) \(holder)"),
        ]
        for (environment, arguments, expected) in cases {
            let result = try await CLI.run(["reset", "--target", "compose", "--project-dir", stack.directory.path] + arguments,
                                           environment: stack.cliEnvironment(environment))
            #expect(result.status == 1, "\(expected): \(result.standardError)")
            let lines = result.standardError.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            #expect(lines.count == 1, "\(result.standardError)")
            #expect(result.standardError.contains(expected), "\(result.standardError)")
        }
        stack.removeContainer(holder)

        // Without --yes and without a terminal: refused, naming the volume.
        let refused = try await CLI.run(["reset", "--target", "compose", "--project-dir", stack.directory.path], environment: stack.cliEnvironment())
        #expect(refused.status == 1)
        #expect(refused.standardError == "error: refusing to delete volume \(stack.name)_db-data without confirmation and there is no terminal to ask on; pass --yes to confirm (or --dry-run to see the plan)")

        // The library refuses an unknown service before removing anything too.
        await #expect(throws: ComposeError.self) { try await project.removeServiceAndItsVolume(service: "postgres", volume: "db-data") }

        #expect(try await stack.snapshot() == before)
    }

    // MARK: on a terminal it asks

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "util-linux's script(1) gives the command a terminal"))
    func onATerminalItAsksNamingTheVolume() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        // script(1) runs recette on a pseudo-terminal and types what it reads from its input.
        // (Its --command is a shell line: the paths in it hold no spaces or quotes.)
        func answering(_ answer: String) async throws -> (status: Int32, output: String) {
            let commandLine = [TestEnvironment.binary.path, "reset", "--target", "compose", "--project-dir", stack.directory.path].joined(separator: " ")
            let result = try await SubprocessRunner().run(Command("/usr/bin/script", ["--quiet", "--return", "--command", commandLine, "/dev/null"], environment: stack.cliEnvironment()),
                                                          input: Data((answer + "\n").utf8), output: .collect(), onStandardErrorLine: nil, acceptedExitStatuses: Set(0...255))
            return (result.exitStatus, result.outputText)
        }
        let declined = try await answering("n")
        #expect(declined.status == 1)
        #expect(declined.output.contains("Delete volume \(stack.name)_db-data (every database of compose service 'db', project '\(stack.name)')"), "\(declined.output)")
        #expect(declined.output.contains("not confirmed; nothing was changed"))
        #expect(try await stack.volumeCreatedAt("db-data") == nil)

        let accepted = try await answering("y")
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(accepted.output.contains("volume \(stack.name)_db-data created (there was none)"))
        #expect(try await stack.volumeCreatedAt("db-data") != nil)
    }

    // MARK: waiting without a healthcheck

    @Test func resetWaitsForPostgresWhenTheServiceHasNoHealthcheck() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        // A second override, relative to the project directory, that takes the healthcheck
        // away: `up --wait` then returns as soon as the container runs, before initdb is done.
        try "services:\n  db:\n    healthcheck:\n      disable: true\n".write(to: stack.directory.appendingPathComponent("no-healthcheck.yaml"), atomically: true, encoding: .utf8)
        let context = try stack.context(["RECETTE_COMPOSE_OVERRIDES": "\(stack.testOverride.path):no-healthcheck.yaml"])
        let project = try ComposeProject.configured(by: context)
        #expect(project.files.count == 3)
        #expect(try await project.resolve().services["db"]?.hasHealthcheck == false)

        // Nothing created yet: a first reset just creates the volume.
        // compose's `up --wait` fails on a disabled healthcheck ("has no healthcheck
        // configured"): the plan starts the service without it and lets pg_isready wait.
        let reset = try await ComposeDatabaseReset.configured(by: context, timeout: .seconds(180))
        let plan = try await reset.plan()
        #expect(plan.waitsForHealthcheck == false)
        #expect(plan.commands.last?.arguments.contains("--wait") == false)
        let outcome = try await reset.run(plan)
        #expect(outcome.removal == .wasAbsent)
        // Connect at once, no retry: the reset returned only once PostgreSQL accepted connections.
        let connection = try PostgresConnection(url: stack.url(database: "app"))
        #expect(try connection.query("SELECT 1").scalar == "1")
        let log = await project.logsTail(service: "db", lines: 5)
        #expect(log.contains(where: { $0.contains("database system is ready to accept connections") }), "\(log)")
    }

    @Test func aDatabaseThatCannotStartIsOneLineWithItsLogsCause() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        // Something else already listens on the db's port.
        let listener = try LoopbackListener(port: stack.port)
        defer { listener.close() }
        let reset = try await ComposeDatabaseReset.configured(by: stack.context(), timeout: .seconds(120))
        let error = await #expect(throws: ComposeError.self) { try await reset.run(reset.plan()) }
        guard case .startFailed(let service, _, let log) = error else {
            Issue.record("expected startFailed, got \(String(describing: error))")
            return
        }
        #expect(service == "db")
        #expect(log?.contains("could not create any TCP/IP sockets") == true, "\(String(describing: log))")
        #expect(error?.description.contains("\n") == false)
    }

    // MARK: copy, exec, engine checks

    @Test func copyAndExecReachTheServiceContainer() async throws {
        let stack = ComposeTestStack()
        defer { stack.down() }
        let project = try ComposeProject.configured(by: stack.context())
        try await project.up(services: ["search"], wait: true, timeout: .seconds(120))

        let file = stack.directory.appendingPathComponent("dump.bin")
        try Data("pretend dump \(stack.name)\n".utf8).write(to: file)
        try await project.copy(file: file, toService: "search", path: "/tmp/dump.bin")
        #expect(try await project.exec(service: "search", argv: ["cat", "/tmp/dump.bin"]).outputText == "pretend dump \(stack.name)\n")

        let secret = "tk-\(UUID().uuidString)"
        let result = try await project.exec(service: "search", argv: ["printenv", "RECETTE_TEST_SECRET"], environment: ["RECETTE_TEST_SECRET": secret])
        #expect(result.outputText == secret + "\n")

        let failed = await #expect(throws: ProcessError.self) { try await project.exec(service: "search", argv: ["ls", "/nonexistent"]) }
        #expect(failed?.description.contains("No such file or directory") == true)
    }

    @Test func anUnreachableEngineIsOneLineWithTheFix() async throws {
        let error = await #expect(throws: ComposeError.self) {
            try await ComposeInstallation.check(runner: SubprocessRunner(), environment: ["DOCKER_HOST": "unix:///nonexistent/docker.sock"])
        }
        guard case .engineUnreachable(let reason) = error else {
            Issue.record("expected engineUnreachable, got \(String(describing: error))")
            return
        }
        #expect(reason.contains("/nonexistent/docker.sock"))
        #expect(error?.description.contains("start it") == true)
        #expect(error?.description.contains("\n") == false)
        #expect(try await ComposeInstallation.check(runner: SubprocessRunner()).composeVersion.hasPrefix("2."))
    }
}

/// One throwaway compose project of compose/compose.yaml + the test override: its own name,
/// its own free loopback port, its own recette project directory.
struct ComposeTestStack {
    let name = "recette-reset-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
    let port = LocalCluster.freeLoopbackPort()
    let composeFile = TestEnvironment.packageRoot.appendingPathComponent("compose/compose.yaml")
    let testOverride = TestEnvironment.packageRoot.appendingPathComponent("compose/testing/compose.test.yaml")
    let directory: URL

    init() {
        directory = TestEnvironment.clusterDirectory.appendingPathComponent(name)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    /// Settings as a user would set them, plus the test override's port.
    var settings: [String: String] {
        ["RECETTE_COMPOSE_FILE": composeFile.path, "RECETTE_COMPOSE_OVERRIDES": testOverride.path,
         "RECETTE_COMPOSE_PROJECT": name, "RECETTE_TEST_DB_PORT": String(port)]
    }

    func context(_ extra: [String: String] = [:]) throws -> RecetteContext {
        try TestEnvironment.machineContext(projectDirectory: directory, environment: settings.merging(extra) { $1 })
    }

    /// The project as recette sees it, with its db service up and accepting connections.
    @discardableResult
    func startedDatabase(services: [String] = ["db"]) async throws -> ComposeProject {
        let project = try ComposeProject.configured(by: context())
        try await project.up(services: services, wait: true, timeout: .seconds(180))
        try await project.waitUntilReady(service: "db", timeout: .seconds(60))
        return project
    }

    func cliEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        TestEnvironment.cliEnvironment.merging(settings) { $1 }.merging(extra) { $1 }
    }

    /// `docker compose` for this project, independent of the code under test.
    func compose(_ arguments: [String]) -> Command {
        Command("docker", ["compose", "--project-name", name, "-f", composeFile.path, "-f", testOverride.path] + arguments,
                environment: ["RECETTE_TEST_DB_PORT": String(port)])
    }

    func url(database: String) -> String {
        "postgresql://postgres@127.0.0.1:\(port)/\(database)?connect_timeout=5"
    }

    func runningContainerIDs(_ services: [String]) async throws -> [String] {
        try await SubprocessRunner().output(of: compose(["ps", "--status", "running", "--quiet"] + services))
            .split(separator: "\n").map(String.init).sorted()
    }

    struct Markers {
        var systemIdentifier: String
        var token: String
    }

    /// A row in the db, and a file in each of the meilisearch-data and strapi-uploads volumes
    /// (mounted at /meili_data and /opt/app/public/uploads by compose.yaml; the override keeps them).
    func writeMarkers(project: ComposeProject, round: String) async throws -> Markers {
        let token = "\(round)-\(UUID().uuidString)"
        let connection = try PostgresConnection(url: url(database: "app"))
        try connection.query("CREATE TABLE reset_marker (token text)")
        try connection.query("INSERT INTO reset_marker VALUES ($1)", [token])
        let identifier = try #require(try connection.query("SELECT system_identifier::text FROM pg_control_system()").scalar)
        for (service, path) in Self.markerFiles {
            try await project.exec(service: service, argv: ["tee", path], input: Data(token.utf8), output: .discard)
        }
        return Markers(systemIdentifier: identifier, token: token)
    }

    static let markerFiles = [("search", "/meili_data/recette-marker"), ("cms", "/opt/app/public/uploads/recette-marker")]

    /// Ready at once (no retry), a new cluster without the marker, the marker files intact,
    /// and the other services' containers the very same, still running.
    func expectFreshDatabaseAndSurvivingMarkers(project: ComposeProject, marks: Markers, otherContainers: [String]) async throws {
        let connection = try PostgresConnection(url: url(database: "app"))
        #expect(try connection.query("SELECT to_regclass('public.reset_marker') IS NULL").scalar == "t")
        #expect(try connection.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").scalar == "0")
        // A new initdb: the cluster, not just a table, is new.
        #expect(try connection.query("SELECT system_identifier::text FROM pg_control_system()").scalar != marks.systemIdentifier)
        for (service, path) in Self.markerFiles {
            #expect(try await project.exec(service: service, argv: ["cat", path]).outputText == marks.token, "\(service):\(path)")
        }
        #expect(try await runningContainerIDs(["search", "cms"]) == otherContainers)
        for volume in ["meilisearch-data", "strapi-uploads", "db-data"] {
            #expect(try await volumeCreatedAt(volume) != nil, "\(name)_\(volume) is missing")
        }
    }

    struct Snapshot: Equatable {
        var dbContainer: [String]
        var volumeCreatedAt: String?
        var marker: String?
    }

    /// What a reset would change: the db container, its volume, a row in it.
    func snapshot() async throws -> Snapshot {
        let connection = try PostgresConnection(url: url(database: "app"))
        try connection.execute("CREATE TABLE IF NOT EXISTS reset_marker (token text)")
        if try connection.query("SELECT count(*) FROM reset_marker").scalar == "0" {
            try connection.query("INSERT INTO reset_marker VALUES ($1)", [UUID().uuidString])
        }
        return Snapshot(dbContainer: try await runningContainerIDs(["db"]), volumeCreatedAt: try await volumeCreatedAt("db-data"),
                        marker: try connection.query("SELECT token FROM reset_marker").scalar)
    }

    func volumeCreatedAt(_ volume: String) async throws -> String? {
        let result = try await SubprocessRunner().run(Command("docker", ["volume", "inspect", "--format", "{{.CreatedAt}}", "\(name)_\(volume)"]),
                                                      input: nil, output: .collect(), onStandardErrorLine: nil, acceptedExitStatuses: [0, 1])
        return result.exitStatus == 0 ? result.outputText.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    func removeContainer(_ container: String) {
        runSynchronously(["docker", "rm", "--force", "--volumes", container])
    }

    /// `down --volumes`: synchronous, for `defer`.
    func down() {
        runSynchronously(["docker", "compose", "--project-name", name, "-f", composeFile.path, "-f", testOverride.path,
                          "down", "--volumes", "--remove-orphans", "--timeout", "5"])
        try? FileManager.default.removeItem(at: directory)
    }

    private func runSynchronously(_ arguments: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["RECETTE_TEST_DB_PORT": String(port)]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
    }
}

/// A socket listening on 127.0.0.1:port, to make a port busy.
final class LoopbackListener {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 1) == 0 else {
            Glibc.close(descriptor)
            throw RecetteFailure("cannot listen on 127.0.0.1:\(port)")
        }
    }

    func close() { Glibc.close(descriptor) }
}
