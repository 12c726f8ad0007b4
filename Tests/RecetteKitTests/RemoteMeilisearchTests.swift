import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// A Scalingo app whose environment names a Meilisearch stand-in on another loopback port:
/// "the recette app's Meilisearch", remote by definition.
struct RemoteApp {
    static let name = "cms-recette"
    let scalingo: ScalingoStandIn
    let meilisearch: MeilisearchStandIn

    init(variables: ((MeilisearchStandIn) -> [String: String])? = nil) throws {
        scalingo = try ScalingoStandIn()
        meilisearch = try MeilisearchStandIn(masterKey: "remote-master-key-5f1c")
        scalingo.addApp(Self.name, addons: [.postgresql()])
        let meilisearch = meilisearch
        scalingo.setVariables(variables?(meilisearch) ?? [
            "NODE_ENV": "production", "DATABASE_URL": "$SCALINGO_POSTGRESQL_URL",
            "SCALINGO_POSTGRESQL_URL": "postgres://u:db-password-9d2e@db.invalid:5432/x",
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString, "PLUGIN_MEILISEARCH_API_KEY": "$MEILI_MASTER",
            "MEILI_MASTER": meilisearch.masterKey ?? "",
        ], forApp: Self.name)
    }

    var environment: [String: String] {
        scalingo.environment.merging(["SCALINGO_API_TOKEN": ScalingoStandIn.defaultAPIToken]) { $1 }
    }

    func stop() {
        scalingo.stop()
        meilisearch.stop()
    }

    /// Requests that could change something on the remote Meilisearch.
    var writes: [String] {
        meilisearch.requestLog.filter { $0.method != "GET" && $0.method != "HEAD" }.map { "\($0.method) \($0.path)" }
    }

    /// No secret of the app in what recette printed.
    static func expectNoSecret(_ result: CLIResult, _ remote: RemoteApp) {
        for secret in [remote.meilisearch.masterKey ?? "", "db-password-9d2e", ScalingoStandIn.defaultAPIToken] {
            #expect(!result.standardError.contains(secret) && !result.standardOutput.contains(secret))
        }
    }
}

@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct RemoteMeilisearchTests {
    static let housing = ["--index", "annonce-de-logement"]

    func publishedHousing(_ project: SearchProject) throws -> Int {
        let connection = try PostgresConnection(url: project.databaseURL)
        return Int(try connection.query("SELECT count(*) FROM annonces_de_logement WHERE published_at IS NOT NULL").scalar ?? "") ?? -1
    }

    @Test func aRemoteRebuildIsRefusedWithoutConfirmationThenDoneWithYes() async throws {
        let local = try MeilisearchStandIn()
        let remote = try RemoteApp()
        defer { local.stop(); remote.stop() }
        let project = try await SearchProject.make(meilisearch: local)
        let arguments = ["reindex", "--meilisearch-of-app", RemoteApp.name] + Self.housing

        let refused = try await project.recette(arguments, remote.environment)
        #expect(refused.status == 1)
        let lines = refused.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(lines.count == 1 && lines[0].contains("refusing to replace index(es) annonce-de-logement on 127.0.0.1")
                && lines[0].contains("pass --yes"), "\(refused.standardError)")
        #expect(remote.writes.isEmpty, "nothing was created on the remote Meilisearch: \(remote.writes)")
        #expect(remote.meilisearch.indexUIDs().isEmpty)
        #expect(remote.scalingo.count(.variables) == 1)
        RemoteApp.expectNoSecret(refused, remote)

        let done = try await project.recette(arguments + ["--yes"], remote.environment)
        #expect(done.status == 0, "\(done.standardError)")
        #expect(remote.meilisearch.documentCount(in: "annonce-de-logement") == (try publishedHousing(project)))
        #expect(remote.meilisearch.indexUIDs() == ["annonce-de-logement"], "only the live index remains")
        #expect(local.indexUIDs().isEmpty, "the configured Meilisearch was left alone")
        RemoteApp.expectNoSecret(done, remote)

        // A URL on this machine (loopback) is not guarded; its key comes from the environment.
        let byURL = try await project.recette(["reindex", "--meilisearch-url", remote.meilisearch.baseURL.absoluteString] + Self.housing,
                                              ["RECETTE_REMOTE_MEILISEARCH_API_KEY": remote.meilisearch.masterKey ?? ""])
        #expect(byURL.status == 0, "\(byURL.standardError)")
        #expect(remote.meilisearch.tasks().filter { $0.type == .indexSwap }.count == 2)
    }

    @Test func aDryRunCountsAndChangesNothing() async throws {
        let local = try MeilisearchStandIn()
        let remote = try RemoteApp()
        defer { local.stop(); remote.stop() }
        let project = try await SearchProject.make(meilisearch: local)
        let published = try publishedHousing(project)
        try #require(try await project.recette(["reindex", "--meilisearch-of-app", RemoteApp.name, "--yes"] + Self.housing, remote.environment).status == 0)
        // The live index now holds fewer documents than the query gives.
        let extra = try await StandInClient(baseURL: remote.meilisearch.baseURL, bearer: remote.meilisearch.masterKey)
            .send("POST", "/indexes/annonce-de-logement/documents/delete-batch", json: ["annonce-de-logement-1", "annonce-de-logement-2", "annonce-de-logement-3"])
        try #require(extra.status == 202)
        try #require(await remote.meilisearch.waitUntilIdle())
        let live = try #require(remote.meilisearch.documentCount(in: "annonce-de-logement"))
        try #require(live < published)
        remote.meilisearch.resetLog()

        let plan = try await project.recette(["reindex", "--meilisearch-of-app", RemoteApp.name, "--dry-run"] + Self.housing, remote.environment)
        #expect(plan.status == 0, "\(plan.standardError)")
        #expect(plan.standardOutput.contains("would replace 1 index(es) on 127.0.0.1 (the Meilisearch of Scalingo app 'cms-recette', from its PLUGIN_MEILISEARCH_URL; not this machine"),
                "\(plan.standardOutput)")
        #expect(plan.standardOutput.contains("annonce-de-logement: \(live) documents now, \(published) from its query"), "\(plan.standardOutput)")
        #expect(!plan.standardOutput.contains(remote.meilisearch.baseURL.absoluteString), "the host only")
        #expect(remote.writes.isEmpty, "\(remote.writes)")
        #expect(remote.meilisearch.indexUIDs() == ["annonce-de-logement"] && remote.meilisearch.documentCount(in: "annonce-de-logement") == live)
        RemoteApp.expectNoSecret(plan, remote)
    }

    @Test func theRemoteLiveIndexIsNeverSeenShortDuringARebuild() async throws {
        let local = try MeilisearchStandIn()
        let remote = try RemoteApp()
        defer { local.stop(); remote.stop() }
        let meilisearch = remote.meilisearch
        let project = try await SearchProject.make(meilisearch: local)
        let published = try publishedHousing(project)
        let arguments = ["reindex", "--meilisearch-of-app", RemoteApp.name, "--yes"] + Self.housing
        try #require(try await project.recette(arguments, remote.environment).status == 0)

        let observations = LockedValue<[Observation]>([])
        let stats = StandInClient(baseURL: meilisearch.baseURL, bearer: meilisearch.masterKey)
        let stop = LockedValue(false)
        let watcher = Task {
            while !stop.get() {
                let rebuilding = meilisearch.indexUIDs().contains { $0.hasPrefix("annonce-de-logement_") }
                if let reply = try? await stats.send("GET", "/indexes/annonce-de-logement/stats") {
                    observations.mutate { $0.append(Observation(status: reply.status, hits: reply["numberOfDocuments"] as? Int ?? -1, rebuilding: rebuilding)) }
                }
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        meilisearch.interleaveBatches(of: "annonce-de-logement", with: observations)
        let second = try await project.recette(arguments, remote.environment.merging(["RECETTE_SEARCH_BATCH_MB": "0.05"]) { $1 })
        meilisearch.beforeEachTask(nil)
        stop.set(true)
        _ = await watcher.value
        #expect(second.status == 0, "\(second.standardError)")
        let seen = observations.get()
        #expect(seen.filter(\.rebuilding).count >= 5, "looks during the rebuild: \(seen.filter(\.rebuilding).count)")
        #expect(seen.allSatisfy { $0.status == 200 && $0.hits == published }, "the live index was always whole: \(Set(seen.map { "\($0.status) \($0.hits)" }))")
        #expect(meilisearch.tasks().filter { $0.type == .documentAdditionOrUpdate && $0.indexUID?.hasPrefix("annonce-de-logement") == true }.count > 5, "many batches")
    }

    @Test func settingsPulledFromTheAppAreAppliedToAFreshMeilisearch() async throws {
        let local = try MeilisearchStandIn()
        let remote = try RemoteApp()
        defer { local.stop(); remote.stop() }
        let project = try await SearchProject.make(meilisearch: local)
        // The recette app's index, with the settings its CMS config gave it.
        let client = StandInClient(baseURL: remote.meilisearch.baseURL, bearer: remote.meilisearch.masterKey)
        try #require(try await client.send("POST", "/indexes", json: ["uid": "annonce-de-logement", "primaryKey": "_meilisearch_id"]).status == 202)
        let wanted: [String: Any] = ["filterableAttributes": ["loyer", "meuble", "type_de_logement"], "sortableAttributes": ["loyer"],
                                     "pagination": ["maxTotalHits": 100_000], "faceting": ["maxValuesPerFacet": 100_000]]
        try #require(try await client.send("PATCH", "/indexes/annonce-de-logement/settings", json: wanted).status == 202)
        try #require(await remote.meilisearch.waitUntilIdle())
        remote.meilisearch.resetLog()

        let pull = try await project.recette(["search", "settings", "pull", "--meilisearch-of-app", RemoteApp.name], remote.environment)
        #expect(pull.status == 0, "\(pull.standardError)")
        #expect(remote.writes.isEmpty, "only GET requests reached the app's Meilisearch: \(remote.writes)")
        #expect(remote.meilisearch.requestLog.contains { $0.path == "/indexes/annonce-de-logement/settings" })
        #expect(pull.standardOutput.contains("offre-de-stage: no such index on 127.0.0.1"), "\(pull.standardOutput)")
        RemoteApp.expectNoSecret(pull, remote)
        let file = project.directory.appendingPathComponent("recette.search-settings.yml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let pulled = try SearchSettingsFile.parse(yaml: text, path: file.path, origin: "test")
        let housing = try #require(pulled["annonce-de-logement"]).json
        let object = try #require(try JSONSerialization.jsonObject(with: housing) as? [String: Any])
        #expect(object["filterableAttributes"] as? [String] == ["loyer", "meuble", "type_de_logement"])
        #expect((object["pagination"] as? [String: Any])?["maxTotalHits"] as? Int == 100_000)
        #expect(pulled["offre-de-stage"] == nil)

        // A reindex into the fresh local Meilisearch creates the index with them.
        let reindex = try await project.recette(["reindex"] + Self.housing)
        #expect(reindex.status == 0, "\(reindex.standardError)")
        #expect(reindex.standardOutput.contains("settings from recette.search-settings.yml"), "\(reindex.standardOutput)")
        let applied = try #require(local.settings(of: "annonce-de-logement").flatMap { try JSONSerialization.jsonObject(with: $0) as? [String: Any] })
        #expect(Set(applied["filterableAttributes"] as? [String] ?? []) == ["loyer", "meuble", "type_de_logement"])
        #expect(applied["sortableAttributes"] as? [String] == ["loyer"])
        #expect((applied["faceting"] as? [String: Any])?["maxValuesPerFacet"] as? Int == 100_000)
    }
}

extension RemoteMeilisearchTests {
    /// Indexes from the CMS source's model have no search.indexes entry: the pulled file holds
    /// their settings by uid all the same.
    @Test func modelIndexesTakeTheirPulledSettingsToo() async throws {
        let local = try MeilisearchStandIn()
        let remote = try RemoteApp()
        defer { local.stop(); remote.stop() }
        let (database, _) = try await SearchSampleDatabase.shared.copy()
        let project = TestEnvironment.newProjectDirectory()
        let source = project.appendingPathComponent("cms")
        try SampleCMSSource.write(into: source)
        let environment = TestEnvironment.cliEnvironment.merging(remote.environment) { $1 }.merging([
            "RECETTE_TARGET": "local", "RECETTE_DATABASE": database, "RECETTE_STRAPI_PROJECT": source.path,
            "PLUGIN_MEILISEARCH_URL": local.baseURL.absoluteString, "PLUGIN_MEILISEARCH_API_KEY": local.masterKey ?? "",
        ]) { $1 }
        let client = StandInClient(baseURL: remote.meilisearch.baseURL, bearer: remote.meilisearch.masterKey)
        try #require(try await client.send("POST", "/indexes", json: ["uid": "annonce-de-logement", "primaryKey": "_meilisearch_id"]).status == 202)
        try #require(try await client.send("PATCH", "/indexes/annonce-de-logement/settings", json: ["filterableAttributes": ["meuble"]]).status == 202)
        try #require(await remote.meilisearch.waitUntilIdle())
        remote.meilisearch.resetLog()

        let common = ["--project-dir", project.path, "--no-progress", "--index", "annonce-de-logement"]
        let pull = try await CLI.run(["search", "settings", "pull", "--meilisearch-of-app", RemoteApp.name] + common, environment: environment)
        #expect(pull.status == 0, "\(pull.standardError)")
        #expect(pull.standardOutput.contains("annonce-de-logement: "), "\(pull.standardOutput)")
        #expect(remote.writes.isEmpty, "\(remote.writes)")
        let reindex = try await CLI.run(["reindex"] + common, environment: environment)
        #expect(reindex.status == 0, "\(reindex.standardError)")
        #expect(reindex.standardOutput.contains("settings from recette.search-settings.yml"), "\(reindex.standardOutput)")
        let applied = try #require(local.settings(of: "annonce-de-logement").flatMap { try JSONSerialization.jsonObject(with: $0) as? [String: Any] })
        #expect(applied["filterableAttributes"] as? [String] == ["meuble"])
    }
}

extension RemoteMeilisearchTests {
    /// On a terminal, the index names typed decide; anything else changes nothing there.
    @Test func theIndexNamesTypedAtThePromptConfirm() async throws {
        let local = try MeilisearchStandIn()
        let remote = try RemoteApp()
        defer { local.stop(); remote.stop() }
        let project = try await SearchProject.make(meilisearch: local)
        let arguments = ["reindex", "--meilisearch-of-app", RemoteApp.name, "--project-dir", project.directory.path, "--no-progress"] + Self.housing
        let environment = project.environment(remote.environment)
        let asked = LineCollector()

        let yes = ConfirmationPrompt(isInteractive: true) { question in asked.append(question); return "y" }
        let refused = try await CLI.runInProcess(arguments, environment: environment, prompt: yes)
        #expect(refused.status == 1 && refused.standardError.contains("not confirmed (what was typed is not 'annonce-de-logement'); nothing was changed"),
                "\(refused.standardError)")
        #expect(asked.all.count == 1 && asked.all[0].contains("annonce-de-logement on 127.0.0.1") && asked.all[0].hasSuffix("to go on:"), "\(asked.all)")
        #expect(remote.writes.isEmpty, "\(remote.writes)")

        let typed = ConfirmationPrompt(isInteractive: true) { _ in "annonce-de-logement\n" }
        let done = try await CLI.runInProcess(arguments, environment: environment, prompt: typed)
        #expect(done.status == 0, "\(done.standardError)")
        #expect(remote.meilisearch.documentCount(in: "annonce-de-logement") == (try publishedHousing(project)))
    }
}

/// Errors before anything is read or written: no database needed.
@Suite(.serialized, .skippedInUnitLane) struct RemoteMeilisearchErrorTests {
    func run(_ arguments: [String], _ remote: RemoteApp, _ extra: [String: String] = [:]) async throws -> CLIResult {
        let directory = TestEnvironment.newProjectDirectory()
        // Hand-written indexes: the repository's come from the model, which needs the database
        // to say which content types are indexed.
        try FileManager.default.copyItem(at: TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures/search/hand-written-indexes.yml"),
                                         to: directory.appendingPathComponent("recette.yml"))
        return try await CLI.run(arguments + ["--project-dir", directory.path, "--no-progress"],
                                 environment: TestEnvironment.cliEnvironment.merging(remote.environment) { $1 }.merging(extra) { $1 })
    }

    @Test func theScalingoStandInServesAnAppsVariablesBehindItsToken() async throws {
        let remote = try RemoteApp()
        defer { remote.stop() }
        let context = try TestEnvironment.machineContext(environment: remote.environment)
        let scalingo = try ScalingoClient.from(context.configuration, transport: context.http, logger: context.logger)
        let variables = try await scalingo.variables(app: RemoteApp.name)
        #expect(variables.first { $0.name == "PLUGIN_MEILISEARCH_URL" }?.value.reveal() == remote.meilisearch.baseURL.absoluteString)
        #expect(variables.first { $0.name == "PLUGIN_MEILISEARCH_API_KEY" }?.value.reveal() == "$MEILI_MASTER", "aliases as written")
        await #expect(throws: ScalingoError.appNotFound(app: "nope", region: "osc-fr1")) { try await scalingo.variables(app: "nope") }
        let unauthenticated = try await StandInClient(baseURL: remote.scalingo.apiURL, bearer: nil).send("GET", "/apps/\(RemoteApp.name)/variables")
        #expect(unauthenticated.status == 401)
        #expect(remote.scalingo.requests(.variables).map(\.status) == [200, 404, 401])
    }

    @Test func aWrongKeyOfTheAppNamesTheAppsVariable() async throws {
        let remote = try RemoteApp { meilisearch in ["MEILISEARCH_URL": meilisearch.baseURL.absoluteString, "MEILISEARCH_ADMIN_KEY": "wrong-key-77"] }
        defer { remote.stop() }
        let result = try await run(["search", "settings", "pull", "--meilisearch-of-app", RemoteApp.name], remote)
        #expect(result.status == 1)
        let errors = result.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors[0].contains("(the Meilisearch of Scalingo app 'cms-recette', from its MEILISEARCH_URL) refused the API key")
                && errors[0].contains("check app 'cms-recette''s MEILISEARCH_ADMIN_KEY") && !errors[0].contains("PLUGIN_MEILISEARCH_API_KEY"),
                "\(result.standardError)")
        #expect(!result.standardError.contains("wrong-key-77"))
    }

    @Test func anUnknownAppIsOneLine() async throws {
        let remote = try RemoteApp()
        defer { remote.stop() }
        let result = try await run(["reindex", "--meilisearch-of-app", "no-such-app", "--yes"], remote)
        #expect(result.status == 1)
        let errors = result.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
        #expect(errors.count == 1 && errors[0].contains("app 'no-such-app' (--meilisearch-of-app) not found in region osc-fr1"), "\(result.standardError)")
        #expect(remote.meilisearch.requestLog.isEmpty)
    }

    @Test func anAppWithoutMeilisearchVariablesIsOneLineNamingItsVariables() async throws {
        let remote = try RemoteApp { _ in ["NODE_ENV": "production", "MEILI_SECRET_VALUE": "k-123-not-shown", "DATABASE_URL": "postgres://u:db-password-9d2e@db.invalid/x"] }
        defer { remote.stop() }
        for arguments in [["reindex", "--meilisearch-of-app", RemoteApp.name, "--yes"], ["search", "settings", "pull", "--meilisearch-of-app", RemoteApp.name]] {
            let result = try await run(arguments, remote)
            #expect(result.status == 1)
            let errors = result.standardError.split(separator: "\n").filter { $0.hasPrefix("error:") }
            #expect(errors.count == 1 && errors[0].contains("app 'cms-recette' has no Meilisearch URL among its environment variables")
                    && errors[0].contains("it has DATABASE_URL, MEILI_SECRET_VALUE, NODE_ENV") && errors[0].contains("RECETTE_APP_MEILISEARCH_URL_VARIABLE"),
                    "\(result.standardError)")
            #expect(!result.standardError.contains("k-123-not-shown") && !result.standardError.contains("db-password-9d2e"))
        }
        // The setting names another variable; its value is not shown either.
        let other = try RemoteApp { _ in ["MEILI_HOST_X": "not a url", "MEILISEARCH_API_KEY": "k"] }
        defer { other.stop() }
        let named = try await run(["search", "settings", "pull", "--meilisearch-of-app", RemoteApp.name, "--dry-run"], other,
                                  ["RECETTE_APP_MEILISEARCH_URL_VARIABLE": "MEILI_HOST_X"])
        #expect(named.status == 1)
        #expect(named.standardError.contains("its MEILI_HOST_X is not an http(s) URL") && !named.standardError.contains("not a url"), "\(named.standardError)")
    }
}
