import Foundation
import RecetteWorld

/// The `--scalingo-cli` route: an installed `scalingo` binary does the talking.
///
/// The token reaches it only through `SCALINGO_API_TOKEN` in its environment — never
/// `--api-token`, which anyone on the machine could read in `ps`. Each run gets configuration
/// and cache directories of its own (`CONFIG_DIR`, `CACHE_DIR`), removed afterwards: the CLI
/// prefers a login stored in `~/.config/scalingo/auth` to the variable (it could be another
/// account's), and with none it stores the variable's token there, in the user's home.
public struct ScalingoCLI: Sendable {
    public var context: RecetteContext
    public var executable: String

    public init(context: RecetteContext, executable: String = "scalingo") {
        self.context = context
        self.executable = executable
    }

    private func command(_ arguments: [String], configuration directory: String) throws -> Command {
        guard let token = context.configuration.secret(.scalingoAPIToken), !token.isEmpty else { throw ScalingoError.missingToken }
        guard let app = context.configuration[.scalingoApp], !app.isEmpty else { throw ScalingoError.missingApp }
        var environment = ["SCALINGO_API_TOKEN": token.reveal(),
                           "CONFIG_DIR": directory + "/config", "CACHE_DIR": directory + "/cache"]
        for setting in [Setting.scalingoRegion, .scalingoAuthURL, .scalingoAPIURL, .scalingoDBURL] {
            if let value = context.configuration[setting] { environment[setting.environmentName] = value }
        }
        let addon = context.configuration.text(.addonName)
        return Command(executable, ["--app", app, "--addon", addon] + arguments, environment: environment)
    }

    /// The CLI's own backups table, as it prints it.
    public func backupsTable() async throws -> String {
        try await run(["backups"]).outputText
    }

    /// Downloads into `.recette/backups/scalingo-cli/`, through a `.part` file renamed when
    /// the CLI succeeded. Without a backup id the CLI picks the backup itself.
    public func download(backupID: String?) async throws -> URL {
        let directory = context.stateDirectory.appendingPathComponent("backups/scalingo-cli")
        try PrivateDirectory.make(directory)
        let final = directory.appendingPathComponent("\(backupID ?? "latest-\(Int(Date().timeIntervalSince1970))").tar.gz")
        if backupID != nil, FileManager.default.fileExists(atPath: final.path) {
            context.logger.info("backup \(backupID!) is already downloaded: \(final.path)")
            return final
        }
        let part = URL(fileURLWithPath: final.path + ".part")
        try? FileManager.default.removeItem(at: part)
        var arguments = ["backups-download", "--output", part.path]
        if let backupID { arguments += ["--backup", backupID] }
        context.logger.info("downloading with the Scalingo CLI")
        do {
            try await run(arguments, streamingErrors: true)
        } catch {
            try? FileManager.default.removeItem(at: part)
            throw error
        }
        guard let size = BackupDownloader.fileSize(part), size > 0 else {
            try? FileManager.default.removeItem(at: part)
            throw RecetteFailure("the Scalingo CLI reported success but wrote nothing; run it by hand to see why: scalingo --app APP --addon ADDON backups-download")
        }
        // The CLI makes the file with its own mode: backup data is the owner's only.
        try PrivateFile.restrict(part)
        try FileManager.default.moveItem(at: part, to: final)
        return final
    }

    @discardableResult
    private func run(_ arguments: [String], streamingErrors: Bool = false) async throws -> ProcessResult {
        let directory = try Self.makePrivateDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let command = try command(arguments, configuration: directory)
        let logger = context.logger
        var relay: (@Sendable (String) -> Void)?
        if streamingErrors {
            relay = { line in logger.info("scalingo: \(line)") }
        }
        do {
            return try await context.runner.run(command, input: nil, output: .collect(), onStandardErrorLine: relay, acceptedExitStatuses: [0])
        } catch ProcessError.notFound {
            throw RecetteFailure("the Scalingo CLI ('\(executable)') is not installed; drop --scalingo-cli to use Scalingo's API directly (no CLI needed)")
        } catch let error as ProcessError {
            let line = error.standardErrorTail.last(where: { !$0.isEmpty }) ?? error.description
            throw RecetteFailure("the Scalingo CLI failed: \(line)")
        }
    }

    /// A directory only this user can read (mkdtemp: mode 0700), for the CLI's stored login.
    static func makePrivateDirectory() throws -> String {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("recette-scalingo-cli.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw RecetteFailure("cannot create a private directory for the Scalingo CLI in \(NSTemporaryDirectory()) (errno \(errno)): check TMPDIR")
        }
        return String(cString: made)
    }
}
