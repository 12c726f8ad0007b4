import Foundation
import RecetteWorld

/// What a reindex did, by route.
public enum ReindexOutcome: Sendable {
    case direct([IndexRebuildReport])
    case plugin([PluginReindexReport])

    /// Why the rebuilt indexes are not complete (plugin route), if they are not.
    public var problem: String? {
        guard case .plugin(let reports) = self else { return nil }
        return reports.compactMap { report in report.problem.map { "\(report.indexUid): \($0)" } }.first
    }

    public var lines: [String] {
        switch self {
        case .direct(let reports):
            return reports.map { report in
                let megabytes = Double(report.bytesSent) / 1_048_576
                let phases = ["prepare", "stream", "tasks", "swap", "cleanup"].compactMap { name in report.phases[name].map { "\(name) \(String(format: "%.1f", $0))s" } }
                return "\(report.uid): \(report.documents) documents in \(report.batches) batch(es) (\(String(format: "%.1f", megabytes)) MiB), "
                    + "\(String(format: "%.1f", report.seconds))s, \(Int(report.documentsPerSecond)) docs/s"
                    + (report.transformDropped.map { "; \($0) entries dropped by its transform" } ?? "") + "; settings from \(report.settingsFrom); swapped in "
                    + "(\(phases.joined(separator: ", ")))"
            }
        case .plugin(let reports):
            return reports.map { report in
                "\(report.indexUid) (\(report.contentType)): \(report.documents) documents, \(report.publishedRows) published rows in the database, "
                    + "\(String(format: "%.1f", report.seconds))s — \(report.problem == nil ? "complete" : "INCOMPLETE")"
            }
        }
    }
}

/// `recette reindex`, shared with `populate`: picks the route and runs it.
public struct SearchReindex: Sendable {
    public var context: RecetteContext
    public var route: ReindexRoute
    public var only: [String]
    /// Lets a direct rebuild replace an index with one that lost more than RECETTE_SEARCH_MAX_SHRINK.
    public var allowShrink: Bool
    /// A Meilisearch named on the command line (`--meilisearch-of-app`, `--meilisearch-url`);
    /// nil: the configured one.
    public var meilisearch: RemoteMeilisearch?

    public init(context: RecetteContext, requested: ReindexRoute?, only: [String] = [], allowShrink: Bool = false,
                meilisearch: RemoteMeilisearch? = nil) throws {
        self.context = context
        self.route = try SearchSetup.route(requested: requested, configuration: context.configuration)
        self.only = only
        self.allowShrink = allowShrink
        self.meilisearch = meilisearch
        if meilisearch != nil && route == .plugin {
            throw RecetteFailure("--meilisearch-of-app and --meilisearch-url go with --via direct: the plugin writes to the Meilisearch its CMS is configured with")
        }
    }

    public func plan() async throws -> [String] {
        let setup = try SearchSetup(context: context, only: route == .direct ? only : [], meilisearch: meilisearch?.client)
        switch route {
        case .direct:
            try setup.requireDefinitions(for: "reindex --via direct")
            if let meilisearch { return try await remotePlan(setup, meilisearch) }
            var definitions = setup.definitions
            var origin: [String] = []
            if let model = setup.model {
                origin.append(model.planLine)
                // The database may not exist yet (a populate plan before its restore).
                do {
                    definitions = try await setup.resolvedDefinitions(rows: try await SearchDatabase.rows(for: context), logger: context.logger)
                    origin.append("from the model, as the database is now: \(definitions.map { "\($0.uid) (\($0.contentType ?? "?"))" }.joined(separator: ", "))")
                    for definition in definitions { context.logger.debug("generated query of \(definition.uid):\n\(definition.query)") }
                } catch {
                    origin.append("which ones is read from the database at the rebuild (not now: \(error))")
                }
            }
            return ["rebuild \(definitions.count) index(es) on \(setup.client.server) from the \(context.configuration.text(.target)) target's database:"]
                + origin.map { "  " + $0 } + definitions.map { definition in
                    "  \(definition.uid): new index \(definition.uid)_<timestamp>_<owner> (primary key \(definition.primaryKey), settings from \(definition.settingsJSON == nil ? "the live index, if any" : definition.settingsOrigin)), filled from its query\(definition.transform.map { " through `\($0.joined(separator: " "))`" } ?? ""), swapped with \(definition.uid) \(shrinkRule(setup)), old content deleted"
                }
        case .plugin:
            let (url, email, _) = try strapiCredentials()
            return ["log in to the Strapi admin at \(url.absoluteString) as \(email), ask the Meilisearch plugin to reindex \(only.isEmpty ? "every content type it indexes (users-permissions users only when named)" : only.joined(separator: ", ")), wait for Meilisearch (\(setup.client.server)) and compare with the database"]
        }
    }

    public func run() async throws -> ReindexOutcome {
        switch route {
        case .direct:
            let setup = try SearchSetup(context: context, only: only, meilisearch: meilisearch?.client)
            try setup.requireDefinitions(for: "reindex --via direct")
            let rows = try await SearchDatabase.rows(for: context)
            context.logger.info("documents from \(rows.display)")
            let definitions = try await setup.resolvedDefinitions(rows: rows, logger: context.logger)
            if setup.model != nil {
                context.logger.info("indexes from the CMS source's model: \(definitions.map { "\($0.uid) (\($0.contentType ?? "?"))" }.joined(separator: ", "))")
            }
            if let meilisearch {
                // Before anything is created there: not even a temporary index without a yes.
                try meilisearch.confirmReplacing(definitions.map(\.uid), prompt: context.prompt, assumeYes: context.assumeYes)
                context.logger.info("rebuilding on \(meilisearch.host), \(meilisearch.origin)")
            }
            let reindexer = DirectReindexer(client: setup.client, rows: rows,
                                            batchBytes: setup.batchBytes, gzip: setup.gzip,
                                            claims: try TemporaryIndexClaims(stateDirectory: context.stateDirectory),
                                            maxShrink: setup.maxShrink, allowShrink: allowShrink,
                                            transforms: try TransformSetup(context: context), logger: context.logger)
            return .direct(try await reindexer.rebuild(definitions))
        case .plugin:
            let (url, email, password) = try strapiCredentials()
            let setup = try SearchSetup(context: context)
            var strapi = StrapiAdminClient(baseURL: url, transport: context.http)
            try await strapi.logIn(email: email, password: password)
            let rows = try await SearchDatabase.rows(for: context)
            let reindexer = PluginReindexer(strapi: strapi, meilisearch: setup.client, rows: rows,
                                            definitions: context.configuration.searchIndexes, cmsEnvironment: await cmsEnvironment(),
                                            logger: context.logger)
            return .plugin(try await reindexer.run(only: Set(only)))
        }
    }

    /// `--dry-run` with a Meilisearch named on the command line: which live indexes would be
    /// replaced on which host, their documents now and the rows their query gives. Reads only.
    private func remotePlan(_ setup: SearchSetup, _ meilisearch: RemoteMeilisearch) async throws -> [String] {
        let rows = try await SearchDatabase.rows(for: context)
        let definitions = try await setup.resolvedDefinitions(rows: rows, logger: context.logger)
        var lines = ["replace \(definitions.count) index(es) on \(meilisearch.host) (\(meilisearch.origin)\(meilisearch.isOnThisMachine ? "" : "; not this machine: the names typed or --yes")) with a complete one each, built from the \(context.configuration.text(.target)) target's database and swapped in:"]
        for definition in definitions {
            let now = try await setup.client.index(definition.uid) == nil ? "no such index yet" : "\(try await setup.client.numberOfDocuments(definition.uid)) documents now"
            let new = try await rows.count(definition.documentCountSQL)
            lines.append("  \(definition.uid): \(now), \(new) from its query\(definition.transform == nil ? "" : " (before its transform)") (settings from \(definition.settingsJSON == nil ? "the live index, if any" : definition.settingsOrigin)); replaced \(shrinkRule(setup))")
        }
        return lines
    }

    private func shrinkRule(_ setup: SearchSetup) -> String {
        allowShrink ? "however many documents it holds (--allow-shrink)"
            : "unless it holds over \(IndexShrink.percent(setup.maxShrink))% fewer documents than the live one"
    }

    private func strapiCredentials() throws -> (URL, String, Secret) {
        let configuration = context.configuration
        let url = try configuration.url(.strapiURL)
        guard let email = configuration[.strapiAdminEmail], let password = configuration.secret(.strapiAdminPassword), !password.isEmpty else {
            throw StrapiError.missingCredentials
        }
        return (url, email, password)
    }

    /// The CMS service's environment when the target is compose (to name a string batch size).
    private func cmsEnvironment() async -> [String: String] {
        await (try? Targets.resolve(context))?.cmsEnvironment() ?? [:]
    }
}
