import ArgumentParser
import Foundation
import Logging
import RecetteKit
import RecetteWorld

/// What a command reaches outside itself. The executable's is this process's own; a test
/// runs a command in-process inside a world of its own (`CommandWorld.$current.withValue`).
public struct CommandWorld: Sendable {
    public var environment: [String: String]
    public var currentDirectory: String
    public var output: any OutputSink
    public var writeError: @Sendable (String) -> Void
    public var prompt: ConfirmationPrompt
    /// nil: the terminal is detected from the process's file descriptors.
    public var terminal: Terminal?
    /// Signals (Ctrl-C…) turn into cancellation: only for the process's own world, a test
    /// process keeps its signals.
    public var handlesSignals: Bool

    public init(environment: [String: String], currentDirectory: String, output: any OutputSink, writeError: @escaping @Sendable (String) -> Void,
                prompt: ConfirmationPrompt = .unanswered, terminal: Terminal? = nil, handlesSignals: Bool = false) {
        self.environment = environment
        self.currentDirectory = currentDirectory
        self.output = output
        self.writeError = writeError
        self.prompt = prompt
        self.terminal = terminal
        self.handlesSignals = handlesSignals
    }

    /// This process: its environment, working directory, standard streams and terminal.
    public static var process: CommandWorld {
        CommandWorld(environment: ProcessInfo.processInfo.environment, currentDirectory: FileManager.default.currentDirectoryPath,
                     output: StandardOutputSink(), writeError: { StandardStream.error($0) }, prompt: .standard(), handlesSignals: true)
    }

    @TaskLocal public static var current: CommandWorld = .process

    /// A path as the user typed it, from the world's working directory.
    static func file(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : URL(fileURLWithPath: current.currentDirectory).appendingPathComponent(path)
    }
}

/// Builds the context from the common options, runs the work, and turns what happens into
/// an exit status: 0 ok, 1 failure (one line on standard error), 130 interrupted.
enum CommandRunner {
    /// - Parameters:
    ///   - lock: the command changes the project (restore, reset, download…): one such run at a
    ///     time per project; a dry run takes no lock.
    ///   - validatingSettings: false lets a command report invalid settings itself (`doctor`);
    ///     every other command refuses the first one here, before anything is contacted.
    ///   - detectingSearchServer: the command talks to Meilisearch: on the compose target, the
    ///     compose file's Meilisearch URL and master key are the defaults of its settings.
    static func run(_ common: CommonOptions, flags: [Setting: String] = [:], lock: String? = nil, validatingSettings: Bool = true,
                    detectingSearchServer: Bool = false,
                    _ work: @escaping @Sendable (RecetteContext) async throws -> Void) async throws {
        let world = CommandWorld.current
        let environment = world.environment
        let terminal = world.terminal ?? Terminal.detect(environment: environment)
        let projectDirectory = (common.projectDirectory.map(CommandWorld.file) ?? URL(fileURLWithPath: world.currentDirectory)).standardizedFileURL
        var configuration: Configuration
        do {
            configuration = try Configuration.load(flags: flags, environment: environment, projectDirectory: projectDirectory,
                                                   validating: validatingSettings)
        } catch {
            try fail(FailureMessage.oneLine(error), terminal: terminal)
        }
        if detectingSearchServer {
            // Before the logger exists, so that a detected key is among the secrets it hides.
            let probe = RecetteContext(configuration: configuration, runner: SubprocessRunner(baseEnvironment: world.handlesSignals ? nil : environment),
                                       http: URLSessionTransport(), output: world.output, logger: Logger(label: "recette") { _ in SwiftLogNoOpLogHandler() },
                                       terminal: terminal, environment: environment)
            let detected = await ComposeSearchDefaults.detect(probe)
            if !detected.isEmpty {
                do {
                    configuration = try Configuration.load(flags: flags, environment: environment, projectDirectory: projectDirectory,
                                                           validating: validatingSettings, detected: detected)
                } catch {
                    try fail(FailureMessage.oneLine(error), terminal: terminal)
                }
            }
        }
        let level: Logger.Level = common.verbose ? .debug : common.quiet ? .warning : .info
        let secrets = configuration.secrets
        let format = common.logFormat
        let logger = Logger(label: "recette") { label in
            RecetteLogHandler(label: label, format: format, level: level, terminal: terminal, secrets: secrets, write: { world.writeError($0 + "\n") })
        }
        let archiveHTTP: any HTTPTransport
        do {
            archiveHTTP = try (validatingSettings ? ArchiveTransport(configuration) : (try? ArchiveTransport(configuration)) ?? .curl).make()
        } catch {
            try fail(FailureMessage.oneLine(error), terminal: terminal)
        }
        let context = RecetteContext(
            configuration: configuration, runner: SubprocessRunner(logger: logger, baseEnvironment: world.handlesSignals ? nil : environment), http: URLSessionTransport(), archiveHTTP: archiveHTTP,
            output: world.output, logger: logger,
            terminal: terminal, environment: environment,
            showsProgress: terminal.standardErrorIsTTY && !common.noProgress,
            assumeYes: common.yes, dryRun: common.dryRun, prompt: world.prompt
        )

        var runLock: RunLock?
        if let lock, !context.dryRun {
            do {
                runLock = try RunLock.acquire(stateDirectory: context.stateDirectory, command: "recette \(lock)")
            } catch {
                logger.error("\(FailureMessage.oneLine(error))")
                throw ExitCode.failure
            }
        }
        defer { runLock?.release() }
        let task = Task { try await work(context) }
        let interrupts = world.handlesSignals ? InterruptHandler { task.cancel() } : nil
        let result = await task.result
        if interrupts?.wasInterrupted == true {
            logger.error("interrupted; running commands were stopped")
            throw ExitCode(130)
        }
        switch result {
        case .success:
            return
        case .failure(let error as ExitCode):
            throw error
        case .failure(is CancellationError):
            throw ExitCode(130)
        case .failure(let error):
            logger.error("\(Redaction.redacting(secrets, in: FailureMessage.oneLine(error)))")
            throw ExitCode.failure
        }
    }

    /// A failure before the logger exists (the settings): one line, exit 1.
    static func fail(_ message: String, terminal: Terminal) throws -> Never {
        CommandWorld.current.writeError(terminal.paint("error: ", .red) + message + "\n")
        throw ExitCode.failure
    }
}
