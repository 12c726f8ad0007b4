import ArgumentParser
import RecetteKit

struct Download: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a backup (the newest 'done' one, or --backup ID) with progress, resume and size check.",
        discussion: """
        NOT BUILT YET (issue "Scalingo backups without the Scalingo CLI").

        Example (once built):
          recette download --backup 5f2b…
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Option(help: "Backup id (default: the newest backup whose status is 'done').") var backup: String?

    func run() async throws {
        try await CommandRunner.run(common) { _ in throw NotImplemented(command: "download", issue: "issue 'Scalingo backups without the Scalingo CLI'") }
    }
}
