import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// CurlTransport against a bare loopback server: requests as sent, responses as seen,
/// streaming, refusal, cancellation and failures.
@Suite struct CurlTransportTests {
    @Test func sendsMethodHeadersAndBodyAndReadsTheReply() async throws {
        let received = Received()
        let server = try LoopbackHTTPServer { request in
            received.append(request)
            return .json(201, ["ok": true], headers: [("X-Thing", "a"), ("X-Thing", "b")])
        }
        defer { server.stop() }
        var request = URLRequest(url: server.baseURL.appendingPathComponent("v1/things"))
        request.httpMethod = "POST"
        request.httpBody = Data(#"{"name":"x"}"#.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("recette/test", forHTTPHeaderField: "User-Agent")
        let (body, response) = try await CurlTransport().send(request)
        #expect(response.statusCode == 201)
        #expect(response.value(forHTTPHeaderField: "content-type") == "application/json; charset=utf-8")
        #expect(response.value(forHTTPHeaderField: "X-Thing") == "a, b")
        #expect(String(decoding: body, as: UTF8.self) == #"{"ok":true}"#)
        let seen = try #require(received.all.first)
        #expect(seen.method == "POST")
        #expect(seen.path == "/v1/things")
        #expect(String(decoding: seen.body, as: UTF8.self) == #"{"name":"x"}"#)
        #expect(seen.header("user-agent") == "recette/test")
        #expect(seen.header("expect") == nil)
        #expect(seen.header("authorization") == nil)
    }

    @Test func streamsALargeBodyInChunksAndShowsTheResponseFirst() async throws {
        let file = TestEnvironment.scratchDirectory.appendingPathComponent("recette-curl-\(UUID().uuidString)")
        let content = Data((0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) })
        try content.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let server = try LoopbackHTTPServer { _ in HTTPResponse(status: 200, body: .file(file)) }
        defer { server.stop() }

        let log = LockedValue<[String]>([])
        let collected = LockedValue(Data())
        let response = try await CurlTransport().stream(URLRequest(url: server.baseURL.appendingPathComponent("f")), onResponse: { response in
            log.mutate { $0.append("response \(response.statusCode) \(response.value(forHTTPHeaderField: "Content-Length") ?? "-")") }
        }, onChunk: { chunk in
            #expect(chunk.count <= 512 << 10)
            log.mutate { $0.append("chunk") }
            collected.mutate { $0.append(chunk) }
        })
        #expect(response.statusCode == 200)
        #expect(collected.get() == content)
        #expect(log.get().first == "response 200 \(6 << 20)")
        #expect(log.get().dropFirst().allSatisfy { $0 == "chunk" })
        #expect(log.get().count > 2)
    }

    @Test func anErrorThrownByOnResponseStopsTheTransferAndIsRethrown() async throws {
        struct Refused: Error {}
        let server = try LoopbackHTTPServer { _ in .text(416, "no such range") }
        defer { server.stop() }
        let chunks = LockedValue(0)
        await #expect(throws: Refused.self) {
            _ = try await CurlTransport().stream(URLRequest(url: server.baseURL), onResponse: { response in
                if response.statusCode == 416 { throw Refused() }
            }, onChunk: { _ in chunks.mutate { $0 += 1 } })
        }
        #expect(chunks.get() == 0)
    }

    @Test func aBodyCutShortIsANetworkError() async throws {
        let server = try LoopbackHTTPServer { _ in
            HTTPResponse(status: 200, body: .data(Data(repeating: 7, count: 1 << 20)), dropConnectionAfterBytes: 1000)
        }
        defer { server.stop() }
        let received = LockedValue(0)
        await #expect(throws: HTTPTransportError.self) {
            _ = try await CurlTransport().stream(URLRequest(url: server.baseURL), onResponse: { _ in },
                                                 onChunk: { chunk in received.mutate { $0 += chunk.count } })
        }
        #expect(received.get() == 1000)
    }

    @Test func nobodyListeningIsANetworkError() async throws {
        // Bind a port, then free it: nothing listens there any more.
        let server = try LoopbackHTTPServer { _ in .text(200, "") }
        let url = server.baseURL
        server.stop()
        await #expect(throws: HTTPTransportError.self) { _ = try await CurlTransport().send(URLRequest(url: url)) }
    }

    // Cancelling a waiting transfer: URLSessionTransportTests, for both transports.

    @Test func aStalledTransferTimesOut() async throws {
        let release = DispatchSemaphore(value: 0)
        let server = try LoopbackHTTPServer { _ in
            _ = release.wait(timeout: .now() + 10)
            return .text(200, "too late")
        }
        defer {
            release.signal()
            server.stop()
        }
        await #expect(throws: HTTPTransportError.self) { _ = try await CurlTransport(timeout: 1).send(URLRequest(url: server.baseURL)) }
    }

    @Test func theConfiguredTransportIsCurlUnlessToldOtherwise() throws {
        let project = FileManager.default.temporaryDirectory
        #expect(try ArchiveTransport(Configuration.load(environment: [:], projectDirectory: project)) == .curl)
        #expect(try ArchiveTransport(Configuration.load(environment: ["RECETTE_DOWNLOAD_TRANSPORT": "urlsession"], projectDirectory: project)) == .urlsession)
        // Refused as the configuration loads, before any transport is made.
        #expect(throws: ConfigurationError.self) {
            try ArchiveTransport(Configuration.load(environment: ["RECETTE_DOWNLOAD_TRANSPORT": "wget"], projectDirectory: project))
        }
    }
}
