import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

struct Download: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a backup (the newest 'done' one, or --backup ID / --date DAY) with progress, resume and size check.",
        discussion: """
        The archive goes to .recette/backups/<backup id>/<name>.tar.gz (a cache: a second run
        for the same backup downloads nothing). It is written to <name>.tar.gz.part and renamed
        only when complete and of the size Scalingo announced; an interrupted download resumes
        where it stopped. Prints the archive's path.

        Examples:
          recette download
          recette download --date 2026-11-20
          recette restore "$(recette download -q)"
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Option(help: "Backup id (default: the newest backup whose status is 'done').") var backup: String?
    @Option(help: ArgumentHelp("The newest 'done' backup created that day (UTC).", valueName: "YYYY-MM-DD")) var date: String?
    @Flag(help: "Download with the installed 'scalingo' CLI instead of the API (token passed in its environment).") var scalingoCli = false

    func validate() throws {
        if backup != nil && date != nil { throw ValidationError("give --backup or --date, not both") }
        if let date, !BackupChoice.isValidDay(date) { throw ValidationError("--date '\(date)' is not a date like 2026-11-20") }
        if scalingoCli && date != nil { throw ValidationError("--date needs the API route; with --scalingo-cli give --backup ID") }
    }

    func run() async throws {
        let choice: BackupChoice = backup.map { .id($0) } ?? date.map { .day($0) } ?? .newest
        let (viaCLI, backup) = (scalingoCli, backup)
        try await CommandRunner.run(common, lock: "download") { context in
            if viaCLI {
                if context.dryRun {
                    context.output.write("would run: scalingo --app APP --addon ADDON backups-download --output \(context.stateDirectory.path)/backups/scalingo-cli/…tar.gz.part" + (backup.map { " --backup \($0)" } ?? ""))
                    return
                }
                context.output.write(try await ScalingoCLI(context: context).download(backupID: backup).path)
                return
            }
            let source = try ScalingoBackupSource(context: context)
            if context.dryRun {
                context.output.write("would download the \(choice) backup of app \(source.app) (addon \(source.addonName)) into \(context.stateDirectory.appendingPathComponent("backups").path)")
                return
            }
            let downloaded = try await source.download(choice)
            context.output.write(downloaded.file.path)
        }
    }
}
