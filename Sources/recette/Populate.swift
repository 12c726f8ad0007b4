import ArgumentParser
import RecetteKit

struct Populate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole refresh: obtain the backup, verify it, reset the db, restore, start the CMS, reindex, verify, report.",
        discussion: """
        NOT BUILT YET (issue "recette populate end to end"). Today, run the steps that exist:
          recette sample-backup            (or a backup file you have)
          recette restore FILE --target local

        Example (once built):
          recette populate --yes
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Option(help: ArgumentHelp("Use this backup file instead of downloading one.", valueName: "file"))
    var backup: String?

    func run() async throws {
        try await CommandRunner.run(common) { _ in throw NotImplemented(command: "populate", issue: "issue 'recette populate end to end'") }
    }
}
