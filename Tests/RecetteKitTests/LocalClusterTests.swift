import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The `local` target's own cluster, on its own directory (not the shared test cluster).
@Suite struct LocalClusterTests {
    /// Ports for servers that bind later come from below the ephemeral range, where no
    /// outgoing connection can take them in the meantime.
    @Test func freePortsAreChosenBelowTheEphemeralRange() throws {
        let range = try String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)
        let ephemeralStart = try #require(range.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) })
        for _ in 0..<20 {
            let port = LocalCluster.freeLoopbackPort()
            #expect((20_000..<ephemeralStart).contains(port), "\(port)")
        }
        // What "free" means: nothing listens there. (Not re-checked on the ports above: the
        // other suites running meanwhile bind ports of the same range.)
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        try #require(bound)
        let taken = Int(UInt16(bigEndian: address.sin_port))
        #expect(!LocalCluster.isLoopbackPortFree(taken))
        #expect(!LocalCluster.isLoopbackPortFree(taken, reusingTimeWait: false))
    }

    /// Two restores into one cluster side by side: the first to finish leaves the bulk-load
    /// settings to the other; the last one out puts the normal settings back.
    @Test(.tags(.postgres), .skippedInUnitLane) func overlappingRestoresKeepTheBulkLoadSettingsUntilTheLastEnds() async throws {
        // A cluster of its own: the suite's shared one sees other restores come and go.
        let directory = TestEnvironment.clusterDirectory.appendingPathComponent("bulk-load-\(UUID().uuidString.prefix(8))")
        let context = try TestEnvironment.machineContext()
        let cluster = LocalCluster(directory: directory, tools: context.postgresTools, runner: context.runner)
        defer { Task { try? await cluster.stop() } }
        let port = try #require(try await cluster.start().port)
        // Destinations of their own on the same directory, as two recette processes would be.
        let first = LocalDestination(cluster: LocalCluster(directory: cluster.directory, tools: context.postgresTools, runner: context.runner), jobs: 2)
        let second = LocalDestination(cluster: LocalCluster(directory: cluster.directory, tools: context.postgresTools, runner: context.runner), jobs: 2)
        try await first.prepare()
        try await second.prepare()
        let settings = first.bulkLoadSettings
        func fsync() throws -> String? {
            try PostgresConnection(url: cluster.url(database: "postgres", port: port)).query("SHOW fsync").scalar
        }
        try await first.applySettings(settings)
        try await second.applySettings(settings)
        #expect(try fsync() == "off")
        try await first.resetSettings(settings.map(\.0))
        #expect(try fsync() == "off", "the second restore is still loading")
        try await first.resetSettings(settings.map(\.0))  // a second reset by the same restore changes nothing
        #expect(try fsync() == "off")
        try await second.resetSettings(settings.map(\.0))
        #expect(try fsync() == "on")
    }

    /// A cluster in a new directory of its own: the suite's shared one sees other restores
    /// come and go.
    static func ownCluster(_ name: String) throws -> LocalCluster {
        let context = try TestEnvironment.machineContext()
        return LocalCluster(directory: TestEnvironment.clusterDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))"),
                            tools: context.postgresTools, runner: context.runner)
    }

    /// A restore killed mid-load (`kill -9`) never resets its bulk-load settings: they stay in
    /// postgresql.auto.conf across restarts. The next start (or `local status`) sees them on
    /// with nobody holding the lock and resets them; while their owner lives, it leaves them.
    @Test(.tags(.postgres), .skippedInUnitLane) func bulkLoadSettingsOfADeadRestoreAreResetByTheNextStart() async throws {
        let cluster = try Self.ownCluster("abandoned")
        defer { Task { try? await cluster.stop() } }
        let port = try #require(try await cluster.start().port)
        func setting(_ name: String) throws -> String? {
            try PostgresConnection(url: cluster.url(database: "postgres", port: port)).query("SELECT current_setting($1)", [name]).scalar
        }
        let settings = LocalCluster.bulkLoadSettings(jobs: 2)
        do {
            let hold = try await cluster.beginBulkLoad(settings, port: port)
            #expect(try setting("fsync") == "off")
            // Its owner is alive: a status check leaves its settings alone.
            let status = try await cluster.resetAbandonedBulkLoad(try await cluster.status())
            #expect(status.bulkLoadSettingsOn.contains("fsync"))
            #expect(try setting("fsync") == "off")
            withExtendedLifetime(hold) {}
        }  // the hold is gone as with a killed process: the kernel closed its descriptor
        try await cluster.stop()
        let stopped = try await cluster.status()
        #expect(Set(stopped.bulkLoadSettingsOn).isSuperset(of: ["fsync", "full_page_writes", "autovacuum"]), "\(stopped.bulkLoadSettingsOn)")
        let started = try await cluster.start()
        #expect(started.bulkLoadSettingsOn.isEmpty, "\(started.bulkLoadSettingsOn)")
        #expect(try setting("fsync") == "on")
        #expect(try setting("full_page_writes") == "on")
        #expect(try setting("autovacuum") == "on")
        // And `local status` on a running server does the same.
        _ = try await cluster.beginBulkLoad(settings, port: port)
        #expect(try setting("fsync") == "off")
        let status = try await cluster.resetAbandonedBulkLoad(try await cluster.status())
        #expect(status.bulkLoadSettingsOn.isEmpty)
        #expect(try setting("fsync") == "on")
    }

    /// The cluster's password lives only in pgpass: without it, starting says so and what to
    /// do, instead of every later connection failing on libpq's "no password supplied".
    @Test(.tags(.postgres), .skippedInUnitLane) func aMissingPasswordFileIsExplainedAtStart() async throws {
        let cluster = try Self.ownCluster("no-pgpass")
        defer { Task { try? await cluster.stop() } }
        _ = try await cluster.start()
        try FileManager.default.removeItem(at: cluster.passwordFile)
        let error = try await #require(throws: LocalClusterError.self) { try await cluster.start() }
        #expect("\(error)".hasPrefix("\(cluster.passwordFile.path) is missing"), "\(error)")
    }

    /// Two starts of a new cluster at once (two recette processes, or two tests): one runs
    /// initdb and starts the server, the other waits and finds it running.
    @Test(.tags(.postgres), .skippedInUnitLane) func startsAtOnceInitialiseOnceAndAgreeOnThePort() async throws {
        let directory = TestEnvironment.clusterDirectory.appendingPathComponent("together-\(UUID().uuidString.prefix(8))")
        let context = try TestEnvironment.machineContext()
        let clusters = (0..<3).map { _ in LocalCluster(directory: directory, tools: context.postgresTools, runner: context.runner) }
        defer { Task { try? await clusters[0].stop() } }
        let ports = try await withThrowingTaskGroup(of: Int?.self) { group in
            for cluster in clusters { group.addTask { try await cluster.start().port } }
            return try await group.reduce(into: [Int?]()) { $0.append($1) }
        }
        #expect(ports.count == 3 && Set(ports).count == 1 && ports[0] != nil, "\(ports)")
        let connection = try PostgresConnection(url: clusters[1].url(database: "postgres", port: try #require(ports[0])))
        #expect(try connection.query("SELECT 1").scalar == "1")
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func initialisesStartsStopsAndRestartsOnTheSamePort() async throws {
        let directory = TestEnvironment.clusterDirectory.appendingPathComponent("lifecycle-\(UUID().uuidString.prefix(8))")
        let context = try TestEnvironment.machineContext()
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
        try await cluster.applySettings(settings, port: port)
        #expect(try connection.query("SHOW fsync").scalar == "off")
        #expect(try connection.query("SHOW autovacuum").scalar == "off")
        try await cluster.resetSettings(settings.map(\.0), port: port)
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
