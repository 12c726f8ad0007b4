import ArgumentParser
import RecetteKit

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the database with the Meilisearch indexes.",
        subcommands: [Status.self, Verify.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per index: database rows vs index documents.",
            discussion: "NOT BUILT YET (issue \"Search\").\n\nExample (once built):\n  recette search status"
        )
        @OptionGroup(title: "Common options") var common: CommonOptions

        func run() async throws {
            try await CommandRunner.run(common) { _ in throw NotImplemented(command: "search status", issue: "issue 'Search'") }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per index: ids missing from the index and ids in the index that are not in the database.",
            discussion: "NOT BUILT YET (issue \"Search\").\n\nExample (once built):\n  recette search verify --fix"
        )
        @OptionGroup(title: "Common options") var common: CommonOptions
        @Flag(help: "Send the missing documents and delete the extra ones.") var fix = false

        func run() async throws {
            try await CommandRunner.run(common) { _ in throw NotImplemented(command: "search verify", issue: "issue 'Search'") }
        }
    }
}
