import ArgumentParser
import RecetteKit

struct Backups: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the PostgreSQL addon's backups: id, date, size, status, method; newest first.",
        discussion: """
        NOT BUILT YET (issue "Scalingo backups without the Scalingo CLI").
        Reads SCALINGO_API_TOKEN, SCALINGO_APP, SCALINGO_REGION and ADDON_NAME.

        Example (once built):
          recette backups --json
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Flag(help: "Print JSON instead of a table.") var json = false

    func run() async throws {
        try await CommandRunner.run(common) { _ in throw NotImplemented(command: "backups", issue: "issue 'Scalingo backups without the Scalingo CLI'") }
    }
}
