import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// Error replies become one line: no HTML dump, no echoed credentials.
@Suite struct HTTPErrorBodyTests {
    /// Answers from a script; a request the script does not expect fails the test (fail closed).
    struct ScriptedTransport: HTTPTransport {
        var reply: @Sendable (URLRequest) -> (Int, String)?
        func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
            guard let (status, body) = reply(request), let url = request.url,
                  let response = HTTPURLResponse(url: url, statusCode: status, httpVersion: "HTTP/1.1", headerFields: [:]) else {
                Issue.record("unexpected request \(request.httpMethod ?? "?") \(request.url?.absoluteString ?? "?")")
                throw CancellationError()
            }
            return (Data(body.utf8), response)
        }
        func stream(_ request: URLRequest, onResponse: @escaping @Sendable (HTTPURLResponse) throws -> Void,
                    onChunk: @escaping @Sendable (Data) throws -> Void) async throws -> HTTPURLResponse {
            Issue.record("unexpected stream of \(request.url?.absoluteString ?? "?")")
            throw CancellationError()
        }
    }

    static let apiToken = "tk-us-error-body-token-0123456789"
    static let bearer = "bearer-from-the-exchange-abcdefgh"

    static func client(answering addons: @escaping @Sendable (URLRequest) -> (Int, String)) -> ScalingoClient {
        let base = URL(string: "http://127.0.0.1:9")!
        let transport = ScriptedTransport { request in
            if request.url?.path.hasSuffix("tokens/exchange") == true { return (200, #"{"token": "\#(bearer)"}"#) }
            if request.url?.path.hasSuffix("/addons") == true { return addons(request) }
            return nil
        }
        return ScalingoClient(endpoints: ScalingoEndpoints(auth: base, api: base, database: base), region: "osc-fr1",
                              apiToken: Secret(apiToken), transport: transport,
                              retry: RetryPolicy(maximumAttempts: 2, sleep: { _ in }), logger: Logger(label: "test"))
    }

    @Test func aProxysHTMLPageIsNamedNotDumped() async throws {
        let page = "<!DOCTYPE html>\n<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
        let error = try await #require(throws: ScalingoError.self) { try await Self.client { _ in (502, page) }.addons(app: "my-app") }
        let message = error.description
        #expect(!message.contains("\n") && !message.contains("<"), "\(message)")
        #expect(message.contains("an HTML page (502 Bad Gateway)"), "\(message)")
    }

    @Test func aBodyEchoingTheAuthorizationHeaderIsNotPrinted() async throws {
        let echo: @Sendable (URLRequest) -> (Int, String) = { request in
            (422, "bad request; headers were:\nAuthorization: \(request.value(forHTTPHeaderField: "Authorization") ?? "")\nAccept: */*")
        }
        let error = try await #require(throws: ScalingoError.self) { try await Self.client(answering: echo).addons(app: "my-app") }
        let message = error.description
        #expect(!message.contains(Self.bearer) && !message.contains("\n"), "\(message)")
        #expect(message.contains("Authorization: ***"), "\(message)")

        // A Basic header, its base64 and the password inside it.
        var request = URLRequest(url: URL(string: "http://127.0.0.1:9/v1/tokens/exchange")!)
        let basic = Data(":\(Self.apiToken)".utf8).base64EncodedString()
        request.setValue("Basic " + basic, forHTTPHeaderField: "Authorization")
        let summary = try #require(HTTPErrorBody.summary(Data("echo: Basic \(basic) / token \(Self.apiToken)".utf8), request: request))
        #expect(!summary.contains(basic) && !summary.contains(Self.apiToken), "\(summary)")
    }
}
