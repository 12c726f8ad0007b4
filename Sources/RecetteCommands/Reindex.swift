import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

extension ReindexRoute: ExpressibleByArgument {}

struct Reindex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild the Meilisearch indexes completely (past the plugin's 10,000-document stop), with no downtime.",
        discussion: """
        --via direct (default when recette.yml has search.indexes): per index, the rows of its
        SQL query are streamed out of PostgreSQL as JSON and sent in NDJSON batches into a new
        index <uid>_<timestamp>_<owner> with the live index's settings (or those of recette.yml). Only
        when every Meilisearch task succeeded and the new index holds exactly the query's row
        count is it swapped with the live index, in one atomic step; then the old content is
        deleted. A rebuilt index that lost more than RECETTE_SEARCH_MAX_SHRINK (default 0.5) of
        the live index's documents is not swapped in without --allow-shrink. On any failure the
        live index is left as it was and the new one is removed.

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
    @OptionGroup(title: "Target (where the documents are read from)") var targetOptions: TargetOptions
    @Flag(help: "Replace an index even when the rebuilt one lost more than RECETTE_SEARCH_MAX_SHRINK of its documents.")
    var allowShrink = false
    @Flag(help: "Print the reports as JSON on standard output.") var json = false

    func run() async throws {
        let flags = try targetOptions.flags()
        let (via, indexes, allowShrink, json) = (via, indexes, allowShrink, json)
        try await CommandRunner.run(common, flags: flags, lock: "reindex", detectingSearchServer: true) { context in
            try await SearchCommands.reindex(context: context, via: via, only: indexes, allowShrink: allowShrink, json: json)
        }
    }
}

/// Helpers the search commands share.
enum SearchCommands {
    static func reindex(context: RecetteContext, via requested: ReindexRoute?, only: [String], allowShrink: Bool, json: Bool) async throws {
        let reindex = try SearchReindex(context: context, requested: requested, only: only, allowShrink: allowShrink)
        if context.dryRun {
            let lines = try await reindex.plan()
            context.output.write("would " + lines[0])
            lines.dropFirst().forEach(context.output.write)
            return
        }
        let startedAt = Date()
        let outcome = try await reindex.run()
        let file: URL
        switch outcome {
        case .direct(let reports):
            file = try RunReportFile.write(reports, kind: "reindex", startedAt: startedAt, stateDirectory: context.stateDirectory)
            if json { context.output.write(try jsonText(reports)) }
        case .plugin(let reports):
            file = try RunReportFile.write(reports, kind: "reindex-plugin", startedAt: startedAt, stateDirectory: context.stateDirectory)
            if json { context.output.write(try jsonText(reports)) }
        }
        if !json {
            outcome.lines.forEach(context.output.write)
            context.output.write("report: \(file.path)")
        }
        if let problem = outcome.problem { throw RecetteFailure(problem) }
    }

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
