import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare the database with the Meilisearch indexes, or an index with a reference one; pull index settings.",
        subcommands: [Status.self, Verify.self, Parity.self, Settings.self]
    )

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per index: database rows (its query in recette.yml) vs index documents.",
            discussion: "Exits 1 when an index differs from the database.\n\nExample:\n  recette search status"
        )
        @OptionGroup(title: "Common options") var common: CommonOptions
        @Option(name: .customLong("index"), help: ArgumentHelp("Only this index (repeatable).", valueName: "uid")) var indexes: [String] = []
        @OptionGroup(title: "Target (where the documents are read from)") var targetOptions: TargetOptions
        @Flag(help: "Print JSON on standard output.") var json = false

        func run() async throws {
            let flags = try targetOptions.flags()
            let (indexes, json) = (indexes, json)
            try await CommandRunner.run(common, flags: flags, detectingSearchServer: true) { context in
                let setup = try SearchSetup(context: context, only: indexes)
                try setup.requireDefinitions(for: "search status")
                let rows = try await SearchDatabase.rows(for: context)
                let drift = SearchDrift(client: setup.client, rows: rows, drops: setup.transformDrops, logger: context.logger)
                let statuses = try await drift.status(try await setup.resolvedDefinitions(rows: rows, logger: context.logger))
                if json {
                    context.output.write(try SearchCommands.jsonText(statuses))
                } else {
                    let rows = statuses.map { [$0.uid, String($0.databaseRows), $0.indexDocuments.map(String.init) ?? "-", $0.state] }
                    TextTable.render(header: ["index", "database rows", "index documents", "state"], rows: rows, rightAligned: [1, 2])
                        .forEach(context.output.write)
                }
                let drifting = statuses.filter { !$0.isInSync }
                if !drifting.isEmpty {
                    throw RecetteFailure("\(drifting.map(\.uid).joined(separator: ", ")) differ from the database: 'recette search verify' lists the ids; 'recette search verify --fix' or 'recette reindex' repairs")
                }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per index: ids missing from the index, ids in the index the database no longer has, and stale documents.",
            discussion: """
            Reads every id and update timestamp (updated_at, or Strapi's updatedAt in an index
            the plugin built) from the database and from the index; says so when either side has
            none. Prints the first --show of each kind and the counts of all; exits 1 when
            anything differs. --fix sends only the missing and stale documents to the live index
            and deletes the extra ones, then checks again; deleting more than
            RECETTE_SEARCH_MAX_SHRINK (default 0.5) of an index's documents needs --allow-shrink.

            Examples:
              recette search verify
              recette search verify --fix
            """.reflowed
        )
        @OptionGroup(title: "Common options") var common: CommonOptions
        @Option(name: .customLong("index"), help: ArgumentHelp("Only this index (repeatable).", valueName: "uid")) var indexes: [String] = []
        @OptionGroup(title: "Target (where the documents are read from)") var targetOptions: TargetOptions
        @Option(help: ArgumentHelp("How many ids of each kind to print.", valueName: "n")) var show = 10
        @Flag(help: "Send the missing and stale documents, delete the extra ones.") var fix = false
        @Flag(help: "With --fix: delete the extra documents even when they are more than RECETTE_SEARCH_MAX_SHRINK of the index.")
        var allowShrink = false
        @Flag(help: "Print JSON on standard output.") var json = false

        func validate() throws {
            if show < 0 { throw ValidationError("--show must be 0 or more") }
        }

        func run() async throws {
            let flags = try targetOptions.flags()
            let (indexes, show, fix, allowShrink, json) = (indexes, show, fix, allowShrink, json)
            try await CommandRunner.run(common, flags: flags, lock: fix ? "search verify --fix" : nil, detectingSearchServer: true) { context in
                let setup = try SearchSetup(context: context, only: indexes)
                try setup.requireDefinitions(for: "search verify")
                let rows = try await SearchDatabase.rows(for: context)
                let drift = SearchDrift(client: setup.client, rows: rows, drops: setup.transformDrops, logger: context.logger)
                var results: [IndexDrift] = []
                for definition in try await setup.resolvedDefinitions(rows: rows, logger: context.logger) {
                    var result = try await drift.verify(definition)
                    if !json { describe(result, show: show).forEach(context.output.write) }
                    if fix && !result.isInSync {
                        if context.dryRun {
                            context.output.write("  would send \(result.missing.count + result.stale.count) document(s) and delete \(result.extra.count)")
                        } else {
                            if !allowShrink, let refusal = IndexShrink.fixRefusal(result, allowed: setup.maxShrink) { throw RecetteFailure(refusal) }
                            let (sent, deleted) = try await drift.fix(result, definition: definition, gzip: setup.gzip)
                            result = try await drift.verify(definition)
                            if !json { context.output.write("  fixed: sent \(sent) document(s), deleted \(deleted); now \(result.isInSync ? "in sync" : "still differs")") }
                        }
                    }
                    results.append(result)
                }
                if json { context.output.write(try SearchCommands.jsonText(results)) }
                let drifting = results.filter { !$0.isInSync }
                if !drifting.isEmpty {
                    throw RecetteFailure("\(drifting.map(\.uid).joined(separator: ", ")) differ from the database\(fix ? "" : ": 'recette search verify --fix' sends what is missing and deletes what is extra")")
                }
            }
        }

        func describe(_ drift: IndexDrift, show: Int) -> [String] {
            let dropped = drift.transformDropped.map { " (\($0) dropped by its transform at the last rebuild)" } ?? ""
            var lines = ["\(drift.uid): \(drift.databaseRows) rows in the database\(dropped), \(drift.indexDocuments) documents in the index — \(drift.isInSync ? "in sync" : "DIFFERS")"]
            let stale = "stale (\(drift.staleBy ?? "updated_at") differs)"
            for (label, ids) in [("missing from the index", drift.missing), ("in the index, not in the database", drift.extra), (stale, drift.stale)] where !ids.isEmpty {
                let shown = ids.prefix(show).joined(separator: ", ")
                lines.append("  \(ids.count) \(label)\(show > 0 ? ": \(shown)\(ids.count > show ? ", …" : "")" : "")")
            }
            if let unknown = drift.staleUnknown { lines.append("  staleness not checked: \(unknown)") }
            return lines
        }
    }

    struct Parity: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare recette's documents (an index of its Meilisearch) with a reference index's, id by id and field by field.",
            discussion: """
            The reference (--against) is another index of the same Meilisearch, or an index of
            another Meilisearch given as http(s)://host:port/indexes/UID (its key in
            RECETTE_PARITY_MEILISEARCH_KEY). Both are only read. Documents are matched by the
            primary key; values are compared as JSON values (key order does not count, 500 equals
            500.0, "500" does not). Prints, per kind of difference (ids missing from recette or
            extra in it, keys missing or extra, types and values that differ, by key path), the
            count and a few examples; exits 1 when anything differs. --sample N compares the
            documents of the first N ids both sides hold, in sorted order (the same ones each
            run); missing and extra ids are still counted over every id.

            Examples:
              recette search parity --index offres --against offres-plugin
              recette search parity --index offres --sample 500 \\
                --against https://meili.example.com/indexes/offres
            """.reflowed
        )
        @OptionGroup(title: "Common options") var common: CommonOptions
        @Option(name: .customLong("index"), help: ArgumentHelp("recette's index (on PLUGIN_MEILISEARCH_URL).", valueName: "uid")) var index: String
        @Option(help: ArgumentHelp("The reference: an index uid on the same Meilisearch, or http(s)://host:port/indexes/UID.", valueName: "uid|url"))
        var against: String
        @Option(help: ArgumentHelp("Compare only the documents of the first N common ids, in sorted order.", valueName: "n")) var sample: Int?

        func validate() throws {
            if let sample, sample < 1 { throw ValidationError("--sample must be 1 or more") }
        }

        func run() async throws {
            let (index, against, sample) = (index, against, sample)
            try await CommandRunner.run(common, detectingSearchServer: true) { context in
                let parsed = try ParityReference.parse(against)
                let client = try MeilisearchClient.from(context.configuration, transport: context.http)
                if parsed == .sameServer(uid: index) {
                    throw RecetteFailure("--against \(against) is --index itself: name the reference index (the plugin's, or another Meilisearch's URL)")
                }
                let (reference, referenceIndex) = SearchParity.referenceClient(parsed, recette: client, key: context.configuration.secret(.parityMeilisearchAPIKey),
                                                                               transport: context.http)
                let report = try await SearchParity(recette: client, recetteIndex: index, reference: reference, referenceIndex: referenceIndex,
                                                    sample: sample).compare()
                report.lines().forEach(context.output.write)
                if !report.isIdentical {
                    throw RecetteFailure("\(index) differs from \(referenceIndex): \(report.summary)")
                }
            }
        }
    }
}
