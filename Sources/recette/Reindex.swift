import ArgumentParser
import Foundation
import RecetteKit

extension ReindexRoute: ExpressibleByArgument {}

struct Reindex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the Meilisearch indexes completely (past the plugin's 10,000-document stop), with no downtime.",
        discussion: """
        --via direct (default when recette.yml has search.indexes): per index, the rows of its
        SQL query are streamed out of PostgreSQL as JSON and sent in NDJSON batches into a new
        index <uid>_<timestamp> with the live index's settings (or those of recette.yml). Only
        when every Meilisearch task succeeded and the new index holds exactly the query's row
        count is it swapped with the live index, in one atomic step; then the old content is
        deleted. On any failure the live index is left as it was and the new one is removed.

        --via plugin: logs in to the Strapi admin (STRAPI_ADMIN_EMAIL, STRAPI_ADMIN_PASSWORD),
        triggers the Meilisearch plugin's reindex of each content type, waits until Meilisearch
        has no unfinished task, compares each index with the database's published rows, and
        explains a short index (the plugin's string batch size stops it at 2 × batch size).

        The documents are read from the target's database (RECETTE_TARGET), or
        RECETTE_SEARCH_DATABASE_URL.

        Examples:
          recette reindex
          recette reindex --index offre-de-stage --dry-run
          recette reindex --via plugin
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Option(help: "direct or plugin (default: RECETTE_REINDEX_VIA, else direct when search.indexes is configured).")
    var via: ReindexRoute?
    @Option(name: .customLong("index"), help: ArgumentHelp("Only this index (repeatable; by uid, or content type with --via plugin).", valueName: "uid"))
    var indexes: [String] = []
    @Option(help: ArgumentHelp("Read the documents from this database (default: the target's).", valueName: "target"))
    var target: RestoreTarget?
    @Flag(help: "Print the reports as JSON on standard output.") var json = false

    func run() async throws {
        var flags: [Setting: String] = [:]
        if let target { flags[.target] = target.rawValue }
        let (via, indexes, json) = (via, indexes, json)
        try await CommandRunner.run(common, flags: flags, lock: "reindex") { context in
            try await SearchCommands.reindex(context: context, via: via, only: indexes, json: json)
        }
    }
}

/// The search commands' work, shared by `reindex`, `search` and `populate`.
enum SearchCommands {
    static func reindex(context: RecetteContext, via requested: ReindexRoute?, only: [String], json: Bool) async throws {
        let route = try SearchSetup.route(requested: requested, configuration: context.configuration)
        let startedAt = Date()
        switch route {
        case .direct:
            let setup = try SearchSetup(context: context, only: only)
            try setup.requireDefinitions(for: "reindex --via direct")
            if context.dryRun {
                context.output.write("would rebuild \(setup.definitions.count) index(es) on \(setup.client.server), documents from the \(context.configuration[.target] ?? "local") target's database:")
                for definition in setup.definitions {
                    context.output.write("  \(definition.uid): new index \(definition.uid)_<timestamp> (primary key \(definition.primaryKey), settings from \(definition.settingsJSON == nil ? "the live index" : "recette.yml")), filled from its query, swapped with \(definition.uid), old content deleted")
                }
                return
            }
            let database = try await SearchDatabase.connection(for: context)
            context.logger.info("documents from \(database.display)")
            let reindexer = DirectReindexer(client: setup.client, databaseConnectionString: database.connectionString,
                                            batchBytes: setup.batchBytes, gzip: setup.gzip, logger: context.logger)
            var reports: [IndexRebuildReport] = []
            for definition in setup.definitions {
                let report = try await reindexer.rebuild(definition)
                reports.append(report)
                if !json { context.output.write(describe(report)) }
            }
            let file = try RunReportFile.write(reports, kind: "reindex", startedAt: startedAt, stateDirectory: context.stateDirectory)
            if json { context.output.write(try jsonText(reports)) } else { context.output.write("report: \(file.path)") }
        case .plugin:
            let configuration = context.configuration
            let strapiText = configuration[.strapiURL] ?? "http://127.0.0.1:1337"
            guard let strapiURL = URL(string: strapiText), strapiURL.host != nil else {
                throw RecetteFailure("STRAPI_URL '\(strapiText)' is not a URL, e.g. http://127.0.0.1:1337")
            }
            guard let email = configuration[.strapiAdminEmail], let password = configuration.secret(.strapiAdminPassword), !password.isEmpty else {
                throw StrapiError.missingCredentials
            }
            let setup = try SearchSetup(context: context)
            if context.dryRun {
                context.output.write("would log in to the Strapi admin at \(strapiURL.absoluteString) as \(email), ask the Meilisearch plugin to reindex \(only.isEmpty ? "every content type" : only.joined(separator: ", ")), wait for Meilisearch (\(setup.client.server)) and compare with the database")
                return
            }
            var strapi = StrapiAdminClient(baseURL: strapiURL, transport: context.http)
            try await strapi.logIn(email: email, password: password)
            let database = try await SearchDatabase.connection(for: context)
            let reindexer = PluginReindexer(strapi: strapi, meilisearch: setup.client, databaseConnectionString: database.connectionString,
                                            definitions: configuration.searchIndexes, cmsEnvironment: await cmsEnvironment(context),
                                            logger: context.logger)
            let reports = try await reindexer.run(only: Set(only))
            let file = try RunReportFile.write(reports, kind: "reindex-plugin", startedAt: startedAt, stateDirectory: context.stateDirectory)
            if json {
                context.output.write(try jsonText(reports))
            } else {
                for report in reports {
                    context.output.write("\(report.indexUid) (\(report.contentType)): \(report.documents) documents, \(report.publishedRows) published rows in the database, \(String(format: "%.1f", report.seconds))s — \(report.problem == nil ? "complete" : "INCOMPLETE")")
                }
                context.output.write("report: \(file.path)")
            }
            if let problem = reports.compactMap({ report in report.problem.map { "\(report.indexUid): \($0)" } }).first {
                throw RecetteFailure(problem)
            }
        }
    }

    static func describe(_ report: IndexRebuildReport) -> String {
        let megabytes = Double(report.bytesSent) / 1_048_576
        let phases = ["prepare", "stream", "tasks", "swap", "cleanup"].compactMap { name in report.phases[name].map { "\(name) \(String(format: "%.1f", $0))s" } }
        return "\(report.uid): \(report.documents) documents in \(report.batches) batch(es) (\(String(format: "%.1f", megabytes)) MiB), "
            + "\(String(format: "%.1f", report.seconds))s, \(Int(report.documentsPerSecond)) docs/s; settings from \(report.settingsFrom); swapped in "
            + "(\(phases.joined(separator: ", ")))"
    }

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// The CMS service's environment when the target is compose (to name a string batch size).
    static func cmsEnvironment(_ context: RecetteContext) async -> [String: String] {
        guard context.configuration[.target] == "compose", let project = try? ComposeProject.configured(by: context),
              let resolved = try? await project.resolve(),
              let service = resolved.services[context.configuration[.cmsService] ?? "cms"] else { return [:] }
        return service.environment.compactMapValues { $0 }
    }
}
