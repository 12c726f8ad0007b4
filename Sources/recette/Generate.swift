import ArgumentParser
import RecetteKit

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render templates/ into populate-with-recette-data.sh, compose/compose.yaml and .env.example.",
        discussion: """
        NOT BUILT YET (issue "recette populate end to end").

        Example (once built):
          recette generate --check
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Flag(help: "Exit 1 with a diff when the committed files differ from what would be generated.") var check = false

    func run() async throws {
        try await CommandRunner.run(common) { _ in throw NotImplemented(command: "generate", issue: "issue 'recette populate end to end'") }
    }
}
