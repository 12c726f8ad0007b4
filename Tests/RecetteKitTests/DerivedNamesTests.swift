import Foundation
import Logging
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// Names recette derives from a database's never collide with it or with each other, and are
/// recognised exactly (issue 11, group 1).
@Suite struct DerivedDatabaseNamesTests {
    let first = Date(timeIntervalSince1970: 1_796_000_000)
    let second = Date(timeIntervalSince1970: 1_796_000_001)

    @Test func everyDerivedNameFitsAndDiffersFromTheBaseAndFromEachOther() throws {
        let bases = (1...63).map { String(repeating: "a", count: $0) } + (1...31).map { String(repeating: "é", count: $0) }
        for base in bases {
            let names = try DerivedDatabaseNames(base: base)
            let derived = names.all(at: first) + [names.previous(at: second)]
            for name in derived {
                #expect(name.utf8.count <= 63, "\(name) is \(name.utf8.count) bytes")
                #expect(name != base)
            }
            #expect(Set(derived).count == derived.count, "names of \(base) collide: \(derived)")
            #expect(names.isPrevious(names.previous(at: first)) && names.isPrevious(names.previous(at: second)))
            #expect(!names.isPrevious(names.incoming) && !names.isPrevious(base))
        }
    }

    @Test func shortenedNamesOfDifferentDatabasesStayApart() throws {
        let prefix = String(repeating: "x", count: 58)
        let one = try DerivedDatabaseNames(base: prefix + "_one")
        let two = try DerivedDatabaseNames(base: prefix + "_two")
        #expect(one.incoming != two.incoming)
        #expect(!one.isPrevious(two.previous(at: first)))
    }

    @Test func keptCopiesAreRecognisedExactlyNotByPattern() throws {
        let names = try DerivedDatabaseNames(base: "a%b")
        let other = try DerivedDatabaseNames(base: "aXb")
        #expect(names.isPrevious(names.previous(at: first)))
        #expect(!names.isPrevious(other.previous(at: first)), "'a%b' is not a pattern")
        #expect(!names.isPrevious("a%b__recette_previous_2026120xT101010"))
        #expect(!names.isPrevious(names.previous(at: first) + "0"))
        #expect(try !DerivedDatabaseNames(base: "a_b").isPrevious("aXb__recette_previous_20261201T101010"))
    }

    @Test func aNamePostgreSQLWouldCutIsRefused() {
        #expect(throws: RecetteFailure.self) { try DerivedDatabaseNames(base: String(repeating: "n", count: 64)) }
        #expect(throws: RecetteFailure.self) { try DerivedDatabaseNames(base: "") }
    }
}

/// "This machine" comes from resolved addresses, never from how the host is spelled
/// (issue 11, group 2).
@Suite struct HostResolverTests {
    @Test func loopbackAddressesAndLocalhostAreThisMachine() {
        let system = HostResolver.system
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] {
            #expect(system.isThisMachine(host), "\(host)")
        }
        for host in ["203.0.113.7", "2001:db8::1", "::ffff:203.0.113.7"] {
            #expect(!system.isThisMachine(host), "\(host)")
        }
    }

    @Test func aNameThatLooksLikeLoopbackIsNotThisMachine() {
        // Answered without any lookup (RFC 6761: .invalid never resolves).
        #expect(!HostResolver.system.isThisMachine("127.0.0.1.attacker.invalid"))
        let resolvesElsewhere = HostResolver { $0 == "127.attacker.example" ? ["203.0.113.9"] : [] }
        #expect(!resolvesElsewhere.isThisMachine("127.attacker.example"))
        let tunnel = HostResolver { _ in ["127.0.0.1", "::1"] }
        #expect(tunnel.isThisMachine("db-tunnel.example"))
    }

    @Test func theGuardAsksBeforeConnectingToANameThatResolvesElsewhere() throws {
        let resolvesElsewhere = HostResolver { _ in ["203.0.113.9"] }
        let target = try PostgresURL("postgresql://u:pw@127.attacker.example:5432/review")
        do {
            try URLTargetGuard.check(target: target, namedOnCommandLine: true, source: nil, confirmation: .impossible, resolver: resolvesElsewhere)
            Issue.record("expected a confirmation to be needed")
        } catch {
            #expect("\(error)".contains("needs confirmation"), "\(error)")
        }
    }
}

/// Derived names, claims and the source guard against a real server (this run's cluster).
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct DerivedNamesIntegrationTests {
    func admin() async throws -> (PostgresConnection, PostgresURL) {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let url = try PostgresURL(cluster.url(database: "postgres", port: port))
        return (try PostgresConnection(url: try URLDestination(target: url, dropPrevious: false).connectionString(database: "postgres")), url)
    }

    func url(_ database: String) async throws -> PostgresURL {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        return try PostgresURL(cluster.url(database: database, port: port))
    }

    /// A fresh database holding one table of `rows` rows; every database whose name starts
    /// with its name is dropped first.
    func seed(_ database: String, rows: Int) async throws {
        let (admin, server) = try await admin()
        for name in try await databases(startingWith: database) { try admin.execute("DROP DATABASE \(PostgresConnection.quoteIdentifier(name)) WITH (FORCE)") }
        try admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database))")
        let connection = try PostgresConnection(url: try URLDestination(target: server, dropPrevious: false).connectionString(database: database))
        try connection.execute("CREATE TABLE marker (id int); INSERT INTO marker SELECT generate_series(1, \(rows))")
    }

    func markerRows(_ database: String) async throws -> Int {
        let server = try await url(database)
        let connection = try PostgresConnection(url: try URLDestination(target: server, dropPrevious: false).connectionString(database: database))
        return Int(try connection.query("SELECT count(*) FROM marker").scalar ?? "") ?? -1
    }

    func databases(startingWith prefix: String) async throws -> [String] {
        try await admin().0.query("SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", [prefix]).column("datname").compactMap { $0 }
    }

    func restore(_ archive: URL, into database: String, keepPrevious: Bool = false) async throws -> RestoreOutcome {
        let destination = URLDestination(target: try await url(database), dropPrevious: !keepPrevious)
        var options = RestoreOptions()
        options.pristine = false  // only the names under test
        return try await DatabaseRestore(context: try TestEnvironment.machineContext(), destination: destination, database: database,
                                         options: options).restore(archiveFile: archive)
    }

    @Test func aFailedRestoreIntoA63ByteDatabaseLeavesItWhole() async throws {
        let database = "long_" + String(repeating: "n", count: 58)
        #expect(database.utf8.count == 63)
        try await seed(database, rows: 7)
        let sample = try await SampleCache.shared.sample()
        let broken = try await BadInput.dumpTruncatedInData.make(from: sample.archive)
        do {
            _ = try await restore(broken, into: database)
            Issue.record("expected the restore to fail")
        } catch {
            #expect("\(error)".contains("left as it was"), "\(error)")
        }
        #expect(try await markerRows(database) == 7, "the live database is the one it was")
        #expect(try await databases(startingWith: "long_") == [database], "no copy is left beside it")
    }

    @Test func keptCopiesOfALongNameNeverCollide() async throws {
        let database = "kept_" + String(repeating: "k", count: 50)
        try await seed(database, rows: 3)
        let sample = try await SampleCache.shared.sample()
        var kept: [String] = []
        for round in 0..<3 {
            if round > 0 { try await Task.sleep(for: .seconds(1)) }  // a distinct timestamp per copy
            let outcome = try await restore(sample.archive, into: database, keepPrevious: true)
            kept.append(try #require(outcome.previousDatabase))
        }
        #expect(Set(kept).count == 3, "\(kept)")
        #expect(kept.allSatisfy { $0.utf8.count <= 63 })
        let left = try await databases(startingWith: "kept_")
        #expect(left == [database, kept[2]].sorted(), "the live one and only the newest kept copy: \(left)")
    }

    @Test func keptCopiesOfAnotherDatabaseAreNotMistakenForOurs() async throws {
        try await seed("pct%b", rows: 1)
        try await seed("pctXb", rows: 2)
        let theirs = try DerivedDatabaseNames(base: "pctXb").previous(at: Date(timeIntervalSince1970: 1_796_000_000))
        try await admin().0.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(theirs))")
        let sample = try await SampleCache.shared.sample()
        _ = try await restore(sample.archive, into: "pct%b", keepPrevious: true)
        try await Task.sleep(for: .seconds(1))
        _ = try await restore(sample.archive, into: "pct%b", keepPrevious: true)
        #expect(try await databases(startingWith: "pctXb").contains(theirs), "another database's kept copy survives")
    }

    @Test func anIncomingNameHeldByAnotherRunIsNotTouched() async throws {
        let database = "claimed_db"
        try await seed(database, rows: 5)
        let (_, server) = try await admin()
        let maintenance = try URLDestination(target: server, dropPrevious: false).connectionString(database: "postgres")
        // Another project's restore into the same database name on this shared server.
        let other = try DatabaseSwap(maintenanceConnection: maintenance, database: database, keepsPrevious: false, logger: Logger(label: "other"))
        let claim = try await other.claim(serverDescription: "the local server", at: Date())
        try await other.createIncoming(claim, serverDescription: "the local server")
        let sample = try await SampleCache.shared.sample()
        do {
            _ = try await restore(sample.archive, into: database)
            Issue.record("expected a refusal while another run holds the name")
        } catch {
            #expect("\(error)".contains("another restore is building the same database"), "\(error)")
            #expect("\(error)".contains("pid \(getpid())"), "names the holder: \(error)")
        }
        #expect(try await databases(startingWith: database) == [database, other.incoming], "the other run's database is still there")

        // Once that run is gone (its session ended), its database is a leftover: dropped.
        claim.release()
        _ = try await restore(sample.archive, into: database)
        #expect(try await databases(startingWith: database) == [database])
    }

    @Test func aDatabaseThatOnlyHasTheIncomingNameIsRefused() async throws {
        let database = "someone_db"
        try await seed(database, rows: 1)
        let names = try DerivedDatabaseNames(base: database)
        let (admin, _) = try await admin()
        try admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(names.incoming))")
        try admin.execute("COMMENT ON DATABASE \(PostgresConnection.quoteIdentifier(names.incoming)) IS 'the accounting team''s'")
        let sample = try await SampleCache.shared.sample()
        do {
            _ = try await restore(sample.archive, into: database)
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)".contains("is not a leftover of recette"), "\(error)")
        }
        #expect(try await databases(startingWith: database) == [database, names.incoming])
        try admin.execute("DROP DATABASE \(PostgresConnection.quoteIdentifier(names.incoming))")
    }

    /// The same database through `localhost` and `127.0.0.1` (as through a tunnel): refused
    /// once both servers answered, nothing changed.
    @Test func theSourceSpelledAnotherWayIsNeverATarget() async throws {
        let database = "source_app"
        try await seed(database, rows: 9)
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let viaLoopback = cluster.url(database: database, port: port)
        // pgpass names 127.0.0.1: the other spelling carries the password itself, as a
        // Scalingo URL does.
        let password = try #require(try String(contentsOf: cluster.passwordFile, encoding: .utf8).split(separator: ":").last?
            .trimmingCharacters(in: .whitespacesAndNewlines))
        let viaName = "postgresql://postgres:\(password)@localhost:\(port)/\(database)"
        var environment = TestEnvironment.cliEnvironment
        environment["SCALINGO_POSTGRESQL_URL"] = viaName
        let sample = try await SampleCache.shared.sample()
        let restore = try await CLI.run(["restore", sample.archive.path, "--target-url", viaLoopback, "--yes"], environment: environment)
        #expect(restore.status == 1)
        #expect(restore.standardError.contains("is the recette app's own database"), "\(restore.standardError)")
        let reset = try await CLI.run(["reset", "--target-url", viaLoopback, "--yes"], environment: environment)
        #expect(reset.status == 1)
        #expect(reset.standardError.contains("is the recette app's own database"), "\(reset.standardError)")
        #expect(try await markerRows(database) == 9)
        #expect(try await databases(startingWith: database) == [database])

        // Another database of the same server is a fine target.
        try await seed("source_app_review", rows: 1)
        let other = try await CLI.run(["reset", "--target-url", cluster.url(database: "source_app_review", port: port), "--yes", "--drop-previous"], environment: environment)
        #expect(other.status == 0, "\(other.standardError)")
    }
}
