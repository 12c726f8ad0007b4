import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// `recette reset --target local`: one database of the shared test cluster dropped and
/// created empty; its neighbours untouched.
@Suite(.tags(.postgres), .skippedInUnitLane) struct LocalDatabaseResetTests {
    @Test func resetLeavesAnEmptyDatabaseAndItsNeighbours() async throws {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let database = "reset_local_\(getpid())"
        let neighbour = "reset_neighbour_\(getpid())"
        let admin = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        for name in [database, neighbour] {
            try admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            try admin.execute("CREATE DATABASE \(name)")
            try PostgresConnection(url: cluster.url(database: name, port: port)).execute("CREATE TABLE marker (id int); INSERT INTO marker VALUES (1)")
        }
        defer { for name in [database, neighbour] { try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") } }
        // A session left open (a CMS still running) does not stop the reset.
        let openSession = try PostgresConnection(url: cluster.url(database: database, port: port))
        #expect(try openSession.query("SELECT count(*) FROM marker").scalar == "1")

        let reset = LocalDatabaseReset(context: try TestEnvironment.machineContext(), database: database)
        let url = try await reset.run()
        #expect(url == cluster.url(database: database, port: port))
        #expect(try PostgresConnection(url: url).query("SELECT to_regclass('public.marker') IS NULL").scalar == "t")
        #expect(try PostgresConnection(url: cluster.url(database: neighbour, port: port)).query("SELECT count(*) FROM marker").scalar == "1")
    }
}
