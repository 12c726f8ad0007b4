import ArgumentParser
import RecetteKit

enum ReindexRoute: String, ExpressibleByArgument, CaseIterable {
    case plugin, direct
}

struct Reindex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the Meilisearch indexes completely (past the plugin's 10,000-document stop), with no downtime.",
        discussion: """
        NOT BUILT YET (issue "Search"). --via direct streams rows from PostgreSQL into a new
        index and swaps it in atomically; --via plugin drives the Strapi plugin and checks it.

        Example (once built):
          recette reindex --via direct
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Option(help: "plugin or direct.") var via: ReindexRoute = .direct

    func run() async throws {
        try await CommandRunner.run(common) { _ in throw NotImplemented(command: "reindex", issue: "issue 'Search'") }
    }
}
