import ArgumentParser
import Foundation
import Logging
import RecetteKit
import RecetteWorld

/// Flags every subcommand takes.
struct CommonOptions: ParsableArguments {
    @Flag(help: "Print what would be done, with the concrete commands; change nothing.")
    var dryRun = false

    @Flag(name: [.customShort("y"), .long], help: "Answer yes to confirmations (needed without a terminal).")
    var yes = false

    @Flag(help: "Never draw progress bars; log one line per step instead.")
    var noProgress = false

    @Option(help: "Log format on standard error: text or json (one object per line).")
    var logFormat: LogFormat = .text

    @Flag(name: .shortAndLong, help: "Log details: every command run, every pg_restore line.")
    var verbose = false

    @Flag(name: .shortAndLong, help: "Log only warnings and errors.")
    var quiet = false

    @Option(name: .customLong("project-dir"), help: ArgumentHelp("Project directory holding .env, recette.yml and .recette/.", valueName: "dir"))
    var projectDirectory: String?

    func validate() throws {
        if verbose && quiet { throw ValidationError("--verbose and --quiet cannot be used together") }
        if let projectDirectory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: projectDirectory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--project-dir '\(projectDirectory)' is not a directory")
            }
        }
    }
}

extension LogFormat: ExpressibleByArgument {}
