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

        --meilisearch-of-app APP rebuilds the indexes of that Scalingo app's Meilisearch (the
        one the staging front reads), found in the app's environment through Scalingo's API
        (PLUGIN_MEILISEARCH_URL and PLUGIN_MEILISEARCH_API_KEY or the other usual names;
        RECETTE_APP_MEILISEARCH_URL_VARIABLE / _KEY_VARIABLE name others). --meilisearch-url URL
        names one directly (its key in RECETTE_REMOTE_MEILISEARCH_API_KEY). Same new index then
        swap: the live index is never empty or partial. A Meilisearch that is not on this
        machine needs the index names typed at the prompt, or --yes; --dry-run prints each
        index's documents now and the rows its query gives, and changes nothing.

        Examples:
          recette reindex
          recette reindex --index offre-de-stage --dry-run
          recette reindex --via plugin
          recette reindex --meilisearch-of-app my-cms-recette --dry-run
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
    @OptionGroup(title: "Another Meilisearch (default: PLUGIN_MEILISEARCH_URL)") var meilisearchOptions: MeilisearchOptions

    func run() async throws {
        let flags = try targetOptions.flags()
        let choice = try meilisearchOptions.choice()
        let (via, indexes, allowShrink, json) = (via, indexes, allowShrink, json)
        try await CommandRunner.run(common, flags: flags, lock: "reindex", detectingSearchServer: true) { context in
            try await SearchCommands.reindex(context: context, via: via, only: indexes, allowShrink: allowShrink, json: json, meilisearch: choice)
        }
    }
}

/// `--meilisearch-of-app APP` / `--meilisearch-url URL`.
struct MeilisearchOptions: ParsableArguments {
    @Option(name: .customLong("meilisearch-of-app"), help: ArgumentHelp("The Meilisearch of this Scalingo app (its URL and key from the app's environment).", valueName: "app"))
    var app: String?
    @Option(name: .customLong("meilisearch-url"), help: ArgumentHelp("This Meilisearch (its key in RECETTE_REMOTE_MEILISEARCH_API_KEY, never on the command line).", valueName: "url"))
    var url: String?

    func choice() throws -> MeilisearchChoice? {
        do { return try MeilisearchChoice.from(app: app, url: url) } catch { throw ValidationError("\(error)") }
    }
}

/// Helpers the search commands share.
enum SearchCommands {
    static func reindex(context: RecetteContext, via requested: ReindexRoute?, only: [String], allowShrink: Bool, json: Bool,
                        meilisearch choice: MeilisearchChoice? = nil) async throws {
        let meilisearch = try await SearchCommands.meilisearch(choice, context: context)
        let reindex = try SearchReindex(context: context, requested: requested, only: only, allowShrink: allowShrink, meilisearch: meilisearch)
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

    /// The Meilisearch named on the command line, found (nil: the configured one).
    static func meilisearch(_ choice: MeilisearchChoice?, context: RecetteContext) async throws -> RemoteMeilisearch? {
        guard let choice else { return nil }
        return try await RemoteMeilisearch.resolve(choice, context: context)
    }

    static func jsonText<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
