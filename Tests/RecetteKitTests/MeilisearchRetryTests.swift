import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The Meilisearch client retries a busy server (429, 503) with the shared RetryPolicy, whose
/// sleep the test injects: no real pause.
@Suite struct MeilisearchRetryTests {
    @Test func aBusyServerIsAskedAgainWithTheInjectedPausesThenAnswers() async throws {
        let answered = LockedValue(0)
        let server = try LoopbackHTTPServer { _ in
            let count = answered.get() + 1
            answered.set(count)
            return count <= 2 ? .json(count == 1 ? 429 : 503, ["code": "busy", "message": "try later"]) : .json(200, ["uid": "offers", "primaryKey": "id"])
        }
        defer { server.stop() }
        let pauses = LockedValue<[Duration]>([])
        var client = MeilisearchClient(baseURL: server.baseURL, apiKey: nil, transport: URLSessionTransport())
        client.retry = RetryPolicy(maximumAttempts: 4, baseDelay: .seconds(30), maximumDelay: .seconds(60)) { pause in pauses.mutate { $0.append(pause) } }
        let started = ContinuousClock.now
        let index = try await client.index("offers")
        #expect(index == MeilisearchIndex(uid: "offers", primaryKey: "id"))
        #expect(answered.get() == 3)
        #expect(pauses.get().count == 2)
        #expect(pauses.get().allSatisfy { $0 >= .seconds(15) }, "the policy's delays, not a fixed pause: \(pauses.get())")
        #expect(ContinuousClock.now - started < .seconds(15), "the injected sleep, not a real one")
    }

    /// The shared plumbing's rule, as for Scalingo: a Retry-After wins over the policy's delay.
    @Test func aRetryAfterIsHonoured() async throws {
        let answered = LockedValue(0)
        let server = try LoopbackHTTPServer { _ in
            answered.mutate { $0 += 1 }
            return answered.get() == 1 ? .json(429, ["code": "busy", "message": "try later"], headers: [("Retry-After", "3")])
                : .json(200, ["uid": "offers", "primaryKey": "id"])
        }
        defer { server.stop() }
        let pauses = LockedValue<[Duration]>([])
        var client = MeilisearchClient(baseURL: server.baseURL, apiKey: nil, transport: URLSessionTransport())
        client.retry = RetryPolicy(maximumAttempts: 4, baseDelay: .seconds(30), maximumDelay: .seconds(60)) { pause in pauses.mutate { $0.append(pause) } }
        #expect(try await client.index("offers") == MeilisearchIndex(uid: "offers", primaryKey: "id"))
        #expect(pauses.get() == [.seconds(3)])
    }

    @Test func aServerStillBusyAfterTheLastAttemptIsAnError() async throws {
        let server = try LoopbackHTTPServer { _ in .json(503, ["code": "busy", "message": "try later"]) }
        defer { server.stop() }
        let pauses = LockedValue(0)
        var client = MeilisearchClient(baseURL: server.baseURL, apiKey: nil, transport: URLSessionTransport())
        client.retry = RetryPolicy(maximumAttempts: 3) { _ in pauses.mutate { $0 += 1 } }
        await #expect(throws: MeilisearchError.self) { _ = try await client.index("offers") }
        #expect(pauses.get() == 2)
    }
}
