import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct URLTargetGuardTests {
    @Test func parsesURLsAndKeepsThePasswordSecret() throws {
        let url = try PostgresURL("postgresql://app%40x:s3cr%2Ft@127.0.0.1:10000/my_review_app?sslmode=disable")
        #expect(url.host == "127.0.0.1" && url.port == 10000 && url.database == "my_review_app" && url.user == "app@x")
        #expect(url.password?.reveal() == "s3cr/t")
        #expect(url.display(database: url.database) == "postgresql://app@x@127.0.0.1:10000/my_review_app")
        #expect(HostResolver.system.isThisMachine(url.host))
        #expect(!HostResolver.system.isThisMachine(try PostgresURL("postgres://u@db.example.invalid/x").host))
        #expect(throws: RecetteFailure.self) { try PostgresURL("mysql://u@127.0.0.1/x") }
        #expect(throws: RecetteFailure.self) { try PostgresURL("postgresql://u@127.0.0.1:5432") }
    }

    @Test func loopbackNeedsNothingMore() throws {
        try URLTargetGuard.check(target: PostgresURL("postgresql://u@127.0.0.1:10000/review"), namedOnCommandLine: false, source: nil, confirmation: .impossible)
    }

    @Test func aRemoteServerNeedsTheURLOnTheCommandLineAndAConfirmation() throws {
        let remote = try PostgresURL("postgresql://u:pw@db.example.invalid:5432/review")
        do {
            try URLTargetGuard.check(target: remote, namedOnCommandLine: false, source: nil, confirmation: .assumeYes)
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".hasPrefix("DATABASE_URL points at db.example.invalid, which is not this machine"))
        }
        #expect(throws: RecetteFailure.self) { try URLTargetGuard.check(target: remote, namedOnCommandLine: true, source: nil, confirmation: .impossible) }
        #expect(throws: RecetteFailure.self) { try URLTargetGuard.check(target: remote, namedOnCommandLine: true, source: nil, confirmation: .ask { _ in "yes" }) }
        try URLTargetGuard.check(target: remote, namedOnCommandLine: true, source: nil, confirmation: .ask { prompt in
            #expect(prompt.contains("'review' on db.example.invalid:5432"))
            return "review"
        })
        try URLTargetGuard.check(target: remote, namedOnCommandLine: true, source: nil, confirmation: .assumeYes)
    }

    @Test func theSourceDatabaseIsNeverATarget() throws {
        let source = try PostgresURL("postgresql://recette:pw@127.0.0.1:10000/recette_app")
        do {
            try URLTargetGuard.check(target: PostgresURL("postgresql://other@127.0.0.1:10000/recette_app"), namedOnCommandLine: true, source: source, confirmation: .assumeYes)
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".contains("is the recette app's own database"))
        }
    }
}

/// The url target against a real server reached by URL (this run's cluster).
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct URLTargetIntegrationTests {
    func target(_ database: String) async throws -> PostgresURL {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return try PostgresURL(cluster.url(database: database, port: port))
    }

    func count(_ url: PostgresURL, _ database: String) throws -> Int {
        let destination = URLDestination(target: url, dropPrevious: false)
        let connection = try PostgresConnection(url: try destination.connectionString(database: database))
        return Int(try connection.query("SELECT count(*) FROM offres_de_stage").scalar ?? "") ?? -1
    }

    func databases(like prefix: String, on url: PostgresURL) throws -> [String] {
        let admin = try PostgresConnection(url: try URLDestination(target: url, dropPrevious: false).connectionString(database: "postgres"))
        return try admin.query("SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", [prefix]).column("datname").compactMap { $0 }
    }

    @Test func restoresKeepsThePreviousUntilTheNextRunAndCanDropIt() async throws {
        let sample = try await SampleCache.shared.sample()
        let url = try await target("review_app")
        let context = try TestEnvironment.machineContext()
        func restore(dropPrevious: Bool = false) async throws -> RestoreOutcome {
            try await DatabaseRestore(context: context, destination: URLDestination(target: url, dropPrevious: dropPrevious),
                                      database: "review_app", options: RestoreOptions()).restore(archiveFile: sample.archive)
        }
        let first = try await restore()
        #expect(first.previousDatabase == nil)
        #expect(try count(url, "review_app") == RestoreIntegrationTests.offers)
        #expect(!first.url.contains("passfile"))

        let second = try await restore()
        let kept = try #require(second.previousDatabase)
        #expect(kept.hasPrefix("review_app__recette_previous_"))
        #expect(try count(url, kept) == RestoreIntegrationTests.offers)
        #expect(try databases(like: "review_app__recette_previous_", on: url) == [kept])

        // The next run drops older copies; --drop-previous drops this one too.
        try await Task.sleep(for: .seconds(1))  // a distinct timestamp for the next copy's name
        let third = try await restore(dropPrevious: true)
        #expect(third.previousDatabase == nil)
        #expect(try databases(like: "review_app__recette_previous_", on: url).isEmpty)
        #expect(try databases(like: "review_app", on: url) == ["review_app", "review_app__recette_pristine"], "and the pristine template")
    }

    @Test func aRestoreFailingMidwayKeepsThePreviousDatabase() async throws {
        let sample = try await SampleCache.shared.sample()
        let url = try await target("review_fail")
        let context = try TestEnvironment.machineContext()
        let destination = URLDestination(target: url, dropPrevious: false)
        _ = try await DatabaseRestore(context: context, destination: destination, database: "review_fail", options: RestoreOptions()).restore(archiveFile: sample.archive)
        let broken = try await BadInput.dumpTruncatedInData.make(from: sample.archive)
        do {
            _ = try await DatabaseRestore(context: context, destination: destination, database: "review_fail", options: RestoreOptions()).restore(archiveFile: broken)
            Issue.record("expected the restore to fail")
        } catch {
            #expect("\(error)".contains("the existing 'review_fail' database was left as it was"), "\(error)")
        }
        #expect(try count(url, "review_fail") == RestoreIntegrationTests.offers)
        #expect(try databases(like: "review_fail__", on: url) == ["review_fail__recette_pristine"],
                "no half-restored database is left behind (the template is the first restore's)")
    }

    @Test func theCLIRefusesARemoteDatabaseURLWithoutConnecting() async throws {
        var environment = TestEnvironment.cliEnvironment
        environment["DATABASE_URL"] = "postgresql://app:pw@db.example.invalid:5432/review"
        let sample = try await SampleCache.shared.sample()
        let result = try await CLI.run(["restore", sample.archive.path, "--target", "url"], environment: environment)
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").last?.hasPrefix("error: DATABASE_URL points at db.example.invalid, which is not this machine") == true, "\(result.standardError)")
        #expect(!result.standardError.contains("pw@"))

        let explicit = try await CLI.run(["restore", sample.archive.path, "--target-url", "postgresql://app:pw@db.example.invalid:5432/review"], environment: TestEnvironment.cliEnvironment)
        #expect(explicit.status == 1)
        #expect(explicit.standardError.contains("needs confirmation: pass --yes"), "\(explicit.standardError)")
    }

    /// A database with one table and `rows` rows, created fresh.
    func seeded(_ database: String, rows: Int) async throws -> PostgresURL {
        let url = try await target(database)
        let admin = try PostgresConnection(url: try URLDestination(target: url, dropPrevious: false).connectionString(database: "postgres"))
        for name in try databases(like: database, on: url) { try admin.execute("DROP DATABASE \(PostgresConnection.quoteIdentifier(name)) WITH (FORCE)") }
        try admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database))")
        let connection = try PostgresConnection(url: try URLDestination(target: url, dropPrevious: false).connectionString(database: database))
        try connection.execute("CREATE TABLE offres_de_stage (id int); INSERT INTO offres_de_stage SELECT generate_series(1, \(rows))")
        return url
    }

    func tables(_ url: PostgresURL, _ database: String) throws -> Int {
        let connection = try PostgresConnection(url: try URLDestination(target: url, dropPrevious: false).connectionString(database: database))
        return Int(try connection.query("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").scalar ?? "") ?? -1
    }

    @Test func resetReplacesTheDatabaseWithAnEmptyOneAndKeepsThePreviousUntilTheNextRun() async throws {
        let cli = try await seeded("review_reset", rows: 42)
        let urlText = try await clusterURL("review_reset")

        let dryRun = try await CLI.run(["reset", "--target-url", urlText, "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.standardError)")
        #expect(dryRun.standardOutput.contains("RENAME TO \"review_reset__recette_previous_"), "\(dryRun.standardOutput)")
        #expect(try count(cli, "review_reset") == 42, "--dry-run changes nothing")
        #expect(try databases(like: "review_reset", on: cli) == ["review_reset"])

        let refused = try await CLI.run(["reset", "--target-url", urlText])
        #expect(refused.status == 1)
        #expect(refused.standardError.hasPrefix("error: refusing to replace database 'review_reset' without confirmation"), "\(refused.standardError)")
        #expect(try count(cli, "review_reset") == 42)

        let first = try await CLI.run(["reset", "--target-url", urlText, "--yes"])
        #expect(first.status == 0, "\(first.standardError)")
        #expect(try tables(cli, "review_reset") == 0, "the database is empty")
        let kept = try databases(like: "review_reset__recette_previous_", on: cli)
        #expect(kept.count == 1)
        #expect(first.standardOutput.contains("previous database kept as '\(kept.first ?? "?")'"), "\(first.standardOutput)")
        #expect(try count(cli, kept.first ?? "?") == 42, "the replaced database is kept whole")
        #expect(!first.standardOutput.contains("passfile") && first.standardOutput.contains("DATABASE_URL=postgresql://"))

        try await Task.sleep(for: .seconds(1))  // a distinct timestamp for the next copy's name
        let second = try await CLI.run(["reset", "--target-url", urlText, "--yes", "--drop-previous"])
        #expect(second.status == 0, "\(second.standardError)")
        #expect(try databases(like: "review_reset", on: cli) == ["review_reset"], "older copies and this run's replaced one are dropped")
        #expect(try tables(cli, "review_reset") == 0)
    }

    @Test func resetRefusesTheSourceAndARemoteServerWithoutTouchingAnything() async throws {
        let url = try await seeded("review_guarded", rows: 7)
        let urlText = try await clusterURL("review_guarded")
        var environment = TestEnvironment.cliEnvironment
        environment["SCALINGO_POSTGRESQL_URL"] = urlText
        let source = try await CLI.run(["reset", "--target-url", urlText, "--yes"], environment: environment)
        #expect(source.status == 1)
        #expect(source.standardError.contains("is the recette app's own database"), "\(source.standardError)")

        environment = TestEnvironment.cliEnvironment
        environment["DATABASE_URL"] = "postgresql://app:pw@db.example.invalid:5432/review"
        let remote = try await CLI.run(["reset", "--target", "url", "--yes"], environment: environment)
        #expect(remote.status == 1)
        #expect(remote.standardError.hasPrefix("error: DATABASE_URL points at db.example.invalid, which is not this machine"), "\(remote.standardError)")
        #expect(!remote.standardError.contains("pw"))
        #expect(try count(url, "review_guarded") == 7)
        #expect(try databases(like: "review_guarded", on: url) == ["review_guarded"])
    }

    func clusterURL(_ database: String) async throws -> String {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return cluster.url(database: database, port: port)
    }
}
