import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The Meilisearch stand-in read by a client nobody here wrote: the official Python SDK
/// (`meilisearch` on PyPI), through every call recette makes (Tests/Fixtures/meilisearch-sdk-calls.py).
/// Skipped only where python3 or the SDK is missing and the run does not require everything
/// (scripts/test.sh sets RECETTE_REQUIRE_DOCKER=1: there a missing SDK fails).
@Suite struct MeilisearchSDKTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/Fixtures/meilisearch-sdk-calls.py")
    static let missing = "python3 or the Meilisearch Python SDK is missing (scripts/install-test-prereqs.sh installs it)"

    /// python3 can import the SDK.
    static let sdkAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import meilisearch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// What the script checks, in order: one line per call, so a call it never reached fails.
    static let calls = [
        "GET /health", "GET /version", "POST /indexes", "GET /indexes/{uid}", "GET /indexes?limit&offset",
        "PATCH /indexes/{uid}/settings", "GET /indexes/{uid}/settings",
        "POST /indexes/{uid}/documents (NDJSON)", "POST /indexes/{uid}/documents (gzip NDJSON)",
        "GET /indexes/{uid}/stats", "GET /stats",
        "GET /indexes/{uid}/documents?fields&offset&limit", "POST /indexes/{uid}/documents/fetch", "GET /indexes/{uid}/documents/{id}",
        "POST /indexes/{uid}/search", "POST /indexes/{uid}/documents/delete-batch",
        "GET /tasks/{uid}", "GET /tasks?indexUids&statuses&limit", "POST /tasks/cancel?indexUids&statuses",
        "POST /swap-indexes", "DELETE /indexes/{uid}", "error bodies (404, 403, 400, failed task)", "413 payload_too_large",
    ].map { "ok: \($0)" }

    @Test(.enabled(if: sdkAvailable || ProcessInfo.processInfo.environment["RECETTE_REQUIRE_DOCKER"] == "1", "\(missing)"))
    func theOfficialPythonSDKReadsEveryAnswerOfTheCallsRecetteMakes() async throws {
        try #require(Self.sdkAvailable, "\(Self.missing)")
        let payloadLimit = 200_000
        // Tasks stay processing 200 ms: long enough for the script's cancelation to find them.
        let standIn = try MeilisearchStandIn(masterKey: "sdkKey", payloadLimitBytes: payloadLimit, taskProcessingDelay: .milliseconds(200))
        defer { standIn.stop() }
        let result = try await CLI.collect(
            Command("/usr/bin/env", ["python3", Self.script.path, standIn.baseURL.absoluteString, "sdkKey", String(payloadLimit)]),
            currentDirectory: TestEnvironment.newProjectDirectory())
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.split(separator: "\n").map(String.init) == Self.calls, "\(result.standardOutput)\(result.standardError)")
        #expect(standIn.requestLog.allSatisfy { $0.route != .notImplemented }, "the SDK reached a route the stand-in lacks")
    }
}
