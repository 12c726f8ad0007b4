import Foundation
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One JSON HTTP API as recette's clients speak it (Scalingo, Meilisearch, the Strapi admin):
/// requests built one way (JSON in and out, recette's User-Agent, the Authorization header from
/// a `Secret`), sent through the injected transport with the shared retry policy where the
/// client retries, and failures sorted once. The client keeps its own knowledge: its endpoints,
/// what a status means to it (`meaning` of `send`), and the wording of its errors (`failure`).
package struct JSONAPI: Sendable {
    /// What went wrong while trying to do something, for the client to word.
    package enum Failure {
        /// No HTTP answer, after `attempts` tries.
        case unreachable(HTTPTransportError, attempts: Int)
        /// An error reply (the last one, when retried) that the client's `meaning` left alone.
        case rejected(JSONReply)
        /// A success whose body is not what was expected.
        case unreadable
    }

    package static let userAgent = "recette/\(RecetteVersion.current)"

    package var baseURL: URL
    package var transport: any HTTPTransport
    /// Applies to `retriedStatuses`, and to network failures when `retriesNetworkFailures`.
    package var retry = RetryPolicy()
    package var retriedStatuses: Set<Int> = []
    package var retriesNetworkFailures = false
    /// Seconds without an answer before a request fails; nil: the transport's own.
    package var timeout: TimeInterval?
    /// Where each retry is said; nil: nowhere.
    package var logger: Logger?
    /// The API's own message in an error reply's JSON object.
    package var errorMessage: @Sendable ([String: Any]) -> String?
    /// The client's error for a failure while trying to do `what`.
    package var failure: @Sendable (Failure, _ what: String) -> any Error

    package init(baseURL: URL, transport: any HTTPTransport, errorMessage: @escaping @Sendable ([String: Any]) -> String?,
                 failure: @escaping @Sendable (Failure, _ what: String) -> any Error) {
        self.baseURL = baseURL
        self.transport = transport
        self.errorMessage = errorMessage
        self.failure = failure
    }

    /// Scheme, host and port only: what messages show (never a path, a query or credentials).
    package var server: String {
        "\(baseURL.scheme ?? "http")://\(baseURL.host ?? "?")" + (baseURL.port.map { ":\($0)" } ?? "")
    }

    /// `path` under the base URL, with the query's items in a stable order.
    package func url(_ path: String, query: [String: String] = [:]) -> URL {
        var components = URLComponents(url: baseURL.appendingPathComponent(path), resolvingAgainstBaseURL: false)!
        if !query.isEmpty { components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) } }
        return components.url!
    }

    /// One request, retried as configured (a Retry-After wins over the policy's delay). A 2xx
    /// reply is returned; any other goes to `meaning`, which throws the client's own error for
    /// a status that means something to it, then becomes `failure(.rejected)`.
    package func send(_ method: String, _ url: URL, body: Data? = nil, headers: [String: String] = [:], authorization: Secret? = nil,
                      what: String, meaning: @Sendable (JSONReply) throws -> Void = { _ in }) async throws -> JSONReply {
        var request = URLRequest(url: url)
        if let timeout { request.timeoutInterval = timeout }
        request.httpMethod = method
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        request.setValue(Self.userAgent, forHTTPHeaderField: "User-Agent")
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let authorization { request.setValue(authorization.reveal(), forHTTPHeaderField: "Authorization") }
        let attempts = max(1, retry.maximumAttempts)
        for attempt in 1...attempts {
            try Task.checkCancellation()
            let reply: JSONReply
            do {
                let (data, response) = try await transport.send(request)
                reply = JSONReply(data: data, response: response, request: request, errorMessage: errorMessage)
            } catch let error as HTTPTransportError {
                guard retriesNetworkFailures, attempt < attempts else { throw failure(.unreachable(error, attempts: attempt), what) }
                try await pause(after: attempt, of: attempts, reason: error.description, retryAfter: nil, what)
                continue
            }
            if (200..<300).contains(reply.status) { return reply }
            if retriedStatuses.contains(reply.status), attempt < attempts {
                let retryAfter = reply.response.value(forHTTPHeaderField: "Retry-After").flatMap { Int($0) }
                try await pause(after: attempt, of: attempts, reason: "HTTP \(reply.status)", retryAfter: retryAfter, what)
                continue
            }
            try meaning(reply)
            throw failure(.rejected(reply), what)
        }
        preconditionFailure("the last attempt returns or throws")
    }

    /// The body decoded, or the client's error for an unreadable reply to `what`.
    package func decode<T: Decodable>(_ data: Data, what: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch { throw failure(.unreadable, what) }
    }

    private func pause(after attempt: Int, of attempts: Int, reason: String, retryAfter: Int?, _ what: String) async throws {
        logger?.warning("\(what): \(reason); attempt \(attempt) of \(attempts)")
        try await retry.sleep(retry.delay(afterAttempt: attempt, retryAfterSeconds: retryAfter))
    }
}

/// A reply of a `JSONAPI`, with what its error body says.
package struct JSONReply {
    package var data: Data
    package var response: HTTPURLResponse
    /// The request it answers: its credentials are kept out of `message`.
    package var request: URLRequest
    fileprivate var errorMessage: @Sendable ([String: Any]) -> String?

    package var status: Int { response.statusCode }

    /// The body as a JSON object; nil when it is not one.
    package var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] }

    /// The API's own message, as its JSON error body gives it.
    package var apiMessage: String? { object.flatMap(errorMessage) }

    /// That message (else the body's text) as one line fit for an error, credentials scrubbed.
    package var message: String? { HTTPErrorBody.summary(data, message: apiMessage, request: request) }
}

extension HTTPTransportError {
    /// Why the request got no answer, without the host (messages name the server themselves).
    package var reason: String {
        if case .network(_, let reason) = self { return reason }
        return description
    }
}
