import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// A team's own compose file, unchanged (Tests/Fixtures/team-compose, shaped like the 1j1s
/// CMS's): recette.yml names only the file; the db publishes no port and has no healthcheck.
@Suite(.tags(.docker, .slow), .dockerSlot, .enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct TeamComposeTests {
    @Test func populateWorksOnATeamsComposeFileNamingOnlyTheFile() async throws {
        let sample = try await SampleCache.shared.sample()
        let team = try TeamComposeProject()
        defer { team.down() }
        // The stand-in's key is the team's MEILI_MASTER_KEY (in the .env compose reads): recette
        // is not given it, it reads it from the compose file. The URL must be given: with host
        // networking the meilisearch service publishes no port.
        let meilisearch = try MeilisearchStandIn(masterKey: team.meilisearchKey)
        defer { meilisearch.stop() }
        let health = try LoopbackHTTPServer { request in request.path == "/_health" ? .text(204, "") : .text(404, "not found") }
        defer { health.stop() }
        let environment = team.cliEnvironment([
            "PLUGIN_MEILISEARCH_URL": meilisearch.baseURL.absoluteString,
            "RECETTE_CMS_HEALTH_URL": health.baseURL.appendingPathComponent("_health").absoluteString,
        ])

        // doctor: the services and the volume, detected, with where the file declares them.
        let doctor = try await CLI.run(["doctor", "--project-dir", team.directory.path], environment: environment)
        #expect(doctor.standardOutput.contains("compose db service: db (detected, docker-compose.yml:34), image local/postgres:15, volume strapi-data (detected) at /var/lib/postgresql/data"), "\(doctor.standardOutput)")
        #expect(doctor.standardOutput.contains("database 'cms-principal' as 'database-user'"), "\(doctor.standardOutput)")
        #expect(doctor.standardOutput.contains("compose cms service: strapi (detected, docker-compose.yml:15)"), "\(doctor.standardOutput)")
        #expect(doctor.standardOutput.contains("compose meilisearch service: meilisearch (detected, docker-compose.yml:61), URL not published, master key *** (set)"), "\(doctor.standardOutput)")
        #expect(!doctor.standardOutput.contains(team.meilisearchKey) && !doctor.standardOutput.contains(team.databasePassword))
        #expect(doctor.standardOutput.split(separator: "\n").contains { $0.contains("PLUGIN_MEILISEARCH_API_KEY") && $0.contains("detected") }, "\(doctor.standardOutput)")

        // The services up but the CMS (its image is not built yet), a marker in the db, in
        // every other volume and in the CMS's bind mount.
        try await SubprocessRunner().run(team.compose(["up", "--detach", "--wait", "--wait-timeout", "120", "db", "meilisearch", "minio"]))
        try await team.waitForDatabase()
        try PostgresConnection(url: team.url).execute("CREATE TABLE reset_marker (token text)")
        let token = UUID().uuidString
        for (service, path) in TeamComposeProject.markerFiles {
            try await SubprocessRunner().run(team.compose(["exec", "-T", service, "tee", path]), input: Data(token.utf8))
        }
        let uploadsMarker = team.directory.appendingPathComponent("public/uploads/recette-marker")
        try token.write(to: uploadsMarker, atomically: true, encoding: .utf8)
        #expect(try await team.imageExists("\(team.name)-strapi") == false)

        // The repository's CMS source (the indexes' model) dropped a column the sample has
        // (SampleCMSSource.plantedDrop): its schema guard would stop the cms step.
        let result = try await CLI.run(["populate", "--yes", "--allow-schema-drops", "--backup", sample.archive.path, "--no-progress", "--project-dir", team.directory.path],
                                       environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        for step in ["restore", "cms", "reindex", "check"] {
            #expect(result.standardOutput.range(of: "\n\(step)\\s+succeeded\\s+[0-9.]+s", options: .regularExpression) != nil, "\(step): \(result.standardOutput)")
        }
        // The CMS step built the image first, a log line per build step, then waited for it.
        #expect(result.standardError.contains("building the CMS image \(team.name)-strapi: docker compose build strapi"), "\(result.standardError)")
        #expect(result.standardError.range(of: #"strapi build: #\d+ \[strapi 2/2\] COPY docker-compose.yml"#, options: .regularExpression) != nil, "\(result.standardError)")
        #expect(try await team.imageExists("\(team.name)-strapi"))
        // Nothing is published to read the documents from: they came through the server's own
        // socket, reached through the container's root.
        #expect(result.standardError.range(of: #"documents from database 'cms-principal' of the compose service 'db' \(as database-user, through its socket /proc/\d+/root/run/postgresql\)"#,
                                           options: .regularExpression) != nil, "\(result.standardError)")

        // Only the db volume was reset; the indexes hold exactly the published rows.
        let connection = try PostgresConnection(url: team.url)
        #expect(try connection.query("SELECT to_regclass('public.reset_marker') IS NULL").scalar == "t")
        #expect(try connection.query("SELECT count(*) FROM offres_de_stage").scalar == String(RestoreIntegrationTests.offers))
        let published = Set(try connection.query("SELECT 'offre-de-stage-' || id AS id FROM offres_de_stage WHERE published_at IS NOT NULL").column("id").compactMap { $0 })
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == published)
        #expect(meilisearch.documentCount(in: "annonce-de-logement") == Int(try connection.query("SELECT count(*) FROM annonces_de_logement WHERE published_at IS NOT NULL").scalar ?? ""))
        for (service, path) in TeamComposeProject.markerFiles {
            #expect(try await SubprocessRunner().output(of: team.compose(["exec", "-T", service, "cat", path])) == token, "\(service):\(path)")
        }
        #expect(try String(contentsOf: uploadsMarker, encoding: .utf8) == token)
        for volume in ["meilisearch-data", "minio-data", "minio-config", "strapi-data"] {
            #expect(try await team.volumeExists(volume), "\(volume)")
        }

        // search status and verify read through the service too.
        let status = try await CLI.run(["search", "status", "--project-dir", team.directory.path], environment: environment)
        #expect(status.status == 0, "\(status.standardError)")
        #expect(status.standardOutput.contains("offre-de-stage") && status.standardOutput.contains(" ok"), "\(status.standardOutput)")
        let verify = try await CLI.run(["search", "verify", "--project-dir", team.directory.path], environment: environment)
        #expect(verify.status == 0, "\(verify.standardOutput)\(verify.standardError)")
        #expect(verify.standardOutput.contains("offre-de-stage: \(published.count) rows in the database, \(published.count) documents in the index — in sync"), "\(verify.standardOutput)")
        // The same index rebuilt through `docker exec … psql`, then through libpq on the db's
        // port, holds the very same documents.
        let throughSocket = Set(meilisearch.rawDocuments(in: "offre-de-stage"))
        #expect(throughSocket.count == published.count)
        let exec = try await CLI.run(["reindex", "--index", "offre-de-stage", "--no-progress", "--project-dir", team.directory.path],
                                     environment: environment.merging(["RECETTE_COMPOSE_DB_ROUTE": "exec"]) { $1 })
        #expect(exec.status == 0, "\(exec.standardError)")
        #expect(exec.standardError.contains("documents from database 'cms-principal' of the compose service 'db' (as database-user, through docker compose exec)"), "\(exec.standardError)")
        #expect(Set(meilisearch.rawDocuments(in: "offre-de-stage")) == throughSocket)
        let port = try await CLI.run(["reindex", "--index", "offre-de-stage", "--no-progress", "--project-dir", team.directory.path],
                                     environment: environment.merging(["RECETTE_SEARCH_DATABASE_URL": team.url]) { $1 })
        #expect(port.status == 0, "\(port.standardError)")
        #expect(!port.standardError.contains("through docker compose exec") && !port.standardError.contains("through its socket"), "\(port.standardError)")
        #expect(Set(meilisearch.rawDocuments(in: "offre-de-stage")) == throughSocket)
        for output in [doctor, result, status, verify, exec, port] {
            #expect(!(output.standardOutput + output.standardError).contains(team.databasePassword))
            #expect(!(output.standardOutput + output.standardError).contains(team.meilisearchKey))
        }
    }

    @Test(arguments: ["local/postgres", "local/postgres:latest", "local/postgres:14"])
    func anUnpinnedOrOlderImageIsRefusedBeforeTheReset(image: String) async throws {
        let sample = try await SampleCache.shared.sample()
        let team = try TeamComposeProject()
        defer { team.down() }
        // The volume exists (with a marker), made by the image that works.
        try await SubprocessRunner().run(team.compose(["up", "--detach", "db"]))
        try await team.waitForDatabase()
        try PostgresConnection(url: team.url).execute("CREATE TABLE reset_marker (token text)")
        try await SubprocessRunner().run(team.compose(["stop", "db"]))
        let before = try await team.volumeCreatedAt("strapi-data")

        // --dry-run already says so when the tag names no major (an older major needs the archive read).
        let dryRun = try await CLI.run(["restore", sample.archive.path, "--target", "compose", "--dry-run", "--project-dir", team.directory.path],
                                       environment: team.cliEnvironment(["TEAM_DB_IMAGE": image]))
        #expect(dryRun.status == 0, "\(dryRun.standardError)")
        #expect(dryRun.standardOutput.contains("would stop before anything is reset: the compose service 'db' runs image '\(image)'") == !image.hasSuffix(":14"),
                "\(dryRun.standardOutput)")

        let result = try await CLI.run(["restore", sample.archive.path, "--target", "compose", "--yes", "--project-dir", team.directory.path],
                                       environment: team.cliEnvironment(["TEAM_DB_IMAGE": image]))
        #expect(result.status == 1)
        let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("runs image '\(image)'") && last.contains("image: local/postgres:15"), "\(result.standardError)")
        #expect(last.contains("nothing was reset"), "\(last)")
        if !image.hasSuffix(":14") {
            #expect(last.contains("/var/lib/postgresql/data"), "the untagged case explains PostgreSQL 18's data directory: \(last)")
        }
        #expect(try await team.volumeCreatedAt("strapi-data") == before, "the volume is untouched")
        try await SubprocessRunner().run(team.compose(["start", "db"]))
        try await team.waitForDatabase()
        #expect(try PostgresConnection(url: team.url).query("SELECT to_regclass('public.reset_marker') IS NOT NULL").scalar == "t")
    }
}

/// A copy of Tests/Fixtures/team-compose in a directory of its own (the compose project is
/// named after it), with its .env, recette.yml and bind-mounted uploads directory.
struct TeamComposeProject {
    let name = "team-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
    let port = LocalCluster.freeLoopbackPort()
    let databasePassword = "db-pass-\(UUID().uuidString.prefix(8))"
    let meilisearchKey = "meili-key-\(UUID().uuidString.prefix(8))"
    let directory: URL

    /// A file in each named volume but the db's (the CMS's bind mount is checked on the host).
    static let markerFiles = [("meilisearch", "/meili_data/recette-marker"), ("minio", "/data/recette-marker"), ("minio", "/root/.minio/recette-marker")]

    init() throws {
        directory = TestEnvironment.clusterDirectory.appendingPathComponent(name)
        let files = FileManager.default
        try files.createDirectory(at: directory.appendingPathComponent("public/uploads"), withIntermediateDirectories: true)
        for file in ["docker-compose.yml", "Dockerfile"] {
            try files.copyItem(at: TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures/team-compose/\(file)"), to: directory.appendingPathComponent(file))
        }
        // compose reads this .env (the project directory's) as a team's.
        try """
            TEAM_PREFIX=\(name)
            TEAM_DB_PORT=\(port)
            POSTGRES_PASSWORD=\(databasePassword)
            MEILI_MASTER_KEY=\(meilisearchKey)
            MINIO_ROOT_PASSWORD=minio-secret

            """.write(to: directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        // Only the compose file, and the indexes (this repository's, matching the sample: its
        // search settings and the CMS source whose model gives the indexes).
        try RepositoryConfiguration.copy(into: directory)
        let ours = try String(contentsOf: directory.appendingPathComponent("recette.yml"), encoding: .utf8)
        let search = try #require(ours.range(of: "\nsearch:\n")).lowerBound
        try ("target: compose\ncompose:\n  file: docker-compose.yml\n" + ours[search...])
            .write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
    }

    var url: String { "postgresql://database-user@127.0.0.1:\(port)/cms-principal?connect_timeout=5" }

    func cliEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        TestEnvironment.cliEnvironment.merging(extra) { $1 }
    }

    func compose(_ arguments: [String]) -> Command {
        Command("docker", ["compose", "-f", directory.appendingPathComponent("docker-compose.yml").path] + arguments, workingDirectory: directory.path)
    }

    /// No healthcheck in the file: poll like a user's script should.
    func waitForDatabase() async throws {
        for _ in 0..<120 {
            if (try? PostgresConnection(url: url).query("SELECT 1")) != nil { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw RecetteFailure("the team's db did not accept connections on 127.0.0.1:\(port) within 60 s")
    }

    func volumeCreatedAt(_ volume: String) async throws -> String? {
        let result = try await SubprocessRunner().run(Command("docker", ["volume", "inspect", "--format", "{{.CreatedAt}}", "\(name)_\(volume)"]),
                                                      input: nil, output: .collect(), onStandardErrorLine: nil, acceptedExitStatuses: [0, 1])
        return result.exitStatus == 0 ? result.outputText.trimmingCharacters(in: .whitespacesAndNewlines) : nil
    }

    func volumeExists(_ volume: String) async throws -> Bool { try await volumeCreatedAt(volume) != nil }

    func imageExists(_ image: String) async throws -> Bool {
        try await SubprocessRunner().run(Command("docker", ["image", "inspect", "--format", "{{.Id}}", image]), input: nil, output: .discard,
                                         onStandardErrorLine: nil, acceptedExitStatuses: [0, 1]).exitStatus == 0
    }

    /// `down --volumes`, synchronous for `defer`.
    func down() {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker", "compose", "-f", directory.appendingPathComponent("docker-compose.yml").path, "down", "--volumes", "--rmi", "local", "--remove-orphans", "--timeout", "5"]
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }
}
