import Foundation
import Testing
@testable import RecetteKit

@Suite struct URLTargetGuardTests {
    @Test func parsesURLsAndKeepsThePasswordSecret() throws {
        let url = try PostgresURL("postgresql://app%40x:s3cr%2Ft@127.0.0.1:10000/my_review_app?sslmode=disable")
        #expect(url.host == "127.0.0.1" && url.port == 10000 && url.database == "my_review_app" && url.user == "app@x")
        #expect(url.password?.reveal() == "s3cr/t")
        #expect(url.display(database: url.database) == "postgresql://app@x@127.0.0.1:10000/my_review_app")
        #expect(url.isLoopback)
        #expect(try !PostgresURL("postgres://u@db.example.test/x").isLoopback)
        #expect(throws: RecetteFailure.self) { try PostgresURL("mysql://u@127.0.0.1/x") }
        #expect(throws: RecetteFailure.self) { try PostgresURL("postgresql://u@127.0.0.1:5432") }
    }

    @Test func loopbackNeedsNothingMore() throws {
        try URLTargetGuard.check(target: PostgresURL("postgresql://u@127.0.0.1:10000/review"), namedOnCommandLine: false, source: nil, confirmation: .impossible)
    }

    @Test func aRemoteServerNeedsTheURLOnTheCommandLineAndAConfirmation() throws {
        let remote = try PostgresURL("postgresql://u:pw@db.example.test:5432/review")
        do {
            try URLTargetGuard.check(target: remote, namedOnCommandLine: false, source: nil, confirmation: .assumeYes)
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".hasPrefix("DATABASE_URL points at db.example.test, which is not this machine"))
        }
        #expect(throws: RecetteFailure.self) { try URLTargetGuard.check(target: remote, namedOnCommandLine: true, source: nil, confirmation: .impossible) }
        #expect(throws: RecetteFailure.self) { try URLTargetGuard.check(target: remote, namedOnCommandLine: true, source: nil, confirmation: .ask { _ in "yes" }) }
        try URLTargetGuard.check(target: remote, namedOnCommandLine: true, source: nil, confirmation: .ask { prompt in
            #expect(prompt.contains("'review' on db.example.test:5432"))
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
@Suite(.serialized) struct URLTargetIntegrationTests {
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
        let context = try TestEnvironment.context()
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
        #expect(try databases(like: "review_app", on: url) == ["review_app"])
    }

    @Test func aRestoreFailingMidwayKeepsThePreviousDatabase() async throws {
        let sample = try await SampleCache.shared.sample()
        let url = try await target("review_fail")
        let context = try TestEnvironment.context()
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
        #expect(try databases(like: "review_fail__", on: url).isEmpty, "no half-restored database is left behind")
    }

    @Test func theCLIRefusesARemoteDatabaseURLWithoutConnecting() async throws {
        var environment = TestEnvironment.cliEnvironment
        environment["DATABASE_URL"] = "postgresql://app:pw@db.example.test:5432/review"
        let sample = try await SampleCache.shared.sample()
        let result = try await CLI.run(["restore", sample.archive.path, "--target", "url"], environment: environment)
        #expect(result.status == 1)
        #expect(result.standardError.split(separator: "\n").last?.hasPrefix("error: DATABASE_URL points at db.example.test, which is not this machine") == true, "\(result.standardError)")
        #expect(!result.standardError.contains("pw@"))

        let explicit = try await CLI.run(["restore", sample.archive.path, "--target-url", "postgresql://app:pw@db.example.test:5432/review"], environment: TestEnvironment.cliEnvironment)
        #expect(explicit.status == 1)
        #expect(explicit.standardError.contains("needs confirmation: pass --yes"), "\(explicit.standardError)")
    }
}
