import Foundation
import Testing
@testable import RecetteKit

/// The `local` target's own cluster, on its own directory (not the shared test cluster).
@Suite struct LocalClusterTests {
    @Test func initialisesStartsStopsAndRestartsOnTheSamePort() async throws {
        let directory = TestEnvironment.clusterDirectory.appendingPathComponent("lifecycle-\(UUID().uuidString.prefix(8))")
        let context = try TestEnvironment.context()
        let cluster = LocalCluster(directory: directory, tools: context.postgresTools, runner: context.runner)
        defer { Task { try? await cluster.stop() } }

        #expect(try await cluster.status() == .init(initialized: false, running: false, port: nil, serverVersion: nil))
        let started = try await cluster.start()
        #expect(started.running && started.initialized)
        let port = try #require(started.port)

        // The URL needs no password in it: it names the pgpass file.
        let url = cluster.url(database: "postgres", port: port)
        #expect(url.hasPrefix("postgresql://postgres@127.0.0.1:\(port)/postgres?passfile="))
        let connection = try PostgresConnection(url: url)
        #expect(try connection.query("SHOW listen_addresses").scalar == "127.0.0.1")
        #expect(try connection.query("SELECT current_setting('password_encryption')").scalar == "scram-sha-256")

        // Without the password file, the server refuses: it is not open to every local user.
        #expect(throws: PostgresError.self) { try PostgresConnection(url: "postgresql://postgres@127.0.0.1:\(port)/postgres?passfile=/nonexistent/pgpass") }

        // pgpass is private.
        let attributes = try FileManager.default.attributesOfItem(atPath: cluster.passwordFile.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        // Bulk-load settings apply by reload (no restart: this connection survives) and revert.
        let settings = LocalCluster.bulkLoadSettings(jobs: 2)
        try cluster.applySettings(settings, port: port)
        #expect(try connection.query("SHOW fsync").scalar == "off")
        #expect(try connection.query("SHOW autovacuum").scalar == "off")
        try cluster.resetSettings(settings.map(\.0), port: port)
        #expect(try connection.query("SHOW fsync").scalar == "on")
        #expect(try connection.query("SHOW autovacuum").scalar == "on")
        #expect(try connection.query("SHOW wal_level").scalar == "minimal")

        try await cluster.stop()
        #expect(try await cluster.status().running == false)
        let again = try await cluster.start()
        #expect(again.port == port)
        try await cluster.stop()
    }
}
