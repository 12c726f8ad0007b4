import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct ScalingoUnitTests {
    let addons = [
        ScalingoAddon(id: "ad-pg-1", providerID: "postgresql"),
        ScalingoAddon(id: "ad-mongo-1", providerID: "mongodb"),
    ]

    @Test(arguments: ["postgresql", "psql", "pgsql", "postgres", "PostgreSQL", "ad-pg-1", "scalingo-postgresql"])
    func addonNamesAndAliasesFindThePostgresAddon(_ name: String) throws {
        #expect(try AddonResolver.resolve(name, among: addons, app: "my-app").id == "ad-pg-1")
    }

    @Test func legacyProviderIDIsPostgresToo() throws {
        let legacy = [ScalingoAddon(id: "ad-old", providerID: "scalingo-postgresql")]
        #expect(try AddonResolver.resolve("postgresql", among: legacy, app: "a").id == "ad-old")
    }

    @Test func zeroOrSeveralMatchesListWhatTheAppHas() {
        do {
            _ = try AddonResolver.resolve("redis", among: addons, app: "my-app")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "app 'my-app' has no addon matching ADDON_NAME='redis'; it has: ad-pg-1 (postgresql), ad-mongo-1 (mongodb)")
        }
        let two = addons + [ScalingoAddon(id: "ad-pg-2", providerID: "postgresql")]
        do {
            _ = try AddonResolver.resolve("psql", among: two, app: "my-app")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("has 2 addons matching ADDON_NAME='psql'"))
            #expect("\(error)".contains("ad-pg-2 (postgresql)"))
        }
    }

    static func backup(_ id: String, _ created: String, _ status: String = "done") -> ScalingoBackup {
        ScalingoBackup(id: id, createdAt: ScalingoTimestamp.parse(created)!, name: id, size: 10, status: status, method: "periodic")
    }

    @Test func newestDoneBackupByDateNotByAPIOrder() throws {
        let listed = [  // oldest first, with unfinished ones on top, as some APIs answer
            Self.backup("running", "2026-11-22T03:00:00Z", "running"),
            Self.backup("failed", "2026-11-21T03:00:00Z", "error"),
            Self.backup("old", "2026-11-18T03:00:00Z"),
            Self.backup("newest", "2026-11-20T03:00:00.123456+01:00"),
            Self.backup("middle", "2026-11-19T03:00:00Z"),
        ]
        #expect(try BackupChoice.newest.select(from: listed, addonID: "ad-1").id == "newest")
        #expect(try BackupChoice.day("2026-11-19").select(from: listed, addonID: "ad-1").id == "middle")
        #expect(try BackupChoice.id("old").select(from: listed, addonID: "ad-1").id == "old")
        #expect(throws: RecetteFailure.self) { try BackupChoice.day("2026-11-22").select(from: listed, addonID: "ad-1") }
        do {
            _ = try BackupChoice.id("running").select(from: listed, addonID: "ad-1")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "backup running is 'running', not 'done'; wait for it to finish or pick another with 'recette backups'")
        }
        #expect(throws: RecetteFailure.self) { try BackupChoice.newest.select(from: [Self.backup("r", "2026-11-22T03:00:00Z", "running")], addonID: "ad-1") }
    }

    @Test func timestampsWithAnyFractionAndOffset() {
        #expect(ScalingoTimestamp.parse("2026-11-20T03:00:00Z") == Date(timeIntervalSince1970: 1_795_143_600))
        #expect(ScalingoTimestamp.parse("2026-11-20T04:00:00+01:00") == Date(timeIntervalSince1970: 1_795_143_600))
        #expect(ScalingoTimestamp.parse("2026-11-20T03:00:00.5Z")!.timeIntervalSince1970 == 1_795_143_600.5)
        #expect(ScalingoTimestamp.parse("2026-11-20T03:00:00.123456789Z") != nil)
        #expect(ScalingoTimestamp.parse("yesterday") == nil)
        #expect(BackupChoice.isValidDay("2026-11-20") && !BackupChoice.isValidDay("2026-13-01") && !BackupChoice.isValidDay("20/11/2026"))
    }

    @Test func backoffGrowsIsBoundedAndHonoursRetryAfter() {
        let policy = RetryPolicy(maximumAttempts: 6, baseDelay: .milliseconds(100), maximumDelay: .seconds(2))
        for attempt in 1...10 {
            let delay = policy.delay(afterAttempt: attempt)
            #expect(delay <= .seconds(2))
            #expect(delay >= .milliseconds(50))
        }
        #expect(policy.delay(afterAttempt: 1) <= .milliseconds(100))
        #expect(policy.delay(afterAttempt: 1, retryAfterSeconds: 1) == .seconds(1))
        #expect(policy.delay(afterAttempt: 1, retryAfterSeconds: 3600) == .seconds(2))
    }

    @Test func jwtExpiryIsReadFromThePayload() {
        let payload = Data(#"{"exp":1795143600,"iss":"x"}"#.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
        #expect(BearerToken.expiry(ofJWT: "e30.\(payload).sig") == Date(timeIntervalSince1970: 1_795_143_600))
        let notJWT = BearerToken("opaque", issuedAt: Date(timeIntervalSince1970: 0))
        #expect(notJWT.expiresAt == Date(timeIntervalSince1970: 3000))
        #expect(!BearerToken("opaque", issuedAt: Date()).isFresh(at: Date().addingTimeInterval(46 * 60)))
    }

    @Test func regionsAndOverrides() throws {
        let defaults = try ScalingoEndpoints.resolve(region: "osc-secnum-fr1", authOverride: nil, apiOverride: nil, databaseOverride: nil)
        #expect(defaults.api.absoluteString == "https://api.osc-secnum-fr1.scalingo.com")
        #expect(defaults.database.absoluteString == "https://db-api.osc-secnum-fr1.scalingo.com")
        #expect(defaults.auth.absoluteString == "https://auth.scalingo.com")
        #expect(throws: ConfigurationError.self) { try ScalingoEndpoints.resolve(region: "us-east-1", authOverride: nil, apiOverride: nil, databaseOverride: nil) }
        #expect(throws: ConfigurationError.self) { try ScalingoEndpoints.resolve(region: "osc-fr1", authOverride: "not a url", apiOverride: nil, databaseOverride: nil) }
    }

    @Test func humanSizes() {
        #expect(ByteCount.human(512) == "512 B")
        #expect(ByteCount.human(1536) == "1.5 KiB")
        #expect(ByteCount.human(1_503_238_553) == "1.4 GiB")
    }
}
