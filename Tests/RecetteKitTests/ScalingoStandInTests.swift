import Foundation
import Logging
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// recette's Scalingo client and downloader against the loopback stand-in, which speaks the
/// documented API (token exchange, addons, addon token, backups, pre-signed archive URL) with
/// its error bodies, and injects faults.
@Suite struct ScalingoStandInTests {
    static let app = "recette-app"
    static let addonID = "ad-0123456789abcdef"

    /// A stand-in with one app, one PostgreSQL addon (and a MongoDB one) and three backups of
    /// `file`: the newest done one is "b-newest".
    struct Fixture {
        let standIn: ScalingoStandIn
        let project: URL
        let archive: URL
        let logs = LogCapture()
        let sleeps = LineCollector()
        /// What streams the archive (the API calls always go through URLSession).
        let archiveTransport: ArchiveTransport

        init(archiveBytes: Int = 3 << 20, archive: URL? = nil, archiveTransport: ArchiveTransport = .urlsession) throws {
            self.archiveTransport = archiveTransport
            standIn = try ScalingoStandIn()
            project = TestEnvironment.scratchDirectory.appendingPathComponent("recette-scalingo-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: project, withIntermediateDirectories: true)
            if let archive {
                self.archive = archive
            } else {
                self.archive = project.appendingPathComponent("source.tar.gz")
                let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
                try random.read(upToCount: archiveBytes)!.write(to: self.archive)
                try random.close()
            }
            standIn.addApp(ScalingoUnitTestsNames.app, addons: [.postgresql(id: ScalingoStandInTests.addonID), .mongodb()])
            standIn.setBackups([
                .init(id: "b-old", createdAt: "2026-11-18T03:00:00Z", name: "20261118030000_recette-app_1", archive: self.archive),
                .init(id: "b-newest", createdAt: "2026-11-20T03:00:00.654321+01:00", name: "20261120020000_recette-app_3", archive: self.archive),
                .init(id: "b-middle", createdAt: "2026-11-19T03:00:00Z", name: "20261119030000_recette-app_2", archive: self.archive),
                .init(id: "b-running", createdAt: "2026-11-21T03:00:00Z", name: "20261121030000_recette-app_4", status: "running", archive: self.archive),
            ], forAddon: ScalingoStandInTests.addonID)
        }

        var environment: [String: String] {
            standIn.environment.merging(["SCALINGO_API_TOKEN": ScalingoStandIn.defaultAPIToken, "SCALINGO_APP": ScalingoStandInTests.app]) { $1 }
        }

        var fastRetry: RetryPolicy {
            RetryPolicy(maximumAttempts: 4, baseDelay: .milliseconds(20), maximumDelay: .milliseconds(100)) { [sleeps] duration in
                sleeps.append("\(duration)")
                try await Task.sleep(for: .milliseconds(1))
            }
        }

        func context(extra: [String: String] = [:]) throws -> RecetteContext {
            var context = try TestEnvironment.machineContext(projectDirectory: project, environment: environment.merging(extra) { $1 })
            context.logger = logs.logger()
            context.archiveHTTP = archiveTransport.make()
            return context
        }

        func source(extra: [String: String] = [:]) throws -> ScalingoBackupSource {
            try ScalingoBackupSource(context: context(extra: extra), retry: fastRetry)
        }

        var cached: URL {
            project.appendingPathComponent(".recette/backups/b-newest/20261120020000_recette-app_3.tar.gz")
        }

        func expectIdentical(_ file: URL) throws {
            #expect(try Data(contentsOf: file) == Data(contentsOf: archive), "the download must be byte-identical")
        }
    }

    /// The calls the real CLI makes besides recette's, in go-scalingo's shapes.
    @Test func answersTheCLIsOwnCallsUsersSelfRegionsAndOneAddon() async throws {
        let fixture = try Fixture()
        let base = fixture.standIn.baseURL
        let basic = "Basic " + Data(":\(ScalingoStandIn.defaultAPIToken)".utf8).base64EncodedString()
        let exchanged = try await StandInClient(baseURL: base, bearer: nil).send("POST", "/auth/v1/tokens/exchange", headers: ["Authorization": basic])
        let api = StandInClient(baseURL: base, bearer: try #require(exchanged["token"] as? String))
        #expect(try await StandInClient(baseURL: base, bearer: nil).get("/auth/v1/users/self").status == 401)
        let user = try #require(try await api.get("/auth/v1/users/self")["user"] as? [String: Any])
        #expect(user["username"] is String && user["email"] is String)
        let regions = try #require(try await api.get("/auth/v1/regions")["regions"] as? [[String: Any]])
        #expect(regions.count == 1 && regions[0]["default"] as? Bool == true)
        #expect(regions[0]["api"] as? String == fixture.standIn.apiEndpoint.absoluteString)
        #expect(regions[0]["database_api"] as? String == fixture.standIn.dbEndpoint.absoluteString)
        let addon = try await api.get("/api/v1/apps/\(Self.app)/addons/\(Self.addonID)")
        #expect((addon["addon"] as? [String: Any])?["id"] as? String == Self.addonID, "\(addon)")
        #expect(((addon["addon"] as? [String: Any])?["addon_provider"] as? [String: Any])?["id"] as? String == "postgresql")
        #expect(try await api.get("/api/v1/apps/\(Self.app)/addons/ad-unknown").status == 404)
    }

    @Test func listsBackupsNewestFirstWhateverTheAPIOrder() async throws {
        let fixture = try Fixture()
        fixture.standIn.listOrder = .unfinishedFirstThenOldest
        let (addon, backups) = try await fixture.source().backups()
        #expect(addon.id == Self.addonID)
        #expect(backups.map(\.id) == ["b-running", "b-newest", "b-middle", "b-old"])
        #expect(backups[1].size == Int64(3 << 20))
    }

    @Test func reusesTheJWTUntilCloseToExpiry() async throws {
        let fixture = try Fixture()
        let source = try fixture.source()
        _ = try await source.backups()
        _ = try await source.backups()
        #expect(fixture.standIn.tokenExchangeCount == 1)
        #expect(fixture.standIn.addonTokenCount == 1)
        #expect(fixture.standIn.requestLog.allSatisfy { $0.userAgent == "recette/\(RecetteVersion.current)" })

        // A JWT that lives 4 minutes is under the 5-minute margin: exchanged every time.
        fixture.standIn.jwtLifetime = 240
        let shortLived = try fixture.source()
        _ = try await shortLived.addon()
        _ = try await shortLived.addon()
        #expect(fixture.standIn.tokenExchangeCount == 3)
    }

    @Test func revokedBearerIsRenewedOnce() async throws {
        let fixture = try Fixture()
        let source = try fixture.source()
        _ = try await source.addon()
        fixture.standIn.revokeAllTokens()
        _ = try await source.addon()
        #expect(fixture.standIn.tokenExchangeCount == 2)
    }

    @Test func anInvalidTokenIsExplainedAndNotRetried() async throws {
        let fixture = try Fixture()
        let source = try fixture.source(extra: ["SCALINGO_API_TOKEN": "tk-us-wrong-token-value"])
        do {
            _ = try await source.backups()
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "invalid API token: create one in your Scalingo account settings and put it in SCALINGO_API_TOKEN")
        }
        #expect(fixture.standIn.count(.tokenExchange) == 1)
        #expect(fixture.sleeps.all.isEmpty)
    }

    @Test func anUnknownAppIsExplained() async throws {
        let fixture = try Fixture()
        do {
            _ = try await fixture.source(extra: ["SCALINGO_APP": "no-such-app"]).backups()
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".hasPrefix("app 'no-such-app' not found in region osc-fr1"))
        }
    }

    @Test func retries429And5xxWithBackoffThenSucceeds() async throws {
        let fixture = try Fixture()
        fixture.standIn.failNext(.addons, status: 429, body: "Retry later")
        fixture.standIn.failNext(.backups, status: 502, count: 2)
        let (_, backups) = try await fixture.source().backups()
        #expect(backups.count == 4)
        #expect(fixture.standIn.count(.addons) == 2)
        #expect(fixture.standIn.count(.backups) == 3)
        #expect(fixture.sleeps.all.count == 3)
    }

    @Test func givesUpAfterABoundedNumberOfAttempts() async throws {
        let fixture = try Fixture()
        fixture.standIn.failNext(.addons, status: 503, body: #"{"error":"maintenance"}"#, count: 100)
        do {
            _ = try await fixture.source().backups()
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("after 4 attempts (HTTP 503, maintenance)"))
        }
        #expect(fixture.standIn.count(.addons) == 4)
    }

    @Test(arguments: ArchiveTransport.allCases)
    func downloadsTheNewestDoneBackupByteIdenticalThenCachesIt(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        let first = try await fixture.source().download(.newest)
        #expect(first.file == fixture.cached)
        #expect(!first.fromCache)
        try fixture.expectIdentical(first.file)
        #expect(!FileManager.default.fileExists(atPath: first.file.path + ".part"))
        // The pre-signed URL is fetched without our bearer token.
        #expect(fixture.standIn.requests(.download).allSatisfy { !$0.hadAuthorization })

        let second = try await fixture.source().download(.newest)
        #expect(second.fromCache)
        #expect(fixture.standIn.downloadCount == 1)
        #expect(fixture.standIn.count(.archiveURL) == 1)
    }

    @Test(arguments: ArchiveTransport.allCases)
    func aConnectionDroppedMidBodyIsResumedWithRange(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        fixture.standIn.dropDownloadAfter(bytes: 1 << 20)
        let result = try await fixture.source().download(.newest)
        try fixture.expectIdentical(result.file)
        let downloads = fixture.standIn.requests(.download)
        #expect(downloads.count == 2)
        #expect(downloads[0].range == nil)
        #expect(downloads[1].range == "bytes=\(1 << 20)-")
        #expect(result.bytesTransferred == Int64(3 << 20))
    }

    @Test(arguments: ArchiveTransport.allCases)
    func repeatedResetsStillFinishWhileEachAttemptMakesProgress(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        fixture.standIn.dropDownloadAfter(bytes: 700_000, always: true, reset: true)
        let result = try await fixture.source().download(.newest)
        try fixture.expectIdentical(result.file)
        #expect(fixture.standIn.downloadCount >= 5)
    }

    @Test(arguments: ArchiveTransport.allCases)
    func aServerThatIgnoresRangeMakesUsRestartFromZero(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        fixture.standIn.dropDownloadAfter(bytes: 1 << 20)
        fixture.standIn.ignoreRange = true
        let result = try await fixture.source().download(.newest)
        try fixture.expectIdentical(result.file)
        #expect(result.bytesTransferred == Int64(1 << 20) + Int64(3 << 20))
    }

    @Test(arguments: ArchiveTransport.allCases)
    func aServerThatAlwaysMakesUsStartOverEndsAfterBoundedAttempts(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        fixture.standIn.dropDownloadAfter(bytes: 1 << 20, always: true)
        fixture.standIn.ignoreRange = true
        do {
            _ = try await fixture.source().download(.newest)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("failed 4 times in a row"), "\(error)")
        }
        // The first attempt got 1 MiB; each of the next four started over and got no further.
        #expect(fixture.standIn.downloadCount == 5)
    }

    @Test(arguments: ArchiveTransport.allCases)
    func worksWithoutContentLength(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        fixture.standIn.omitContentLength = true
        try fixture.expectIdentical(try await fixture.source().download(.newest).file)
    }

    /// No size from Scalingo and no Content-Length: a body cut short (the connection closed
    /// cleanly) looks complete to HTTP. The gzip stream's own end says otherwise: the download
    /// resumes instead of caching a truncated archive as complete.
    @Test(arguments: ArchiveTransport.allCases)
    func aCutDownloadWithNoSizeGivenIsNotCachedAsComplete(_ transport: ArchiveTransport) async throws {
        let gzipped = TestEnvironment.scratchDirectory.appendingPathComponent("whole-\(UUID().uuidString.prefix(8)).tar.gz")
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        try Gzip.compress(try #require(try random.read(upToCount: 3 << 20))).write(to: gzipped)
        try random.close()
        let fixture = try Fixture(archive: gzipped, archiveTransport: transport)
        fixture.standIn.setAdvertisedSizeOverride(0, forBackup: "b-newest")  // 0: no size given
        fixture.standIn.omitContentLength = true
        fixture.standIn.dropDownloadAfter(bytes: 1 << 20)
        let result = try await fixture.source().download(.newest)
        try fixture.expectIdentical(result.file)
        #expect(Gzip.isCompleteStream(result.file))

        // A cut archive cached by an earlier run (before this check) is not trusted either.
        try Data(contentsOf: gzipped).prefix(1 << 20).write(to: fixture.cached)
        #expect(!Gzip.isCompleteStream(fixture.cached))
        let again = try await fixture.source().download(.newest)
        #expect(!again.fromCache)
        try fixture.expectIdentical(again.file)
    }

    @Test(arguments: ArchiveTransport.allCases)
    func aResumedPartialFileFromAnEarlierRunIsContinued(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        try FileManager.default.createDirectory(at: fixture.cached.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contentsOf: fixture.archive).prefix(123_457).write(to: URL(fileURLWithPath: fixture.cached.path + ".part"))
        let result = try await fixture.source().download(.newest)
        try fixture.expectIdentical(result.file)
        #expect(fixture.standIn.requests(.download).first?.range == "bytes=123457-")
    }

    @Test(arguments: [Int64(1 << 20), Int64(5 << 20)], ArchiveTransport.allCases)
    func aWrongSizeIsRefusedAndNothingIsLeftUnderTheFinalName(_ advertised: Int64, _ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        fixture.standIn.setAdvertisedSizeOverride(advertised, forBackup: "b-newest")
        do {
            _ = try await fixture.source().download(.newest)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("Scalingo says"), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.cached.path))
    }

    @Test(arguments: ArchiveTransport.allCases)
    func aDownloadThatKeepsFailingEndsClearlyWithoutAFinalFile(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        fixture.standIn.failNext(.download, status: 500, count: 100)
        do {
            _ = try await fixture.source().download(.newest)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("failed 4 times in a row (HTTP 500)"), "\(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: fixture.cached.path))
    }

    @Test func theWholeClientWorksOverCurlToo() async throws {
        let fixture = try Fixture(archiveTransport: .curl)
        var context = try fixture.context()
        context.http = CurlTransport()
        let result = try await ScalingoBackupSource(context: context, retry: fixture.fastRetry).download(.newest)
        try fixture.expectIdentical(result.file)
        let calls = fixture.standIn.requestLog
        #expect(calls.map(\.route) == [.tokenExchange, .addons, .addonToken, .backups, .archiveURL, .download])
        #expect(calls.allSatisfy { $0.status == 200 })
        #expect(calls.allSatisfy { $0.userAgent?.hasPrefix("recette/") == true })
    }

    @Test func aChosenBackupThatIsNotDoneIsRefused() async throws {
        let fixture = try Fixture()
        await #expect(throws: RecetteFailure.self) { try await fixture.source().download(.id("b-running")) }
        #expect(fixture.standIn.downloadCount == 0)
    }

    @Test(arguments: ArchiveTransport.allCases)
    func secretsNeverReachLogsOrErrors(_ transport: ArchiveTransport) async throws {
        let fixture = try Fixture(archiveTransport: transport)
        fixture.standIn.dropDownloadAfter(bytes: 1 << 20)
        fixture.standIn.failNext(.addons, status: 429, body: "Retry later")
        _ = try await fixture.source().download(.newest)
        do {
            _ = try await fixture.source(extra: ["SCALINGO_API_TOKEN": "tk-us-another-secret-value"]).backups()
        } catch {
            fixture.logs.logger().error("\(error)")
        }
        let everything = fixture.logs.text
        #expect(!everything.isEmpty)
        #expect(!everything.contains(ScalingoStandIn.defaultAPIToken))
        #expect(!everything.contains("tk-us-another-secret-value"))
        #expect(!everything.contains("eyJ"), "no JWT (they start with eyJ) in logs")
        #expect(!everything.contains("Bearer"))
    }
}

enum ScalingoUnitTestsNames {
    static let app = ScalingoStandInTests.app
}
