import ArgumentParser
import RecetteKit

struct Reset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reset only the database (the db service's container and its volume); other volumes stay.",
        discussion: """
        NOT BUILT YET (issue "Restore engine"). Unlike 'docker compose down -v', it will keep
        the search index and media volumes.

        Example (once built):
          recette reset --target compose --yes
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions

    func run() async throws {
        try await CommandRunner.run(common) { _ in throw NotImplemented(command: "reset", issue: "issue 'Restore engine'") }
    }
}
