import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// Against a real PostgreSQL server: this run's throwaway cluster.
@Suite struct PostgresConnectionTests {
    @Test(.tags(.postgres), .skippedInUnitLane) func parameterisedQueriesNeverNeedQuoting() async throws {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        let tricky = "O'Brien\"; DROP TABLE x; --"
        let result = try connection.query("SELECT $1::text AS name, $2::int + 1 AS next, $3::text IS NULL AS missing", [tricky, "41", nil])
        #expect(result.columns == ["name", "next", "missing"])
        #expect(result.rows == [[tricky, "42", "t"]])
        #expect(connection.serverMajorVersion >= 12)
    }

    /// libpq alone says "fe_sendauth: no password supplied": the error names the password
    /// file it read and why it gave nothing.
    @Test(.tags(.postgres), .skippedInUnitLane) func aMissingPasswordFileIsNamed() async throws {
        let (_, port) = try await TestEnvironment.startedCluster()
        let error = try #require(throws: PostgresError.self) {
            try PostgresConnection(url: "postgresql://postgres@127.0.0.1:\(port)/postgres?passfile=/nonexistent/pgpass")
        }
        #expect("\(error)".contains("the password file /nonexistent/pgpass does not exist"), "\(error)")
        #expect(!"\(error)".contains("fe_sendauth"), "\(error)")
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func errorsCarrySQLStateAndTheServerMessage() async throws {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        do {
            try connection.query("SELECT * FROM no_such_table_here")
            Issue.record("expected an error")
        } catch let error as PostgresError {
            #expect(error.sqlState == "42P01")
            #expect(error.message.contains("no_such_table_here"))
        }
        // The connection is still usable afterwards.
        #expect(try connection.query("SELECT 1").scalar == "1")
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func copyOutStreamsInChunks() async throws {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        var bytes = 0
        var chunks = 0
        var lastLine = Data()
        let rows = try connection.copyOut("COPY (SELECT row_to_json(t) FROM (SELECT i AS id, 'offre-' || i AS slug FROM generate_series(1, 50000) i) t) TO STDOUT") { chunk in
            bytes += chunk.count
            chunks += 1
            lastLine = Data(chunk)
        }
        #expect(rows == 50_000)
        #expect(chunks == 50_000)  // libpq hands over one row at a time
        #expect(bytes > 50_000 * 20)
        #expect(String(decoding: lastLine, as: UTF8.self) == "{\"id\":50000,\"slug\":\"offre-50000\"}\n")
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func aFailingCopyReportsTheServerError() async throws {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let connection = try PostgresConnection(url: cluster.url(database: "postgres", port: port))
        #expect(throws: PostgresError.self) {
            try connection.copyOut("COPY (SELECT 1 / (i - 500) FROM generate_series(1, 1000) i) TO STDOUT") { _ in }
        }
    }

    @Test func connectionFailuresNameTheTargetButNotThePassword() async throws {
        do {
            _ = try PostgresConnection(url: "postgresql://someone:hunter2secret@127.0.0.1:1/nowhere?connect_timeout=2")
            Issue.record("expected a failure")
        } catch let error as PostgresError {
            #expect(error.description.contains("127.0.0.1:1/nowhere"))
            #expect(!error.description.contains("hunter2secret"))
        }
    }

    @Test(.tags(.postgres), .skippedInUnitLane) func cancellingTheTaskCancelsTheStatementOnTheServer() async throws {
        let (cluster, port) = try await TestEnvironment.startedCluster()
        let url = cluster.url(database: "postgres", port: port)
        let task = Task {
            let connection = try PostgresConnection(url: url)
            try await connection.onOwnThread { try $0.execute("SELECT pg_sleep(60)") }
        }
        // Cancelled once the statement runs on the server, not before it was sent.
        let observer = try PostgresConnection(url: url)
        var running = false
        for _ in 0..<1_000 where !running {
            running = try !observer.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)' AND state = 'active'").rows.isEmpty
            if !running { try await Task.sleep(for: .milliseconds(10)) }
        }
        try #require(running, "pg_sleep never started")
        let start = ContinuousClock.now
        task.cancel()
        let result = await task.result
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(throws: CancellationError.self) { try result.get() }
    }
}
