import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

struct SampleBackup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample-backup",
        abstract: "Build a sample recette backup: a Strapi-v4-shaped (or v5-shaped) database packed like a Scalingo backup.",
        discussion: """
        The database has the collections offres_de_stage and annonces_de_logement (about 10%
        drafts), their components and link tables, and Strapi's admin tables. It is built in
        the local cluster, dumped with pg_dump -Fc with every object owned by a role that is
        dropped afterwards (as on a real restore, the owner does not exist on the target), and
        packed as <timestamp>_<app>_<n>.tar.gz holding one .pgsql file. Prints the archive path.
        Also writes the matching Strapi project (--cms-source), whose content types differ
        from the database by one content type more and one attribute less, with a transform
        example in recette/. --strapi 5 builds Strapi v5's layout instead: every content type
        with document_id and locale, a draft row and a published row per published document,
        each with its own components (<table>_cmps), link tables named *_lnk; its project
        names Strapi 5 and strapi-plugin-meilisearch 0.16.

        Example:
          recette sample-backup --output tmp/backups --offers 25000 --housing 12000
          recette sample-backup --strapi 5 --offers 2000 --housing 500
        """.reflowed
    )

    @OptionGroup(title: "Common options") var common: CommonOptions

    @Option(help: ArgumentHelp("Directory the archive is written to.", valueName: "dir"))
    var output = "tmp/backups"

    @Option(help: "Rows in offres_de_stage.")
    var offers = 25_000

    @Option(help: "Rows in annonces_de_logement.")
    var housing = 12_000

    @Option(help: "App name used in the archive's name.")
    var app = "recette-sample"

    @Option(help: ArgumentHelp("Directory the matching Strapi project (package.json, src/api, src/components, recette/) is written to (default: <output>/<app>-cms).", valueName: "dir"))
    var cmsSource: String?

    @Option(help: ArgumentHelp("The Strapi major the database and its project are shaped for: 4 or 5.", valueName: "major"))
    var strapi = 4

    func validate() throws {
        guard strapi == 4 || strapi == 5 else { throw ValidationError("--strapi \(strapi) is not a Strapi major recette builds a sample for: give 4 or 5") }
        guard offers >= 0, housing >= 0 else { throw ValidationError("--offers and --housing must be zero or more") }
        guard !app.isEmpty, app.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ValidationError("--app '\(app)' may hold only letters, digits, - and _")
        }
    }

    func run() async throws {
        let (output, offers, housing, app, cmsSource, strapi) = (output, offers, housing, app, cmsSource, strapi)
        try await CommandRunner.run(common, lock: "sample-backup") { context in
            func resolved(_ path: String) -> URL { path.hasPrefix("/") ? URL(fileURLWithPath: path) : context.projectDirectory.appendingPathComponent(path) }
            let directory = resolved(output)
            let source = cmsSource.map(resolved) ?? directory.appendingPathComponent("\(app)-cms")
            if context.dryRun {
                context.output.write("would build a Strapi v\(strapi)-shaped sample database (\(offers) offers, \(housing) housing ads) in the local cluster and write <timestamp>_\(app)_1.tar.gz into \(directory.path), and its CMS source into \(source.path)")
                return
            }
            let builder = SampleBackupBuilder(context: context, offers: offers, housingAds: housing, appName: app, strapiMajor: strapi)
            let backup = try await builder.build(into: directory)
            let expected = backup.expectedRowCounts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            context.logger.info("expected rows: \(expected)")
            try SampleCMSSource.write(into: source, strapiMajor: strapi)
            context.logger.info("wrote the matching Strapi \(strapi) project into \(source.path) (strapi.project; one content type more and one attribute less than the database, for 'recette strapi check')")
            context.output.write(backup.archive.path)
        }
    }
}
