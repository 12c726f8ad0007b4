import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Synchronization
@testable import RecetteKit
@testable import RecetteCommands
@testable import RecetteWorld

/// What the integration tests share: one throwaway PostgreSQL cluster per test run (recette's
/// own `local` target, in a temporary directory), the package root, the built binary.
enum TestEnvironment {
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The directory of this run's cluster, removed at exit. Made by mkdtemp: a run killed
    /// before its clean-up leaves its directory behind, and a later run with the same pid
    /// must not find that cluster in its place (initdb refuses a non-empty directory).
    static let clusterDirectory: URL = {
        var template = Array(FileManager.default.temporaryDirectory.appendingPathComponent("recette-tests-\(getpid())-XXXXXX").path.utf8CString)
        let directory = template.withUnsafeMutableBufferPointer { buffer -> URL in
            guard let made = mkdtemp(buffer.baseAddress!) else { fatalError("mkdtemp: \(String(cString: strerror(errno)))") }
            return URL(fileURLWithPath: String(cString: made))
        }
        // World-traversable so the postgres user can reach its data directory when we are root.
        chmod(directory.path, 0o755)
        registerCleanUpAtExit()
        return directory
    }()

    /// Scratch files of tests, removed with the run's directory at exit.
    static let scratchDirectory: URL = {
        let directory = clusterDirectory.appendingPathComponent("scratch")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }()

    /// A project directory of its own (its own `.recette/` and lock), for one CLI run.
    static func newProjectDirectory() -> URL {
        let directory = scratchDirectory.appendingPathComponent("project-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static let projectDirectory: URL = {
        let directory = clusterDirectory.appendingPathComponent("project")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }()

    /// A context that reaches nothing it was not given: no process runs, no HTTP request
    /// leaves, and the environment holds only `environment` (and the test cluster's
    /// directory). A test that forgot to give one of them fails instead of reaching the
    /// machine or the network.
    static func context(
        projectDirectory: URL = TestEnvironment.projectDirectory,
        environment given: [String: String] = [:],
        output: any OutputSink = RecordingOutputSink(),
        runner: any ProcessRunning = FailClosedRunner(),
        http: any HTTPTransport = FailClosedHTTP()
    ) throws -> RecetteContext {
        var environment = ["RECETTE_LOCAL_DIR": clusterDirectory.appendingPathComponent("local").path]
        for (key, value) in given { environment[key] = value }
        return try makeContext(projectDirectory: projectDirectory, environment: environment, output: output, runner: runner, http: http)
    }

    /// The machine itself, asked for by integration tests: real processes (PostgreSQL's
    /// programs, docker), this process's environment, HTTP (to loopback stand-ins).
    static func machineContext(
        projectDirectory: URL = TestEnvironment.projectDirectory,
        environment extra: [String: String] = [:],
        output: any OutputSink = RecordingOutputSink(),
        runner: any ProcessRunning = SubprocessRunner()
    ) throws -> RecetteContext {
        var environment = ProcessInfo.processInfo.environment
        environment["RECETTE_LOCAL_DIR"] = clusterDirectory.appendingPathComponent("local").path
        for (key, value) in extra { environment[key] = value }
        return try makeContext(projectDirectory: projectDirectory, environment: environment, output: output, runner: runner, http: URLSessionTransport())
    }

    private static func makeContext(projectDirectory: URL, environment: [String: String], output: any OutputSink,
                                    runner: any ProcessRunning, http: any HTTPTransport) throws -> RecetteContext {
        let configuration = try Configuration.load(environment: environment, projectDirectory: projectDirectory)
        var logger = Logger(label: "recette-tests")
        logger.logLevel = .warning
        return RecetteContext(configuration: configuration, runner: runner, http: http, output: output, logger: logger,
                              terminal: Terminal(standardOutputIsTTY: false, standardErrorIsTTY: false, colorEnabled: false),
                              environment: environment)
    }

    /// Starts this run's cluster once; stops it and removes its files when the test process ends.
    static func startedCluster() async throws -> (LocalCluster, port: Int) {
        try await ClusterStarter.shared.start()
    }

    /// The environment the `recette` binary gets in CLI tests: the shared cluster.
    static var cliEnvironment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["RECETTE_LOCAL_DIR"] = clusterDirectory.appendingPathComponent("local").path
        environment["NO_COLOR"] = "1"
        return environment
    }

    static var binary: URL {
        packageRoot.appendingPathComponent(".build/debug/recette")
    }
}

private actor ClusterStarter {
    static let shared = ClusterStarter()
    /// A task, not a value: the actor is re-entered while the first start is awaited, and a
    /// second caller must wait for that start rather than begin another.
    private var starting: Task<(LocalCluster, Int), any Error>?

    func start() async throws -> (LocalCluster, port: Int) {
        if starting == nil {
            starting = Task {
                guard !TestLane.isUnit else {
                    throw RecetteFailure("the unit lane (RECETTE_UNIT_LANE=1) starts no PostgreSQL: tag this test .postgres and give it .skippedInUnitLane")
                }
                let context = try TestEnvironment.machineContext()
                let cluster = context.localCluster
                let status = try await cluster.start()
                guard let port = status.port else { throw RecetteFailure("test cluster has no port") }
                registerStopAtExit(cluster: cluster)
                return (cluster, port)
            }
        }
        return try await starting!.value
    }
}

nonisolated(unsafe) private var clusterToStopAtExit: LocalCluster?

private func registerStopAtExit(cluster: LocalCluster) {
    clusterToStopAtExit = cluster
}

/// At exit: stop this run's cluster (if one was started), then remove the run's directory.
private func registerCleanUpAtExit() {
    atexit {
        defer { try? FileManager.default.removeItem(at: TestEnvironment.clusterDirectory) }
        guard let cluster = clusterToStopAtExit else { return }
        // Synchronous on purpose: the process is exiting.
        let stop = Process()
        var arguments = [PostgresTools(binDirectory: nil).path(of: .pgCtl) ?? "pg_ctl", "--pgdata=\(cluster.dataDirectory.path)", "--mode=immediate", "--wait", "stop"]
        if geteuid() == 0 {
            arguments = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"] + arguments
        }
        stop.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        stop.arguments = arguments
        stop.standardOutput = FileHandle.nullDevice
        stop.standardError = FileHandle.nullDevice
        try? stop.run()
        stop.waitUntilExit()
    }
}

/// Runs the built `recette` binary.
struct CLIResult {
    var status: Int32
    var standardOutput: String
    var standardError: String
}

enum CLI {
    static func run(_ arguments: [String], environment: [String: String] = TestEnvironment.cliEnvironment,
                    currentDirectory: URL = TestEnvironment.newProjectDirectory()) async throws -> CLIResult {
        let binary = TestEnvironment.binary
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw RecetteFailure("\(binary.path) is missing: run 'swift build' before 'swift test' (scripts/test.sh does)")
        }
        return try await collect(Command(binary.path, arguments, environment: environment), currentDirectory: currentDirectory)
    }

    /// Runs `command` to its end, whatever its exit status, keeping both outputs.
    static func collect(_ command: Command, currentDirectory: URL) async throws -> CLIResult {
        var command = command
        command.workingDirectory = currentDirectory.path
        let errors = LineCollector()
        let result = try await SubprocessRunner().run(command, input: nil, output: .collect(), onStandardErrorLine: { errors.append($0) },
                                                      acceptedExitStatuses: Set(0...255))
        return CLIResult(status: result.exitStatus, standardOutput: result.outputText, standardError: errors.text)
    }
}

extension CLI {
    /// Runs a command line in-process, in a world of its own (this environment and directory,
    /// both outputs collected, no terminal, no signal handling): for tests that do not test
    /// the binary itself.
    static func runInProcess(_ arguments: [String], environment: [String: String] = TestEnvironment.cliEnvironment,
                             currentDirectory: URL = TestEnvironment.newProjectDirectory(),
                             prompt: ConfirmationPrompt = .unanswered) async throws -> CLIResult {
        let output = RecordingOutputSink()
        let errors = LockedValue("")
        let world = CommandWorld(environment: environment, currentDirectory: currentDirectory.path, output: output,
                                 writeError: { text in errors.mutate { $0 += text } }, prompt: prompt,
                                 terminal: Terminal(standardOutputIsTTY: false, standardErrorIsTTY: false, colorEnabled: false))
        let status = await CommandWorld.$current.withValue(world) { await Recette.run(arguments: arguments) }
        // Standard error as the binary's tests read it: lines, without the last newline.
        var standardError = errors.get()
        if standardError.hasSuffix("\n") { standardError.removeLast() }
        return CLIResult(status: status, standardOutput: output.lines.map { $0 + "\n" }.joined(), standardError: standardError)
    }

    /// Starts the binary without waiting (to signal it); standard error goes to the pipe.
    static func launch(_ arguments: [String], environment: [String: String] = TestEnvironment.cliEnvironment,
                       standardError errors: Pipe = Pipe()) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = TestEnvironment.binary
        process.arguments = arguments
        process.environment = environment
        process.currentDirectoryURL = TestEnvironment.newProjectDirectory()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }
}

final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var text: String { all.joined(separator: "\n") }
    var all: [String] { lines.withLock { $0 } }
}

/// The runner of a test that gave none: every command fails, naming itself.
struct FailClosedRunner: ProcessRunning {
    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    func run(_ command: Command, input: Data?, output: StandardOutputHandling, onStandardErrorLine: (@Sendable (String) -> Void)?,
             acceptedExitStatuses: Set<Int32>) async throws -> ProcessResult {
        throw Refused(description: "this test gave no process runner, so '\(command.executable)' was not run: pass runner: to TestEnvironment.context, or use machineContext")
    }
}

/// The HTTP of a test that gave none: every request fails, naming its URL.
struct FailClosedHTTP: HTTPTransport {
    func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        throw FailClosedRunner.Refused(description: "this test gave no HTTP transport, so \(request.url?.absoluteString ?? "?") was not requested: pass http: to TestEnvironment.context")
    }

    func stream(_ request: URLRequest, onResponse: @escaping @Sendable (HTTPURLResponse) throws -> Void,
                onChunk: @escaping @Sendable (Data) throws -> Void) async throws -> HTTPURLResponse {
        throw FailClosedRunner.Refused(description: "this test gave no HTTP transport, so \(request.url?.absoluteString ?? "?") was not streamed: pass http: to TestEnvironment.context")
    }
}
