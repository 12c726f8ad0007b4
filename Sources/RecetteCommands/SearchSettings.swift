import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

extension Search {
    struct Settings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The indexes' Meilisearch settings, for a fresh Meilisearch.",
            subcommands: [Pull.self]
        )

        struct Pull: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Read each index's settings from the recette app's Meilisearch into recette.search-settings.yml.",
                discussion: """
                Per index (search.indexes, or those the CMS source's model gives), reads its
                settings (GET /indexes/{uid}/settings; nothing is written there) from the
                Meilisearch of SCALINGO_APP, or of --meilisearch-of-app APP (its URL and key
                from the app's environment through Scalingo's API), or --meilisearch-url URL (its
                key in RECETTE_REMOTE_MEILISEARCH_API_KEY), and writes them to
                recette.search-settings.yml beside recette.yml (a file of its own: recette.yml
                keeps its comments). recette reindex creates each index with them, unless the
                index's settings: in recette.yml, or search.settings.<uid> there, say otherwise.
                Commit the file: every machine's fresh Meilisearch then gets the same filters.

                Examples:
                  recette search settings pull
                  recette search settings pull --meilisearch-of-app my-cms-recette --dry-run
                """.reflowed
            )
            @OptionGroup(title: "Common options") var common: CommonOptions
            @Option(name: .customLong("index"), help: ArgumentHelp("Only this index (repeatable).", valueName: "uid")) var indexes: [String] = []
            @OptionGroup(title: "Target (the database that says which indexes the model gives)") var targetOptions: TargetOptions
            @OptionGroup(title: "The Meilisearch to read (default: that of SCALINGO_APP)") var meilisearchOptions: MeilisearchOptions

            func run() async throws {
                let flags = try targetOptions.flags()
                let choice = try meilisearchOptions.choice()
                let indexes = indexes
                try await CommandRunner.run(common, flags: flags) { context in
                    guard let choice = choice ?? context.configuration[.scalingoApp].map(MeilisearchChoice.ofApp) else {
                        throw RecetteFailure("search settings pull reads the recette app's Meilisearch: set SCALINGO_APP, or pass --meilisearch-of-app APP or --meilisearch-url URL")
                    }
                    let meilisearch = try await RemoteMeilisearch.resolve(choice, context: context)
                    let lines = try await SearchSettingsPull(context: context, meilisearch: meilisearch, only: indexes).run()
                    lines.forEach(context.output.write)
                }
            }
        }
    }
}
