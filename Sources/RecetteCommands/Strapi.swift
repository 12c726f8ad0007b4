import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

struct Strapi: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The Strapi CMS's source against the restored database.",
        subcommands: [Check.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "What Strapi's boot schema sync would drop or add on this copy, from the CMS source.",
            discussion: """
            Reads the content types and components of the CMS source (strapi.project in
            recette.yml, or the project directory when it holds src/api), derives the tables and
            columns that code expects, and compares them with the target's database and with
            what strapi_database_schema says Strapi tracked. Strapi drops, at its next start,
            tracked tables and columns the code no longer has. Exits 1 when something would be
            dropped. Changes nothing.

            Example:
              recette strapi check --target compose
            """.reflowed
        )
        @OptionGroup(title: "Common options") var common: CommonOptions
        @OptionGroup(title: "Target (the database compared)") var targetOptions: TargetOptions

        func run() async throws {
            try await CommandRunner.run(common, flags: try targetOptions.flags()) { context in
                guard let project = try StrapiProject.configured(context.configuration) else {
                    throw RecetteFailure("no Strapi project to check: set strapi.project in recette.yml (or RECETTE_STRAPI_PROJECT) to the CMS's source, the directory holding package.json and src/api")
                }
                let database = try await SearchDatabase.libpqConnection(for: context)
                let (model, changes) = try await StrapiSchemaGuard.check(project: project, connectionString: database.connectionString)
                context.output.write("Strapi \(model.strapiVersion ?? String(model.strapiMajor)) source \(project.directory.path) against \(database.display):")
                changes.lines.forEach { context.output.write("  " + $0) }
                if changes.dropsSomething {
                    throw RecetteFailure("Strapi's boot sync would drop \(changes.dropSummary): \(StrapiSchemaGuard.fix)")
                }
            }
        }
    }
}
