import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

struct Recette: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recette",
        abstract: "A fresh local copy of a Scalingo-hosted Strapi CMS's recette (staging) data, in one command.",
        discussion: """
        recette downloads the latest recette PostgreSQL backup, verifies it, resets only the
        database, restores it fast, starts the CMS and rebuilds the Meilisearch indexes.

        Configuration comes from flags, then the environment, then .env, then recette.yml,
        then defaults. 'recette doctor' shows what is resolved and what is missing.

        Exit status: 0 ok, 1 failure, 2 usage error, 130 interrupted.
        """.reflowed,
        version: RecetteVersion.current,
        subcommands: [
            Populate.self, Backups.self, Download.self, Restore.self, Reset.self, Reindex.self, Search.self,
            Strapi.self, Generate.self, Doctor.self, Local.self, Pristine.self, SampleBackup.self,
        ]
    )
}

@main
enum Main {
    static func main() async {
        MemoryPolicy.returnLargeBlocksToTheSystem()
        InterruptHandler.ignoreBrokenPipes()
        do {
            var command = try Recette.parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(for: error)
        }
    }

    /// Usage errors print one line and exit 2 (ArgumentParser's default is 64 with the whole
    /// usage text); help and version exit 0; ExitCode passes through.
    static func exit(for error: any Error) -> Never {
        let code = Recette.exitCode(for: error)
        if code == .validationFailure {
            let message = Recette.message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
            StandardStream.error("recette: \(message) (see 'recette --help')\n")
            Foundation.exit(2)
        }
        Recette.exit(withError: error)
    }
}
