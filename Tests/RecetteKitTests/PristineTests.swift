import Foundation
import Logging
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The pristine template kept after a restore, and the reset back to it (issue 16), on this
/// run's real cluster reached as a url target.
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct PristineTests {
    func server(_ database: String) async throws -> PostgresURL {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return try PostgresURL(cluster.url(database: database, port: port))
    }

    func connect(_ database: String, on url: PostgresURL) throws -> PostgresConnection {
        try PostgresConnection(url: try URLDestination(target: url, dropPrevious: true).connectionString(database: database))
    }

    /// Rows and an order-independent checksum of every table.
    func fingerprint(_ database: String, on url: PostgresURL) throws -> [String: String] {
        try Self.fingerprint(try connect(database, on: url))
    }

    static func fingerprint(_ connection: PostgresConnection) throws -> [String: String] {
        let tables = try connection.query("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public'")
            .rows.compactMap { $0[0] }
        var result: [String: String] = [:]
        for table in tables {
            result[table] = try connection.query("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \(table) t").scalar
        }
        return result
    }

    func restore(_ archive: URL, into database: String, options: RestoreOptions = RestoreOptions(),
                 environment: [String: String] = [:]) async throws -> RestoreOutcome {
        let destination = URLDestination(target: try await server(database), dropPrevious: true)
        return try await DatabaseRestore(context: try TestEnvironment.machineContext(environment: environment), destination: destination,
                                         database: database, options: options).restore(archiveFile: archive)
    }

    func resetToPristine(_ database: String, environment: [String: String] = [:]) async throws -> PristineSwap.Outcome {
        let context = try TestEnvironment.machineContext(environment: environment)
        let swap = PristineSwap(server: try LibpqPristineServer(URLDestination(target: try await server(database), dropPrevious: true), configuration: context.configuration),
                                template: try PristineTemplate(database: database), logger: context.logger)
        return try await swap.run(prepare: try PristineTemplate.prepareSettings(context.configuration, localWiring: true, target: "url"), startedAt: Date())
    }

    func dropEverything(startingWith prefix: String) async throws {
        let admin = try connect("postgres", on: try await server("postgres"))
        for name in try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, $1)", [prefix]).column("datname").compactMap({ $0 }) {
            try admin.execute("ALTER DATABASE \(PostgresConnection.quoteIdentifier(name)) WITH IS_TEMPLATE false")
            try admin.execute("DROP DATABASE \(PostgresConnection.quoteIdentifier(name)) WITH (FORCE)")
        }
    }

    @Test func aRestoreKeepsATemplateThatRefusesConnectionsAndAResetBringsTheRestoredRowsBack() async throws {
        let database = "pristine_app"
        try await dropEverything(startingWith: database)
        let sample = try await SampleCache.shared.sample()
        let outcome = try await restore(sample.archive, into: database)
        let made = try #require(outcome.report.pristine)
        #expect(!made.cloned && made.bytes > 0 && made.database == "pristine_app__recette_pristine")
        let url = try await server(database)
        let restored = try fingerprint(database, on: url)
        #expect(restored.count > 10)

        let admin = try connect("postgres", on: url)
        let row = try #require(try admin.query("SELECT datistemplate, datallowconn, shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1",
                                              [made.database]).rows.first)
        #expect(row[0] == "t" && row[1] == "f")
        let marker = try #require(row[2].flatMap(PristineTemplate.marker(fromComment:)))
        #expect(marker.checksum == (try await PristineTemplate.checksum(of: sample.archive, runner: SubprocessRunner())))
        #expect(marker.archive == sample.archive.lastPathComponent && marker.database == database)
        #expect(throws: PostgresError.self) { try connect(made.database, on: url) }

        // A developer's day: rows changed, a table emptied; a CMS still connected.
        let live = try connect(database, on: url)
        try live.execute("UPDATE offres_de_stage SET title = 'changed' WHERE id % 3 = 0; DELETE FROM offres_de_stage_components; INSERT INTO offres_de_stage (title) VALUES ('new')")
        #expect(try fingerprint(database, on: url) != restored)
        let cms = try connect(database, on: url)

        let reset = try await resetToPristine(database)
        #expect(reset.endedSessions == 2, "the two sessions connected to the replaced database were ended")
        #expect(try fingerprint(database, on: url) == restored, "every table holds exactly the restored rows again")
        #expect(throws: PostgresError.self) { try cms.query("SELECT 1") }
        let left = try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", [database]).column("datname").compactMap { $0 }
        #expect(left == [database, made.database], "the replaced database was dropped (url target, --drop-previous); the template stays: \(left)")
    }

    /// Waits (bounded) until the background copy is no longer being made; its state then.
    func spareSettled(_ database: String) async throws -> PristineSpare.State {
        let spare = PristineSpare(names: try DerivedDatabaseNames(base: database))
        let session = SQLSession(try connect("postgres", on: try await server(database)))
        let state = try await Polling(first: .milliseconds(50), longest: .milliseconds(500)).poll(timeout: .seconds(120)) { () -> PristineSpare.State? in
            let state = try await spare.state(on: session)
            if case .beingMade = state { return nil }
            return state
        }
        return try #require(state, "the ready copy was still being made after 120 s")
    }

    /// RECETTE_PRISTINE_SPARE=true (a url target has none by default): the restore leaves a
    /// ready copy being made; a reset renames it into place, gives the restored rows and starts
    /// the next; a restore of other content replaces template and copy together, and one older
    /// than its template is never used.
    @Test func aReadyCopyIsMadeInTheBackgroundAndAResetRenamesItIntoPlace() async throws {
        let database = "pristine_spare"
        let spareOn = ["RECETTE_PRISTINE_SPARE": "true"]
        try await dropEverything(startingWith: database)
        let sample = try await SampleCache.shared.sample()
        let outcome = try await restore(sample.archive, into: database, environment: spareOn)
        let made = try #require(outcome.report.pristine)
        let url = try await server(database)
        let restored = try fingerprint(database, on: url)
        guard case .ready(let bytes) = try await spareSettled(database) else { Issue.record("no ready copy after the restore"); return }
        #expect(bytes > 0)
        let admin = try connect("postgres", on: url)
        let spareRow = try admin.query("SELECT datistemplate, datallowconn FROM pg_database WHERE datname = 'pristine_spare__recette_spare'").rows.first
        #expect(spareRow == ["f", "f"], "the ready copy accepts no connections and is no template: \(String(describing: spareRow))")
        #expect(throws: PostgresError.self) { try connect("pristine_spare__recette_spare", on: url) }

        try connect(database, on: url).execute("DELETE FROM offres_de_stage; CREATE TABLE scratch (id int)")
        let reset = try await resetToPristine(database, environment: spareOn)
        #expect(reset.fromSpare, "the reset renamed the ready copy into place")
        #expect(reset.nextSpare, "the reset started the next ready copy")
        #expect(try admin.query("SELECT datconnlimit, datallowconn FROM pg_database WHERE datname = $1", [database]).rows.first == ["-1", "t"],
                "the copy renamed into place takes connections, without the ready copy's limit")
        #expect(try fingerprint(database, on: url) == restored, "every table holds exactly the restored rows again")
        guard case .ready = try await spareSettled(database) else { Issue.record("no next ready copy after the reset"); return }

        // Without a ready copy (the setting off), the same reset clones the template.
        try connect(database, on: url).execute("DELETE FROM offres_de_stage")
        let cloned = try await resetToPristine(database, environment: ["RECETTE_PRISTINE_SPARE": "false"])
        #expect(!cloned.fromSpare)
        #expect(try fingerprint(database, on: url) == restored)

        // A ready copy older than its template (made before it) is not used: the reset clones,
        // then replaces it.
        try admin.execute("ALTER DATABASE pristine_spare__recette_pristine WITH IS_TEMPLATE false")
        try admin.execute("ALTER DATABASE pristine_spare__recette_pristine RENAME TO pristine_spare_old_template")
        try admin.execute("CREATE DATABASE pristine_spare__recette_pristine TEMPLATE pristine_spare_old_template STRATEGY FILE_COPY")
        try admin.execute("ALTER DATABASE pristine_spare__recette_pristine WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
        try admin.execute("COMMENT ON DATABASE pristine_spare__recette_pristine IS \(PostgresConnection.quoteLiteral(try #require(try admin.query("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'pristine_spare_old_template'").scalar)))")
        try admin.execute("DROP DATABASE pristine_spare_old_template")
        #expect(try await spareSettled(database) == .unusable(recettes: true))
        let afterStale = try await resetToPristine(database, environment: spareOn)
        #expect(!afterStale.fromSpare, "a ready copy older than its template was used")
        #expect(try fingerprint(database, on: url) == restored)
        guard case .ready = try await spareSettled(database) else { Issue.record("the stale ready copy was not replaced"); return }

        // A restore that makes a new template takes the ready copy of the old one away first.
        var otherFlags = RestoreOptions()
        otherFlags.excludedTableData = ["annonces_de_logement"]
        _ = try await restore(sample.archive, into: database, options: otherFlags, environment: spareOn)
        _ = try await spareSettled(database)
        try connect(database, on: url).execute("INSERT INTO annonces_de_logement (titre) VALUES ('new')")
        let afterNewTemplate = try await resetToPristine(database, environment: spareOn)
        #expect(afterNewTemplate.fromSpare)
        #expect(try connect(database, on: url).query("SELECT count(*) FROM annonces_de_logement").scalar == "0", "the ready copy is the new template's")

        // Dropping the template drops its ready copy (and a copy being made is cancelled).
        _ = made
        try await PristineTemplate(database: database).drop(on: SQLSession(admin))
        let left = try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", [database]).column("datname").compactMap { $0 }
        #expect(left == [database], "\(left)")

        // A database of that name that is not recette's is never used or dropped, even closed to
        // connections like a ready copy (it lacks the connection-limit mark).
        try admin.execute("CREATE DATABASE pristine_spare__recette_spare")
        try connect("pristine_spare__recette_spare", on: url).execute("CREATE TABLE theirs (id int); INSERT INTO theirs VALUES (1)")
        try admin.execute("ALTER DATABASE pristine_spare__recette_spare WITH ALLOW_CONNECTIONS false")
        _ = try await restore(sample.archive, into: database, environment: spareOn)
        #expect(try await spareSettled(database) == .unusable(recettes: false))
        let besideTheirs = try await resetToPristine(database, environment: spareOn)
        #expect(!besideTheirs.fromSpare && !besideTheirs.nextSpare, "no ready copy used or said to be on its way beside their database")
        #expect(try fingerprint(database, on: url) == restored)
        try await PristineTemplate(database: database).drop(on: SQLSession(admin))
        try admin.execute("ALTER DATABASE pristine_spare__recette_spare WITH ALLOW_CONNECTIONS true")
        #expect(try connect("pristine_spare__recette_spare", on: url).query("SELECT count(*) FROM theirs").scalar == "1", "their database was left alone")
    }

    @Test func restoringTheSameBackupAgainClonesTheTemplateUnlessFresh() async throws {
        let database = "pristine_again"
        try await dropEverything(startingWith: database)
        let sample = try await SampleCache.shared.sample()
        _ = try await restore(sample.archive, into: database)
        let restored = try fingerprint(database, on: try await server(database))

        let again = try await restore(sample.archive, into: database)
        #expect(again.report.pristine?.cloned == true)
        #expect(again.report.phases.map(\.name).contains("clone pristine") && !again.report.phases.map(\.name).contains("pg_restore"))
        #expect(try fingerprint(database, on: try await server(database)) == restored)

        var fresh = RestoreOptions()
        fresh.fresh = true
        let restoredAnyway = try await restore(sample.archive, into: database, options: fresh)
        #expect(restoredAnyway.report.pristine?.cloned == false && restoredAnyway.report.phases.map(\.name).contains("pg_restore"))

        var otherFlags = RestoreOptions()
        otherFlags.excludedTableData = ["annonces_de_logement"]
        let other = try await restore(sample.archive, into: database, options: otherFlags)
        #expect(other.report.pristine?.cloned == false, "other content flags: restored, not cloned")

        var none = RestoreOptions()
        none.pristine = false
        try await dropEverything(startingWith: database)
        let without = try await restore(sample.archive, into: database, options: none)
        #expect(without.report.pristine == nil)
        #expect(try await PristineTemplate(database: database).state(on: SQLSession(connect("postgres", on: try await server(database)))) == nil)
    }

    @Test func aResetWithoutTemplateOrWithAStaleOneIsRefusedAndChangesNothing() async throws {
        let database = "pristine_refused"
        try await dropEverything(startingWith: database)
        let url = try await server(database)
        let admin = try connect("postgres", on: url)
        try admin.execute("CREATE DATABASE \(database)")
        try connect(database, on: url).execute("CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)")
        do {
            _ = try await resetToPristine(database)
            Issue.record("expected a refusal without a template")
        } catch {
            #expect("\(error)".contains("there is no pristine template of 'pristine_refused'"), "\(error)")
        }
        #expect(try fingerprint(database, on: url)["public.t"]?.hasPrefix("2:") == true)

        let sample = try await SampleCache.shared.sample()
        _ = try await restore(sample.archive, into: database, environment: ["SCALINGO_DB_USER": "app_owner"])
        try connect(database, on: url).execute("CREATE TABLE scratch (id int)")
        do {
            _ = try await resetToPristine(database, environment: ["SCALINGO_DB_USER": "someone_else"])
            Issue.record("expected a refusal of a template made with other settings")
        } catch {
            #expect("\(error)".contains("was made with other prepare settings"), "\(error)")
        }
        #expect(try fingerprint(database, on: url)["public.scratch"] != nil, "the database was not replaced")
        _ = try await resetToPristine(database, environment: ["SCALINGO_DB_USER": "app_owner"])
        #expect(try fingerprint(database, on: url)["public.scratch"] == nil)
    }

    @Test func theCommandsResetShowAndDropTheTemplate() async throws {
        let database = "pristine_cli"
        try await dropEverything(startingWith: database)
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let urlText = cluster.url(database: database, port: port)
        let sample = try await SampleCache.shared.sample()
        let restore = try await CLI.run(["restore", sample.archive.path, "--target-url", urlText, "--yes", "--drop-previous"])
        #expect(restore.status == 0, "\(restore.standardError)")
        #expect(restore.standardOutput.contains("pristine template 'pristine_cli__recette_pristine' kept"), "\(restore.standardOutput)")
        let url = try await server(database)
        let restored = try fingerprint(database, on: url)
        try connect(database, on: url).execute("DELETE FROM offres_de_stage")

        let status = try await CLI.run(["pristine", "status", "--target", "url"], environment: TestEnvironment.cliEnvironment.merging(["DATABASE_URL": urlText]) { $1 })
        #expect(status.status == 0, "\(status.standardError)")
        #expect(status.standardOutput.contains("backup: \(sample.archive.lastPathComponent)") && status.standardOutput.contains("(today's)"), "\(status.standardOutput)")
        // A url target keeps no ready copy unless RECETTE_PRISTINE_SPARE=true.
        #expect(status.standardOutput.contains("ready copy: none"), "\(status.standardOutput)")

        let reset = try await CLI.run(["reset", "--pristine", "--skip-reindex", "--target-url", urlText, "--yes", "--drop-previous"])
        #expect(reset.status == 0, "\(reset.standardError)")
        #expect(reset.standardOutput.contains("'pristine_cli' is the pristine copy again"), "\(reset.standardOutput)")
        #expect(try fingerprint(database, on: url) == restored)

        let dropped = try await CLI.run(["pristine", "drop", "--target", "url", "--yes"], environment: TestEnvironment.cliEnvironment.merging(["DATABASE_URL": urlText]) { $1 })
        #expect(dropped.status == 0, "\(dropped.standardError)")
        #expect(try await PristineTemplate(database: database).state(on: SQLSession(connect("postgres", on: url))) == nil)
        let refused = try await CLI.run(["reset", "--pristine", "--skip-reindex", "--target-url", urlText, "--yes"])
        #expect(refused.status == 1 && refused.standardError.contains("there is no pristine template"), "\(refused.standardError)")
    }

    @Test func populateFromResetClonesTheTemplateThenReindexesAndChecks() async throws {
        let database = "pristine_populate"
        try await dropEverything(startingWith: database)
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = TestEnvironment.newProjectDirectory()
        try RepositoryConfiguration.copy(into: project)
        let environment = TestEnvironment.cliEnvironment.merging([
            "RECETTE_TARGET": "local", "RECETTE_DATABASE": database,
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString, "PLUGIN_MEILISEARCH_API_KEY": meilisearch.masterKey ?? "",
        ]) { $1 }
        func recette(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> CLIResult {
            try await CLI.run(arguments + ["--project-dir", project.path, "--no-progress"], environment: environment.merging(extra) { $1 })
        }
        let sample = try await SampleCache.shared.sample()
        let restore = try await recette(["restore", sample.archive.path])
        try #require(restore.status == 0, "\(restore.standardError)")
        let url = try await server(database)
        let restored = try fingerprint(database, on: url)
        try connect(database, on: url).execute("DELETE FROM offres_de_stage WHERE id % 2 = 0")

        let plan = try await recette(["populate", "--from", "reset", "--dry-run"])
        #expect(plan.status == 0, "\(plan.standardError)")
        #expect(plan.standardOutput.contains("[reset] back to the pristine template"), "\(plan.standardOutput)")
        #expect(plan.standardOutput.contains("CREATE DATABASE \"pristine_populate__recette_incoming\" TEMPLATE \"pristine_populate__recette_pristine\""), "\(plan.standardOutput)")
        #expect(!plan.standardOutput.contains("[backup]") && !plan.standardOutput.contains("[restore]"), "\(plan.standardOutput)")
        #expect(try fingerprint(database, on: url) != restored, "the dry run changed nothing")

        let populate = try await recette(["populate", "--from", "reset"])
        #expect(populate.status == 0, "\(populate.standardError)")
        for step in ["reset", "reindex", "check"] {
            #expect(populate.standardOutput.range(of: "\n\(step)\\s+succeeded", options: .regularExpression) != nil, "\(step): \(populate.standardOutput)")
        }
        #expect(populate.standardOutput.range(of: "\n(backup|restore)\\s", options: .regularExpression) == nil, "\(populate.standardOutput)")
        // The local target keeps a ready copy of the template: the reset renamed it into place.
        #expect(populate.standardOutput.contains("renamed into place"), "\(populate.standardOutput)")
        #expect(try fingerprint(database, on: url) == restored, "the deleted offers are back")
        let published = try connect(database, on: url).query("SELECT count(*) FROM offres_de_stage WHERE published_at IS NOT NULL").scalar
        #expect(meilisearch.documentCount(in: "offre-de-stage").map(String.init) == published, "the index was rebuilt from the reset copy")

        // Without a ready copy the template is cloned, its files read ahead first (recette's own
        // cluster: they are this machine's).
        try connect(database, on: url).execute("DELETE FROM offres_de_stage WHERE id % 2 = 0")
        let cloned = try await recette(["reset", "--pristine", "--skip-reindex", "--yes"], ["RECETTE_PRISTINE_SPARE": "false"])
        #expect(cloned.status == 0, "\(cloned.standardError)")
        #expect(cloned.standardOutput.contains("cloned from 'pristine_populate__recette_pristine'"), "\(cloned.standardOutput)")
        #expect(cloned.standardError.contains("reading the template's files ahead"), "\(cloned.standardError)")
        #expect(try fingerprint(database, on: url) == restored)
    }
}
