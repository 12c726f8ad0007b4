import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

public struct Recette: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
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

    public init() {}
}

extension Recette {
    /// Runs one command line in the current `CommandWorld` and returns its exit status: 0 ok
    /// (help and version included), 1 failure, 2 usage error (one line, not ArgumentParser's
    /// 64 with the whole usage text), 130 interrupted.
    public static func run(arguments: [String]?) async -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            return 0
        } catch {
            let world = CommandWorld.current
            let code = exitCode(for: error)
            if code == .validationFailure {
                let message = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid usage"
                world.writeError("recette: \(message) (see 'recette --help')\n")
                return 2
            }
            let text = fullMessage(for: error)
            if !text.isEmpty {
                if code.isSuccess { world.output.write(text) } else { world.writeError(text + "\n") }
            }
            return code.rawValue
        }
    }
}
