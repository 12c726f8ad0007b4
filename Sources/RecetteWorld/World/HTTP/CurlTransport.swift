import CCurl
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// libcurl's easy interface, one transfer per call on a thread of its own: the body goes from
/// libcurl's receive buffer to `onChunk` on that thread, in chunks of up to `bufferSize`,
/// with no copy and no hop to another queue. libcurl only reads from the socket again when
/// `onChunk` has returned, so a slow disk slows the transfer down instead of piling chunks
/// up in memory (URLSession on Linux queues every 16 KiB chunk to its delegate queue, with
/// no such back-pressure). Used for backup archives; the small API calls stay on
/// `URLSessionTransport`.
///
/// Cancelling the task aborts the transfer (through libcurl's progress callback) and throws
/// `CancellationError`. Network failures, including a stall of `timeout` seconds without a
/// byte, throw `HTTPTransportError.network`.
public final class CurlTransport: HTTPTransport, Sendable {
    /// Connect timeout, and how long a transfer may go without receiving a byte.
    public let timeout: TimeInterval
    /// libcurl's receive buffer (CURLOPT_BUFFERSIZE): the largest chunk handed to `onChunk`.
    public let bufferSize: Int

    public init(timeout: TimeInterval = 60, bufferSize: Int = 512 << 10) {
        self.timeout = timeout
        self.bufferSize = min(max(bufferSize, 16 << 10), 512 << 10)
    }

    private static let globalInit: CURLcode = recette_curl_global_init()

    public func stream(
        _ request: URLRequest,
        onResponse: @escaping @Sendable (HTTPURLResponse) throws -> Void,
        onChunk: @escaping @Sendable (Data) throws -> Void
    ) async throws -> HTTPURLResponse {
        guard let url = request.url, let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw HTTPTransportError.notHTTP(request.url ?? URL(fileURLWithPath: "/"))
        }
        guard Self.globalInit == CURLE_OK else {
            throw HTTPTransportError.network(host: url.host ?? "?", reason: "libcurl could not be initialised")
        }
        try Task.checkCancellation()
        let transfer = try CurlTransfer(request: request, url: url, timeout: timeout, bufferSize: bufferSize,
                                        onResponse: onResponse, onChunk: onChunk)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPURLResponse, any Error>) in
                // curl_easy_perform blocks: a thread of its own, never one of the cooperative pool.
                let thread = Thread { continuation.resume(with: transfer.perform()) }
                thread.name = "recette.curl"
                thread.start()
            }
        } onCancel: {
            transfer.cancel()
        }
    }
}

/// One transfer: the easy handle, its options, and what the callbacks gather.
/// Callbacks run on the transfer's thread only; `cancel()` may come from any thread.
private final class CurlTransfer: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let url: URL
    private let onResponse: @Sendable (HTTPURLResponse) throws -> Void
    private let onChunk: @Sendable (Data) throws -> Void
    private let cancelled = LockedValue(false)

    // Touched by the callbacks, on the transfer's thread.
    private var statusLine = ""
    private var headers: [(String, String)] = []
    private var response: HTTPURLResponse?
    private var failure: (any Error)?

    init(request: URLRequest, url: URL, timeout: TimeInterval, bufferSize: Int,
         onResponse: @escaping @Sendable (HTTPURLResponse) throws -> Void,
         onChunk: @escaping @Sendable (Data) throws -> Void) throws {
        guard let handle = curl_easy_init() else {
            throw HTTPTransportError.network(host: url.host ?? "?", reason: "libcurl could not create a transfer")
        }
        self.handle = handle
        self.url = url
        self.onResponse = onResponse
        self.onChunk = onChunk
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        do {
            try configure(request, timeout: timeout, bufferSize: bufferSize)
        } catch {
            release()
            throw error
        }
    }

    private func release() {
        curl_easy_cleanup(handle)
        if let headerList { curl_slist_free_all(headerList) }
        headerList = nil
        errorBuffer.deallocate()
    }

    private func check(_ code: CURLcode, _ what: String) throws {
        guard code == CURLE_OK else {
            throw HTTPTransportError.network(host: url.host ?? "?", reason: "libcurl refused \(what): \(String(cString: curl_easy_strerror(code)))")
        }
    }

    private func configure(_ request: URLRequest, timeout: TimeInterval, bufferSize: Int) throws {
        let me = Unmanaged.passUnretained(self).toOpaque()
        try check(recette_curl_setopt_string(handle, CURLOPT_URL, url.absoluteString), "the URL")
        try check(recette_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"), "protocols")
        try check(recette_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"), "protocols")
        try check(recette_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 1), "redirects")
        try check(recette_curl_setopt_long(handle, CURLOPT_MAXREDIRS, 5), "redirects")
        try check(recette_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "no signals")
        try check(recette_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer), "the error buffer")
        try check(recette_curl_setopt_long(handle, CURLOPT_BUFFERSIZE, bufferSize), "the buffer size")
        // Timeouts: to connect, and without a byte received (like URLSession's request timeout).
        let seconds = max(1, Int(timeout.rounded(.up)))
        try check(recette_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT, seconds), "the connect timeout")
        try check(recette_curl_setopt_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1), "the stall timeout")
        try check(recette_curl_setopt_long(handle, CURLOPT_LOW_SPEED_TIME, seconds), "the stall timeout")

        try check(recette_curl_setopt_write_callback(handle, CURLOPT_HEADERFUNCTION, curlHeaderCallback), "the header callback")
        try check(recette_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, me), "the header callback")
        try check(recette_curl_setopt_write_callback(handle, CURLOPT_WRITEFUNCTION, curlWriteCallback), "the write callback")
        try check(recette_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, me), "the write callback")
        // The progress callback is where a cancelled task aborts the transfer, even while
        // nothing arrives (libcurl calls it about once a second then).
        try check(recette_curl_setopt_xferinfo_callback(handle, curlProgressCallback), "the progress callback")
        try check(recette_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, me), "the progress callback")
        try check(recette_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 0), "the progress callback")

        let method = (request.httpMethod ?? "GET").uppercased()
        switch method {
        case "GET":
            try check(recette_curl_setopt_long(handle, CURLOPT_HTTPGET, 1), "GET")
        case "HEAD":
            try check(recette_curl_setopt_long(handle, CURLOPT_NOBODY, 1), "HEAD")
        default:
            try check(recette_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method), "the method")
        }
        if method != "GET" && method != "HEAD" {
            let body = request.httpBody ?? Data()
            try check(recette_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "the body")
            // COPYPOSTFIELDS copies POSTFIELDSIZE bytes; an empty body still needs a pointer.
            if body.isEmpty {
                try check(recette_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, ""), "the body")
            } else {
                try body.withUnsafeBytes { bytes in
                    try check(recette_curl_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, bytes.baseAddress!.assumingMemoryBound(to: CChar.self)), "the body")
                }
            }
        }

        // No `Expect: 100-continue` round trip; no `Accept: */*` unless asked for.
        var lines = ["Expect:", "Accept:"]
        for (name, value) in request.allHTTPHeaderFields ?? [:] {
            lines.removeAll { $0.lowercased() == name.lowercased() + ":" }
            lines.append(value.isEmpty ? "\(name);" : "\(name): \(value)")
        }
        for line in lines {
            guard let appended = curl_slist_append(headerList, line) else {
                throw HTTPTransportError.network(host: url.host ?? "?", reason: "out of memory for request headers")
            }
            headerList = appended
        }
        try check(recette_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList), "the headers")
    }

    func cancel() { cancelled.set(true) }
    var isCancelled: Bool { cancelled.get() }

    /// Runs the transfer to its end, then frees the handle. Call once.
    func perform() -> Result<HTTPURLResponse, any Error> {
        defer { release() }
        let code = curl_easy_perform(handle)
        if isCancelled { return .failure(CancellationError()) }
        if let failure { return .failure(failure) }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            let reason = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            return .failure(HTTPTransportError.network(host: url.host ?? "?", reason: reason))
        }
        // A reply without a body (HEAD, 204, an empty file) has not been shown yet.
        guard deliverResponse() else { return .failure(failure ?? HTTPTransportError.notHTTP(url)) }
        guard let response else { return .failure(HTTPTransportError.notHTTP(url)) }
        return .success(response)
    }

    // MARK: Callbacks

    func receivedHeaderLine(_ bytes: UnsafeRawBufferPointer) {
        // Without its CR LF (bytes: a String sees "\r\n" as one Character).
        var end = bytes.count
        while end > 0, bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D { end -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        if line.hasPrefix("HTTP/") {
            // A new header block: an interim 1xx or a redirect came before.
            statusLine = line
            headers = []
        } else if let colon = line.firstIndex(of: ":") {
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            headers.append((name, value))
        }
    }

    /// Shows the response to `onResponse` once. False when it refused the body.
    func deliverResponse() -> Bool {
        if response != nil { return failure == nil }
        var status = 0
        _ = recette_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var effective: UnsafeMutablePointer<CChar>?
        _ = recette_curl_getinfo_string(handle, CURLINFO_EFFECTIVE_URL, &effective)
        let responseURL = effective.flatMap { URL(string: String(cString: $0)) } ?? url
        var fields: [String: String] = [:]
        for (name, value) in headers {
            if let key = fields.keys.first(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
                fields[key] = fields[key]! + ", " + value
            } else {
                fields[name] = value
            }
        }
        let version = statusLine.split(separator: " ").first.map(String.init) ?? "HTTP/1.1"
        guard let made = HTTPURLResponse(url: responseURL, statusCode: status, httpVersion: version, headerFields: fields) else {
            failure = HTTPTransportError.notHTTP(url)
            return false
        }
        response = made
        do {
            try onResponse(made)
            return true
        } catch {
            failure = error
            return false
        }
    }

    /// False aborts the transfer.
    func receivedBody(_ bytes: UnsafeMutableRawBufferPointer) -> Bool {
        guard !isCancelled, failure == nil, deliverResponse() else { return false }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        do {
            // libcurl's own buffer, lent for the duration of the call (see HTTPTransport.stream).
            try onChunk(Data(bytesNoCopy: base, count: bytes.count, deallocator: .none))
            return true
        } catch {
            failure = error
            return false
        }
    }
}

private func transfer(_ userData: UnsafeMutableRawPointer?) -> CurlTransfer {
    Unmanaged<CurlTransfer>.fromOpaque(userData!).takeUnretainedValue()
}

private let curlHeaderCallback: curl_write_callback = { data, size, count, userData in
    let length = size * count
    transfer(userData).receivedHeaderLine(UnsafeRawBufferPointer(start: data, count: length))
    return length
}

private let curlWriteCallback: curl_write_callback = { data, size, count, userData in
    let length = size * count
    // Anything but `length` makes libcurl stop with CURLE_WRITE_ERROR.
    return transfer(userData).receivedBody(UnsafeMutableRawBufferPointer(start: data, count: length)) ? length : 0
}

private let curlProgressCallback: curl_xferinfo_callback = { userData, _, _, _, _ in
    transfer(userData).isCancelled ? 1 : 0
}
