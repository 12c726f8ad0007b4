import Foundation
import Synchronization
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The HTTP the tool speaks, injected so tests can drive it (the real one is URLSession).
public protocol HTTPTransport: Sendable {
    /// Sends a request and collects the (small) reply body (by default, through `stream`).
    func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse)

    /// Sends a request and hands the reply body over chunk by chunk, as it arrives, so memory
    /// stays flat however large it is. `onResponse` sees the status and headers first and may
    /// throw to refuse the body. Cancelling the task cancels the transfer.
    ///
    /// Both callbacks run on the transport's own thread or queue, one call at a time. A chunk
    /// may borrow the transport's receive buffer (`CurlTransport` does, to avoid a copy): use
    /// it during the call (write it, append it somewhere) and never keep the `Data` itself.
    func stream(
        _ request: URLRequest,
        onResponse: @escaping @Sendable (HTTPURLResponse) throws -> Void,
        onChunk: @escaping @Sendable (Data) throws -> Void
    ) async throws -> HTTPURLResponse
}

extension HTTPTransport {
    /// `stream`, the body gathered: the small replies of API calls.
    public func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let body = LockedValue(Data())
        let response = try await stream(request, onResponse: { _ in }, onChunk: { chunk in body.mutate { $0.append(chunk) } })
        return (body.get(), response)
    }
}

public enum HTTPTransportError: Error, CustomStringConvertible {
    case notHTTP(URL)
    case network(host: String, reason: String)

    public var description: String {
        switch self {
        case .notHTTP(let url): "\(url.host ?? "?") did not answer with HTTP"
        case .network(let host, let reason): "cannot reach \(host): \(reason)"
        }
    }

    /// Why there was no answer, without the host (for messages that name the server).
    public var reason: String { if case .network(_, let reason) = self { reason } else { description } }
}

/// URLSession (FoundationNetworking, on libcurl). One session per transport; bodies streamed
/// through a data delegate, gathered only by `send`.
public final class URLSessionTransport: HTTPTransport, Sendable {
    private let streamingSession: URLSession
    /// Small replies of API calls: a session of its own, not the streaming one, whose
    /// delegate queue is serial (every reply's chunks through one queue made a reindex of
    /// the 37,000-entry sample 40 % slower: 4.0 s → 5.7 s).
    private let plainSession: URLSession

    public init(timeout: TimeInterval = 60) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        streamingSession = URLSession(configuration: configuration, delegate: StreamDelegate(), delegateQueue: queue)
        plainSession = URLSession(configuration: configuration)
    }

    private var streams: StreamTable { (streamingSession.delegate as! StreamDelegate).streams }

    /// Through `CancellableTransfer`, not `session.data(for:)` (see there).
    public func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let session = plainSession
        let transfer = CancellableTransfer()
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Data, URLResponse), any Error>) in
                    let task = session.dataTask(with: request) { data, response, error in
                        if let error {
                            continuation.resume(throwing: error)
                        } else if let response {
                            continuation.resume(returning: (data ?? Data(), response))
                        } else {
                            continuation.resume(throwing: HTTPTransportError.notHTTP(request.url ?? URL(fileURLWithPath: "/")))
                        }
                    }
                    transfer.start(task)
                }
            } onCancel: {
                transfer.cancel()
            }
        } catch let error as URLError {
            if error.code == .cancelled, Task.isCancelled { throw CancellationError() }
            throw HTTPTransportError.network(host: request.url?.host ?? "?", reason: error.localizedDescription)
        }
        guard let http = response as? HTTPURLResponse else { throw HTTPTransportError.notHTTP(request.url!) }
        return (data, http)
    }

    public func stream(
        _ request: URLRequest,
        onResponse: @escaping @Sendable (HTTPURLResponse) throws -> Void,
        onChunk: @escaping @Sendable (Data) throws -> Void
    ) async throws -> HTTPURLResponse {
        let session = streamingSession
        let task = session.dataTask(with: request)
        let transfer = CancellableTransfer()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                streams.insert(task.taskIdentifier, StreamState(onResponse: onResponse, onChunk: onChunk, continuation: continuation))
                transfer.start(task)
            }
        } onCancel: {
            transfer.cancel()
        }
    }
}

/// A URLSession task that a Swift task's cancellation stops without waiting: the cancel runs
/// on another queue. Not `session.data(for:)`: on Linux its cancellation handler cancels the
/// URLSession task synchronously on URLSession's work queue while holding the Swift task's
/// lock, and the work queue, completing that same request, waits for the lock to resume the
/// task: both wait forever, and with them every URLSession of the process (they share the
/// queue). Seen in the test suite. A cancel that comes before the start stops the task as
/// soon as it starts.
private final class CancellableTransfer: Sendable {
    private let state = Mutex<(task: URLSessionTask?, cancelled: Bool)>((nil, false))

    func start(_ task: URLSessionTask) {
        let cancelNow = state.withLock { state in
            state.task = task
            return state.cancelled
        }
        task.resume()
        if cancelNow { Self.cancelLater(task) }
    }

    func cancel() {
        let task: URLSessionTask? = state.withLock { state in
            state.cancelled = true
            return state.task
        }
        if let task { Self.cancelLater(task) }
    }

    private static func cancelLater(_ task: URLSessionTask) {
        DispatchQueue.global().async { task.cancel() }
    }
}

/// The streaming session's delegate: hands each transfer's response and chunks to its
/// `StreamState`, on the session's serial delegate queue.
private final class StreamDelegate: NSObject, URLSessionDataDelegate, Sendable {
    let streams = StreamTable()

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                           completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        guard let state = streams.get(dataTask.taskIdentifier) else { return completionHandler(.cancel) }
        guard let http = response as? HTTPURLResponse else {
            state.failure = HTTPTransportError.notHTTP(dataTask.originalRequest?.url ?? URL(fileURLWithPath: "/"))
            return completionHandler(.cancel)
        }
        state.response = http
        do {
            try state.onResponse(http)
            completionHandler(.allow)
        } catch {
            state.failure = error
            completionHandler(.cancel)
        }
    }

    public func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let state = streams.get(dataTask.taskIdentifier), state.failure == nil else { return }
        do {
            try state.onChunk(data)
        } catch {
            state.failure = error
            dataTask.cancel()
        }
    }

    public func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let state = streams.remove(task.taskIdentifier) else { return }
        if let failure = state.failure {
            state.continuation.resume(throwing: failure)
        } else if let error {
            if (error as? URLError)?.code == .cancelled {
                state.continuation.resume(throwing: CancellationError())
            } else {
                state.continuation.resume(throwing: HTTPTransportError.network(host: task.originalRequest?.url?.host ?? "?", reason: error.localizedDescription))
            }
        } else if let response = state.response {
            state.continuation.resume(returning: response)
        } else {
            state.continuation.resume(throwing: HTTPTransportError.notHTTP(task.originalRequest?.url ?? URL(fileURLWithPath: "/")))
        }
    }
}

/// One streamed transfer: its callbacks, its continuation, and what the delegate has seen so far.
private final class StreamState: Sendable {
    let onResponse: @Sendable (HTTPURLResponse) throws -> Void
    let onChunk: @Sendable (Data) throws -> Void
    let continuation: CheckedContinuation<HTTPURLResponse, any Error>
    private let seen = Mutex<(response: HTTPURLResponse?, failure: (any Error)?)>((nil, nil))

    init(onResponse: @escaping @Sendable (HTTPURLResponse) throws -> Void, onChunk: @escaping @Sendable (Data) throws -> Void,
         continuation: CheckedContinuation<HTTPURLResponse, any Error>) {
        self.onResponse = onResponse
        self.onChunk = onChunk
        self.continuation = continuation
    }

    var response: HTTPURLResponse? {
        get { seen.withLock { $0.response } }
        set { seen.withLock { $0.response = newValue } }
    }

    var failure: (any Error)? {
        get { seen.withLock { $0.failure } }
        set { seen.withLock { $0.failure = newValue } }
    }
}

private final class StreamTable: Sendable {
    private let states = Mutex<[Int: StreamState]>([:])
    func insert(_ id: Int, _ state: StreamState) { states.withLock { $0[id] = state } }
    func get(_ id: Int) -> StreamState? { states.withLock { $0[id] } }
    func remove(_ id: Int) -> StreamState? { states.withLock { $0.removeValue(forKey: id) } }
}

/// Which HTTP client streams backup archives to disk (RECETTE_DOWNLOAD_TRANSPORT).
/// `curl` by default: measured by scripts/bench-download.sh, URLSession on Linux delivers
/// 16 KiB chunks through its delegate queue without back-pressure (slower than curl, and
/// memory grows with the archive); libcurl writes straight from its buffer to the file.
public enum ArchiveTransport: String, CaseIterable, Sendable {
    case curl
    case urlsession

    public init(_ configuration: Configuration) throws {
        self = try configuration.choice(.downloadTransport, as: Self.self)
    }

    public func make(timeout: TimeInterval = 60) -> any HTTPTransport {
        switch self {
        case .curl: CurlTransport(timeout: timeout)
        case .urlsession: URLSessionTransport(timeout: timeout)
        }
    }
}

extension URLRequest {
    /// A request with its own timeout (seconds without an answer, or in all on Linux), which
    /// the transports honour. On Linux, FoundationNetworking applies a request's timeout only
    /// when it was set through the `timeoutInterval` property: `URLRequest(url:timeoutInterval:)`
    /// leaves the session's 60 s in force (a Strapi reindex that answers after minutes failed
    /// at 60 s; a 5 s health poll waited 60).
    public init(url: URL, timeout: TimeInterval) {
        self.init(url: url)
        self.timeoutInterval = timeout
    }
}

/// What an error reply says, as one line fit for a message: the service's own message when it
/// gave one (JSON), else the body's text; an HTML page (a proxy's 502) is named, not dumped;
/// and never the request's credentials, which some servers echo back (a debug page listing
/// the request headers).
public enum HTTPErrorBody {
    public static func summary(_ body: Data, message: String? = nil, request: URLRequest, limit: Int = 200) -> String? {
        var text = message ?? String(decoding: body.prefix(64 * 1024), as: UTF8.self)
        if message == nil, let page = htmlPage(text) { text = page }
        text = text.split(whereSeparator: { $0.isWhitespace || $0.isNewline }).joined(separator: " ")
            .filter { !$0.unicodeScalars.contains { $0.properties.generalCategory == .control } }
        for credential in credentials(of: request) {
            text = text.replacingOccurrences(of: credential, with: "***")
        }
        guard !text.isEmpty else { return nil }
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    /// "an HTML page (502 Bad Gateway)" from an HTML body, nil for anything else.
    static func htmlPage(_ text: String) -> String? {
        let start = text.drop(while: { $0.isWhitespace }).prefix(512).lowercased()
        guard start.hasPrefix("<!doctype html") || start.hasPrefix("<html") || start.contains("<html") else { return nil }
        let title = text.range(of: "<title>", options: .caseInsensitive).flatMap { open in
            text.range(of: "</title>", options: .caseInsensitive, range: open.upperBound..<text.endIndex).map { text[open.upperBound..<$0.lowerBound] }
        }.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        return "an HTML page" + (title.flatMap { $0.isEmpty ? nil : " (\($0))" } ?? "") + " instead of the service's answer (a proxy or gateway in the way?)"
    }

    /// The values of the request's credential headers (Authorization, *-Key, *-Token): whole,
    /// without their scheme, and a Basic password decoded, longest first.
    static func credentials(of request: URLRequest) -> [String] {
        var values: [String] = []
        for (name, value) in request.allHTTPHeaderFields ?? [:] {
            let lowered = name.lowercased()
            guard lowered == "authorization" || lowered.hasSuffix("key") || lowered.hasSuffix("token") else { continue }
            values.append(value)
            let parts = value.split(separator: " ", maxSplits: 1)
            if parts.count == 2 {
                values.append(String(parts[1]))
                if parts[0].lowercased() == "basic", let decoded = Data(base64Encoded: String(parts[1])).map({ String(decoding: $0, as: UTF8.self) }) {
                    values.append(decoded)
                    if let colon = decoded.firstIndex(of: ":") { values.append(String(decoded[decoded.index(after: colon)...])) }
                }
            }
        }
        return values.filter { $0.count >= 4 }.sorted { $0.count > $1.count }
    }
}
