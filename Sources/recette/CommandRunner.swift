import ArgumentParser
import Foundation
import Logging
import RecetteKit
import RecetteWorld

/// Builds the context from the common options, runs the work, and turns what happens into
/// an exit status: 0 ok, 1 failure (one line on standard error), 130 interrupted.
enum CommandRunner {
    /// - Parameters:
    ///   - lock: the command changes the project (restore, reset, download…): one such run at a
    ///     time per project; a dry run takes no lock.
    ///   - validatingSettings: false lets a command report invalid settings itself (`doctor`);
    ///     every other command refuses the first one here, before anything is contacted.
    static func run(_ common: CommonOptions, flags: [Setting: String] = [:], lock: String? = nil, validatingSettings: Bool = true,
                    _ work: @escaping @Sendable (RecetteContext) async throws -> Void) async throws {
        let environment = ProcessInfo.processInfo.environment
        let terminal = Terminal.detect(environment: environment)
        let projectDirectory = URL(fileURLWithPath: common.projectDirectory ?? FileManager.default.currentDirectoryPath).standardizedFileURL
        let configuration: Configuration
        do {
            configuration = try Configuration.load(flags: flags, environment: environment, projectDirectory: projectDirectory,
                                                   validating: validatingSettings)
        } catch {
            fail(FailureMessage.oneLine(error), terminal: terminal)
        }
        let level: Logger.Level = common.verbose ? .debug : common.quiet ? .warning : .info
        let secrets = configuration.secrets
        let format = common.logFormat
        let logger = Logger(label: "recette") { label in
            RecetteLogHandler(label: label, format: format, level: level, terminal: terminal, secrets: secrets)
        }
        let archiveHTTP: any HTTPTransport
        do {
            archiveHTTP = try (validatingSettings ? ArchiveTransport(configuration) : (try? ArchiveTransport(configuration)) ?? .curl).make()
        } catch {
            fail(FailureMessage.oneLine(error), terminal: terminal)
        }
        let context = RecetteContext(
            configuration: configuration, runner: SubprocessRunner(logger: logger), http: URLSessionTransport(), archiveHTTP: archiveHTTP,
            output: StandardOutputSink(), logger: logger,
            terminal: terminal, environment: environment,
            showsProgress: terminal.standardErrorIsTTY && !common.noProgress,
            assumeYes: common.yes, dryRun: common.dryRun, prompt: .standard()
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
        let interrupts = InterruptHandler { task.cancel() }
        let result = await task.result
        if interrupts.wasInterrupted {
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

    static func fail(_ message: String, terminal: Terminal) -> Never {
        StandardStream.error(terminal.paint("error: ", .red) + message + "\n")
        exit(1)
    }
}
