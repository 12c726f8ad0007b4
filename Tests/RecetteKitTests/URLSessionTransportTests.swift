import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// URLSessionTransport (and, for cancelling, CurlTransport too) against a loopback server:
/// cancelling a request stops it promptly and never waits on URLSession's shared work queue
/// (FoundationNetworking's `data(for:)` can deadlock there when a cancel meets the request's
/// completion).
@Suite struct URLSessionTransportTests {
    /// Both transports (the archive one and the API one): a cancel ends a request waiting for
    /// its answer with `CancellationError`, promptly.
    @Test(arguments: ArchiveTransport.allCases)
    func cancellingTheTaskAbortsAWaitingRequest(_ kind: ArchiveTransport) async throws {
        let release = DispatchSemaphore(value: 0)
        let arrived = LockedValue(false)
        let server = try LoopbackHTTPServer { _ in
            arrived.set(true)
            _ = release.wait(timeout: .now() + 10)  // answers only when released (or after 10 s)
            return .text(200, "too late")
        }
        defer {
            release.signal()
            server.stop()
        }
        let transport = kind.make()
        let task = Task { try await transport.send(URLRequest(url: server.baseURL)) }
        // Cancelled once the server holds the request, not before it was sent.
        for _ in 0..<2_000 where !arrived.get() { try await Task.sleep(for: .milliseconds(5)) }
        try #require(arrived.get(), "the request never reached the server")
        let cancelled = ContinuousClock.now
        task.cancel()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        // A liveness bound: without the cancel the request waits for the server forever.
        #expect(ContinuousClock.now - cancelled < .seconds(20))
    }

    /// Cancels land before, during and after the replies; every request ends, one way or the
    /// other, and the transport still works afterwards.
    @Test func cancelsRacingRepliesNeverHang() async throws {
        let server = try LoopbackHTTPServer { _ in .text(200, "ok") }
        defer { server.stop() }
        let transport = URLSessionTransport(timeout: 10)
        var answered = 0
        for round in 0..<300 {
            let task = Task { try await transport.send(URLRequest(url: server.baseURL)) }
            if round % 3 != 0 { try await Task.sleep(for: .microseconds(50 * (round % 40))) }
            task.cancel()
            switch await task.result {
            case .success(let (data, response)):
                #expect(response.statusCode == 200 && data == Data("ok".utf8))
                answered += 1
            case .failure(let error):
                #expect(error is CancellationError, "\(error)")
            }
        }
        let (data, _) = try await transport.send(URLRequest(url: server.baseURL))
        #expect(data == Data("ok".utf8))
        #expect(answered < 300, "some cancels arrived in time")
    }

    /// A request's own timeout wins over the session's, both ways (FoundationNetworking
    /// ignores `URLRequest(url:timeoutInterval:)`'s value: the slow request failed at the
    /// session's 1 s, the hanging one waited the session's 30 s).
    @Test func aRequestsOwnTimeoutIsHonouredLongerAndShorter() async throws {
        let release = DispatchSemaphore(value: 0)
        let server = try LoopbackHTTPServer { request in
            if request.path == "/hang" {
                _ = release.wait(timeout: .now() + 30)
                return .text(200, "released")
            }
            Thread.sleep(forTimeInterval: 2.5)
            return .text(200, "slow")
        }
        defer {
            release.signal()
            server.stop()
        }
        let (data, _) = try await URLSessionTransport(timeout: 1).send(URLRequest(url: server.baseURL, timeout: 10))
        #expect(data == Data("slow".utf8), "answered after 2.5 s, within the request's 10 s")

        let start = ContinuousClock.now
        await #expect(throws: HTTPTransportError.self) {
            _ = try await URLSessionTransport(timeout: 30).send(URLRequest(url: server.baseURL.appendingPathComponent("hang"), timeout: 1))
        }
        #expect(ContinuousClock.now - start < .seconds(15), "gave up after the request's 1 s, not the session's 30 s")
    }
}
