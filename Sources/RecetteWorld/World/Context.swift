import Foundation
import Logging

/// Everything a command needs from the outside world, in one value, so tests can give their
/// own (a recording output, a fake process runner, another project directory).
public struct RecetteContext: Sendable {
    public var configuration: Configuration
    public var runner: any ProcessRunning
    public var http: any HTTPTransport
    /// The HTTP that streams backup archives (large bodies to disk); `http` unless told.
    public var archiveHTTP: any HTTPTransport
    public var output: any OutputSink
    public var logger: Logger
    public var terminal: Terminal
    public var environment: [String: String]
    /// Show progress bars (TTY and not `--no-progress`).
    public var showsProgress: Bool
    public var assumeYes: Bool
    public var dryRun: Bool
    /// Asks before something is destroyed (the terminal's standard input and error in the
    /// executable; by default nobody answers, so only `--yes` confirms).
    public var prompt: ConfirmationPrompt
    /// The clock runs and reports are dated by.
    public var now: @Sendable () -> Date

    public init(configuration: Configuration, runner: any ProcessRunning, http: any HTTPTransport, archiveHTTP: (any HTTPTransport)? = nil,
                output: any OutputSink, logger: Logger,
                terminal: Terminal, environment: [String: String], showsProgress: Bool = false, assumeYes: Bool = false, dryRun: Bool = false,
                prompt: ConfirmationPrompt = .unanswered, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.runner = runner
        self.http = http
        self.archiveHTTP = archiveHTTP ?? http
        self.output = output
        self.logger = logger
        self.terminal = terminal
        self.environment = environment
        self.showsProgress = showsProgress
        self.assumeYes = assumeYes
        self.dryRun = dryRun
        self.prompt = prompt
        self.now = now
    }

    public var postgresTools: PostgresTools {
        PostgresTools(binDirectory: configuration[.postgresBinDirectory], environment: environment)
    }

    /// The project directory (where `.recette/` lives).
    public var projectDirectory: URL { configuration.projectDirectory }

    /// `.recette/` of the project: caches, work files, run reports.
    public var stateDirectory: URL { projectDirectory.appendingPathComponent(".recette") }
}
