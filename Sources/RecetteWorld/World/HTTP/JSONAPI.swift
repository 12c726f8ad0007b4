import Foundation
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One JSON HTTP API as recette's clients speak it (Scalingo, Meilisearch, the Strapi admin):
/// requests built one way (JSON, recette's User-Agent, the Authorization header from a
/// `Secret`, never logged), sent through the injected transport with the shared retry policy
/// where the client retries, and failures sorted once. The client keeps its own knowledge: its
/// endpoints, what a status means to it (`meaning` of `send`), the wording of its errors (`failure`).
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
    /// For `retriedStatuses`, and network failures when `retriesNetworkFailures`.
    package var retry: RetryPolicy
    package var retriedStatuses: Set<Int>
    package var retriesNetworkFailures: Bool
    /// Seconds without an answer before a request fails; nil: the transport's own.
    package var timeout: TimeInterval?
    /// Where retries are said.
    package var logger: Logger?
    /// The API's own message in an error reply's JSON object.
    package var errorMessage: @Sendable ([String: Any]) -> String?
    /// The client's error for a failure while trying to do `what`.
    package var failure: @Sendable (Failure, _ what: String) -> any Error

    package init(baseURL: URL, transport: any HTTPTransport, retry: RetryPolicy = RetryPolicy(), retriedStatuses: Set<Int> = [],
                 retriesNetworkFailures: Bool = false, timeout: TimeInterval? = nil, logger: Logger? = nil,
                 errorMessage: @escaping @Sendable ([String: Any]) -> String?, failure: @escaping @Sendable (Failure, _ what: String) -> any Error) {
        (self.baseURL, self.transport, self.retry, self.retriedStatuses) = (baseURL, transport, retry, retriedStatuses)
        (self.retriesNetworkFailures, self.timeout, self.logger) = (retriesNetworkFailures, timeout, logger)
        (self.errorMessage, self.failure) = (errorMessage, failure)
    }

    /// Scheme, host and port only: what messages show (never a path, a query or credentials).
    package static func server(_ url: URL) -> String { "\(url.scheme ?? "http")://\(url.host ?? "?")" + (url.port.map { ":\($0)" } ?? "") }

    /// One request, retried as configured (a Retry-After wins over the policy's delay). A 2xx
    /// reply is returned; any other goes to `meaning`, which throws the client's own error for
    /// a status that means something to it, then becomes `failure(.rejected)`.
    package func send(_ method: String, _ url: URL, body: Data? = nil, headers: [String: String?] = [:], authorization: Secret? = nil,
                      what: String, meaning: @Sendable (JSONReply) throws -> Void = { _ in }) async throws -> JSONReply {
        var request = URLRequest(url: url)
        if let timeout { request.timeoutInterval = timeout }
        request.httpMethod = method
        request.httpBody = body
        let fixed = ["Accept": "application/json", "User-Agent": Self.userAgent, "Content-Type": body == nil ? nil : "application/json"]
        for (name, value) in fixed.merging(headers, uniquingKeysWith: { $1 ?? $0 }) { request.setValue(value, forHTTPHeaderField: name) }
        request.setValue(authorization?.reveal(), forHTTPHeaderField: "Authorization")
        let attempts = max(1, retry.maximumAttempts)
        for attempt in 1...attempts {
            try Task.checkCancellation()
            let retrying: (reason: String, after: Int?)
            do {
                let (data, response) = try await transport.send(request)
                let reply = JSONReply(data: data, response: response, request: request, errorMessage: errorMessage)
                if (200..<300).contains(reply.status) { return reply }
                guard retriedStatuses.contains(reply.status), attempt < attempts else {
                    try meaning(reply)
                    throw failure(.rejected(reply), what)
                }
                retrying = ("HTTP \(reply.status)", response.value(forHTTPHeaderField: "Retry-After").flatMap { Int($0) })
            } catch let error as HTTPTransportError {
                guard retriesNetworkFailures, attempt < attempts else { throw failure(.unreachable(error, attempts: attempt), what) }
                retrying = (error.description, nil)
            }
            logger?.warning("\(what): \(retrying.reason); attempt \(attempt) of \(attempts)")
            try await retry.sleep(retry.delay(afterAttempt: attempt, retryAfterSeconds: retrying.after))
        }
        preconditionFailure("the last attempt returns or throws")
    }

    /// The body decoded, or the client's error for an unreadable reply to `what`.
    package func decode<T: Decodable>(_ data: Data, what: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch { throw failure(.unreadable, what) }
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
    package var object: [String: Any]? { (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] }
    /// The API's own message, as its JSON error body gives it.
    package var apiMessage: String? { object.flatMap(errorMessage) }
    /// That message (else the body's text) as one line fit for an error, credentials scrubbed.
    package var message: String? { HTTPErrorBody.summary(data, message: apiMessage, request: request) }
}
