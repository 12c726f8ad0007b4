import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// Detection of the db, CMS and Meilisearch services in what `docker compose config --format
/// json` prints for a team's file, the image pin rule, and the rows read through the service.
struct ComposeDetectionTests {
    /// The 1j1s CMS's file as compose resolves it (abridged to what recette reads).
    static let teamFile = """
        {"name": "cms", "services": {
          "strapi": {"build": {"context": "/p", "dockerfile": "Dockerfile"}, "depends_on": {"db": {"condition": "service_started"}, "minio": {"condition": "service_started"}},
                     "environment": {"DATABASE_HOST": "db", "DATABASE_NAME": "cms-principal"}, "ports": [{"mode": "ingress", "target": 1337, "published": "1337", "protocol": "tcp"}],
                     "volumes": [{"type": "bind", "source": "/p/public/uploads", "target": "/opt/app/public/uploads"}]},
          "db": {"image": "postgres", "container_name": "cms-db", "environment": {"POSTGRES_DB": "cms-principal", "POSTGRES_USER": "database-user", "POSTGRES_PASSWORD": "s3cret"},
                 "volumes": [{"type": "volume", "source": "strapi-data", "target": "/var/lib/postgresql/data/"}]},
          "meilisearch": {"image": "getmeili/meilisearch:v1.19", "environment": {"MEILI_MASTER_KEY": "mk"}, "ports": [{"target": 7700, "published": "7700"}],
                          "volumes": [{"type": "volume", "source": "meilisearch-data", "target": "/meili_data"}]},
          "minio": {"image": "minio/minio", "environment": {"MINIO_ROOT_USER": "u"}, "volumes": [{"type": "volume", "source": "minio-data", "target": "/data"}]}
        }, "volumes": {"strapi-data": {"name": "cms_strapi-data"}, "meilisearch-data": {"name": "cms_meilisearch-data"}, "minio-data": {"name": "cms_minio-data"}}}
        """

    static func configuration(_ environment: [String: String] = [:]) throws -> Configuration {
        try Configuration.load(environment: environment, projectDirectory: TestEnvironment.clusterDirectory.appendingPathComponent("detect-\(UUID().uuidString.prefix(8))"))
    }

    @Test func aTeamsFileNeedsNoNames() throws {
        let resolved = try ResolvedComposeProject.decode(Data(Self.teamFile.utf8))
        let detection = ComposeServiceDetection(resolved)
        let database = try #require(try detection.database())
        #expect(database == .init(service: "db", volume: "strapi-data", image: "postgres", user: "database-user", database: "cms-principal"))
        #expect(detection.cms(databaseService: "db") == .init(service: "strapi", healthURL: "http://127.0.0.1:1337/_health"))
        let meilisearch = try #require(detection.meilisearch())
        #expect(meilisearch.service == "meilisearch" && meilisearch.url == "http://127.0.0.1:7700" && meilisearch.masterKey?.reveal() == "mk")
        let names = try ComposeNames(configuration: Self.configuration(), resolved: resolved)
        #expect((names.dbService, names.dbVolume, names.cmsService) == ("db", "strapi-data", "strapi"))
        #expect((names.dbServiceOrigin, names.dbVolumeOrigin, names.cmsServiceOrigin) == (.detected, .detected, .detected))
        #expect(names.detectedCMSHealthURL == "http://127.0.0.1:1337/_health")
    }

    @Test func settingsWinOverWhatIsDetected() throws {
        let resolved = try ResolvedComposeProject.decode(Data(Self.teamFile.utf8))
        let names = try ComposeNames(configuration: Self.configuration(["RECETTE_DB_VOLUME": "other", "RECETTE_CMS_SERVICE": "minio",
                                                                          "RECETTE_CMS_HEALTH_URL": "http://127.0.0.1:9/_health"]), resolved: resolved)
        #expect((names.dbService, names.dbServiceOrigin) == ("db", .detected))
        #expect((names.dbVolume, names.dbVolumeOrigin) == ("other", .setting))
        #expect((names.cmsService, names.cmsServiceOrigin) == ("minio", .setting))
        #expect(names.detectedCMSHealthURL == nil)
    }

    @Test func theDataVolumeIsTheOneAtPGDATA() throws {
        let json = """
            {"name": "p", "services": {"database": {"image": "docker.io/library/postgres:16-alpine", "environment": {"PGDATA": "/pg/data/"},
              "volumes": [{"type": "volume", "source": "logs", "target": "/var/log"}, {"type": "volume", "source": "pg", "target": "/pg"}]}},
             "volumes": {"pg": {"name": "p_pg"}, "logs": {"name": "p_logs"}}}
            """
        let database = try #require(try ComposeServiceDetection(ResolvedComposeProject.decode(Data(json.utf8))).database())
        #expect(database.service == "database" && database.volume == "pg" && database.user == "postgres" && database.database == "postgres")
    }

    @Test func twoPostgreSQLServicesAreAnErrorNamingTheSetting() throws {
        let json = """
            {"name": "p", "services": {
              "db": {"image": "postgres:15", "environment": {"POSTGRES_PASSWORD": "x"}},
              "analytics-db": {"image": "postgis/postgis:15-3.4", "volumes": [{"type": "volume", "source": "a", "target": "/var/lib/postgresql/data"}]}},
             "volumes": {"a": {"name": "p_a"}}}
            """
        let resolved = try ResolvedComposeProject.decode(Data(json.utf8))
        let error = #expect(throws: RecetteFailure.self) { try ComposeNames(configuration: Self.configuration(), resolved: resolved) }
        let message = error.map { "\($0)" } ?? ""
        #expect(message.contains("2 PostgreSQL services (analytics-db, db)") && message.contains("RECETTE_DB_SERVICE") && !message.contains("\n"), "\(message)")
        // Naming one settles it.
        #expect(try ComposeNames(configuration: Self.configuration(["RECETTE_DB_SERVICE": "db"]), resolved: resolved).dbService == "db")
    }

    @Test(arguments: [
        ("postgres", 15, "image: postgres:15"), ("postgres:latest", 15, "image: postgres:15"), ("postgres:alpine", 16, "image: postgres:16"),
        ("postgres:14.9", 15, "image: postgres:15"), ("registry:5000/postgres:13@sha256:ab", 15, "image: registry:5000/postgres:15"),
    ])
    func anUnpinnedOrOlderImageIsRefusedWithTheTagToPin(image: String, archiveMajor: Int, pin: String) {
        let refusal = PostgresImagePin.refusal(image: image, service: "db", archiveMajor: archiveMajor)
        #expect(refusal?.contains(pin) == true, "\(refusal ?? "accepted")")
        #expect(refusal?.contains("'\(image)'") == true)
    }

    @Test func aPinnedImageAsNewAsTheArchiveIsAccepted() {
        #expect(PostgresImagePin.refusal(image: "postgres:15", service: "db", archiveMajor: 15) == nil)
        #expect(PostgresImagePin.refusal(image: "postgres:17-bookworm", service: "db", archiveMajor: 15) == nil)
        #expect(PostgresImagePin.refusal(image: "my-team/cms", service: "db", archiveMajor: 15) == nil, "not a postgres image: not judged")
        #expect(PostgresImagePin.major(ofServerVersion: "15.4 (Debian 15.4-1.pgdg120+1)") == 15)
    }

    @Test func psqlsCSVBecomesTheRowsLibpqWouldGive() throws {
        let csv = "id,stamp,note\nA-1,2024-01-01,\"\"\n\"B,2\",,\"say \"\"hi\"\"\nthere\"\n"
        let result = try PostgresCSV.parse(Data(csv.utf8))
        #expect(result.columns == ["id", "stamp", "note"])
        #expect(result.rows == [["A-1", "2024-01-01", ""], ["B,2", nil, "say \"hi\"\nthere"]])
        #expect(throws: RecetteFailure.self) { try PostgresCSV.parse(Data("id\n\"cut".utf8)) }
    }

    @Test func rowsThroughTheServiceCarryThePasswordByEnvironmentOnly() async throws {
        let psql = "docker exec -i -e PGPASSWORD 0f3c psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username=database-user --dbname=cms-principal"
        // One document larger than what is handed to the splitting at once: rows stay whole.
        let documents = ["{\"id\":1,\"t\":\"" + String(repeating: "x", count: CopyLineReader.handOverBytes + 100) + "\"}", "{\"id\":2}", "{\"id\":3}"]
        let runner = ScriptedRunner(["docker compose -f /p/compose.yaml ps --quiet db": .success("0f3c\n"),
                                     psql: .success("3\n" + documents.joined(separator: "\n") + "\n")])
        let project = ComposeProject(files: [URL(fileURLWithPath: "/p/compose.yaml")], workingDirectory: URL(fileURLWithPath: "/p"), runner: runner)
        let source = ComposeServiceRowSource(project: project, service: "db", user: "database-user", database: "cms-principal", password: Secret("s3cret"))
        let received = LineCollector()
        let (count, copied) = try await source.countAndCopy(countSQL: "SELECT count(*) FROM t", copySQL: "COPY (SELECT 1) TO STDOUT") { row in
            received.append(String(decoding: row, as: UTF8.self))
        }
        #expect(count == 3 && copied == 3)
        #expect(received.all == documents.map { $0 + "\n" }, "whole rows, however the pipe cut them")
        let command = try #require(runner.commands.last)
        #expect(!command.arguments.contains { $0.contains("s3cret") })
        #expect(command.environment["PGPASSWORD"] == "s3cret")
    }
}
