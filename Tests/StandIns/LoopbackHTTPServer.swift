// A small HTTP/1.1 server on POSIX sockets, for tests only.
//
// It listens on 127.0.0.1 with a port chosen by the OS, accepts on a background thread and
// serves each connection on its own thread. It never connects anywhere.
//
// Only Foundation and the C library are used, so it can be compiled into any test target
// (or with a bare `swiftc`).

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RecetteWorld

// MARK: - Public types

/// One parsed request.
public struct HTTPRequest: Sendable {
    /// Upper-case method as sent (`GET`, `POST`, `HEAD`, ...).
    public var method: String
    /// Percent-encoded path, without the query string (e.g. `/api/v1/apps/my-app/addons`).
    public var path: String
    /// Decoded query parameters (`+` is read as a space). The last value wins for a repeated name.
    public var query: [String: String]
    /// Header fields with lower-cased names. Repeated fields are joined with `", "`.
    public var headers: [String: String]
    /// The whole body (Content-Length or chunked), empty when there is none.
    public var body: Data
    /// The request target exactly as sent (path and query).
    public var target: String
    /// `HTTP/1.1` or `HTTP/1.0`.
    public var httpVersion: String

    public init(
        method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
        body: Data = Data(), target: String? = nil, httpVersion: String = "HTTP/1.1"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.target = target ?? path
        self.httpVersion = httpVersion
    }

    /// Header value by case-insensitive name.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// What to send as a response body.
public enum HTTPResponseBody: Sendable {
    case data(Data)
    /// The whole file, streamed from disk in 1 MiB chunks (constant memory).
    case file(URL)
    /// `length` bytes of the file starting at `offset`, streamed like `.file`.
    case fileRange(URL, offset: Int64, length: Int64)

    public static var empty: HTTPResponseBody { .data(Data()) }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Extra header fields, sent in order. `Content-Length` and `Connection` are added by the
    /// server unless present here (a `Content-Length` given here is sent as is, even if wrong).
    public var headers: [(String, String)]
    public var body: HTTPResponseBody
    /// Fault hook: after sending this many body bytes, close the connection (the client sees a
    /// truncated body). `0` closes right after the header block.
    public var dropConnectionAfterBytes: Int?
    /// With `dropConnectionAfterBytes`: send a TCP RST (SO_LINGER 0) instead of a FIN. With a
    /// RST, the client may lose bytes that were sent but not yet read, so the number of bytes it
    /// receives is not exact; a FIN (the default) delivers exactly `dropConnectionAfterBytes`.
    public var dropWithReset: Bool
    /// Fault hook: send no `Content-Length`; the body is then delimited by closing the connection.
    public var omitContentLength: Bool
    /// Fault hook: send nothing at all and close the connection (a RST with `dropWithReset`), as
    /// a server that dies while handling the request would. The client sees no response.
    public var closeWithoutResponse = false

    public init(
        status: Int, headers: [(String, String)] = [], body: HTTPResponseBody = .empty,
        dropConnectionAfterBytes: Int? = nil, dropWithReset: Bool = false, omitContentLength: Bool = false
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.dropConnectionAfterBytes = dropConnectionAfterBytes
        self.dropWithReset = dropWithReset
        self.omitContentLength = omitContentLength
    }

    /// A response with a text body (`text/plain; charset=utf-8` unless `contentType` says otherwise).
    public static func text(
        _ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8",
        headers: [(String, String)] = []
    ) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)] + headers, body: .data(Data(text.utf8)))
    }

    /// A response with a JSON body serialised from `object` (JSONSerialization types).
    public static func json(_ status: Int, _ object: Any, headers: [(String, String)] = []) -> HTTPResponse {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return HTTPResponse(
            status: status, headers: [("Content-Type", "application/json; charset=utf-8")] + headers, body: .data(data))
    }

    public func headerValue(_ name: String) -> String? {
        headers.first { $0.0.caseInsensitiveCompare(name) == .orderedSame }?.1
    }

    /// No response: the connection is closed as soon as the request has been read.
    public static func noResponse(reset: Bool = false) -> HTTPResponse {
        var response = HTTPResponse(status: 0, dropWithReset: reset)
        response.closeWithoutResponse = true
        return response
    }
}

public struct LoopbackHTTPServerError: Error, CustomStringConvertible, Sendable {
    public var operation: String
    public var code: Int32
    public var description: String { "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))" }
}

// MARK: - Server

/// An HTTP/1.1 server bound to 127.0.0.1 on an OS-chosen port.
///
/// The handler runs on the connection's thread, once per request; it must be thread-safe.
/// Connections are kept alive between requests unless the client asks otherwise, the response
/// carries `Connection: close`, or a fault hook needs the connection closed.
/// `stop()` (or releasing the server) closes the listening socket and every open connection.
public final class LoopbackHTTPServer: Sendable {
    private let core: ServerCore

    /// The default bound on a request body (64 MiB).
    public static let defaultMaxBodyBytes = 64 * 1024 * 1024

    /// - Parameters:
    ///   - keepAlive: reuse connections between requests (HTTP/1.1 persistent connections).
    ///     With `false`, every response carries `Connection: close`.
    ///   - idleTimeout: how long an idle keep-alive connection waits for the next request.
    ///   - port: the loopback port to listen on; 0 lets the OS choose a free one.
    ///   - maxBodyBytes: request bodies larger than this are refused before being read (the
    ///     connection is then closed).
    ///   - bodyTooLargeResponse: what such a refusal answers; a plain-text 413 when nil.
    public init(
        keepAlive: Bool = true, idleTimeout: TimeInterval = 60, port: Int = 0,
        maxBodyBytes: Int = LoopbackHTTPServer.defaultMaxBodyBytes, bodyTooLargeResponse: HTTPResponse? = nil,
        handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) throws {
        core = try ServerCore(
            keepAlive: keepAlive, idleTimeout: idleTimeout, port: port, maxBodyBytes: maxBodyBytes,
            bodyTooLarge: bodyTooLargeResponse, handler: handler)
        core.start()
    }

    deinit { core.stop() }

    /// The port the OS chose.
    public var port: Int { core.port }

    /// `http://127.0.0.1:PORT`
    public var baseURL: URL { URL(string: "http://127.0.0.1:\(core.port)")! }

    /// Number of connections accepted so far.
    public var acceptedConnections: Int { core.acceptedConnections }

    /// Stops accepting, closes every open connection and waits (up to 5 s) for the connection
    /// threads to finish. Idempotent. Do not call it from inside the handler.
    public func stop() { core.stop() }

    /// Shuts down every open connection (idle keep-alive ones included), as a server that
    /// crashed would. Safe to call from inside the handler; the handler's own connection is
    /// closed too, so answer it with `.noResponse()`.
    public func dropConnections() { core.dropConnections() }

    /// Fault hook: close each new connection as soon as it is accepted, before any request
    /// (the client sees "empty reply" at once). Clients that retry on a fresh connection
    /// (libcurl does, for a request whose connection dropped) then fail fast instead of
    /// waiting on an idle connection.
    public var closesConnectionsOnAccept: Bool {
        get { core.state.withLock { $0.closeOnAccept } }
        set { core.state.withLock { $0.closeOnAccept = newValue } }
    }
}

// MARK: - Internals

/// A lock-protected value, shareable between threads.
final class LoopbackLocked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

private enum Sys {
    static var sockStream: Int32 {
        #if canImport(Glibc) || canImport(Musl)
        Int32(SOCK_STREAM.rawValue)
        #else
        SOCK_STREAM
        #endif
    }

    static var sendFlags: Int32 {
        #if canImport(Glibc) || canImport(Musl)
        Int32(MSG_NOSIGNAL)
        #else
        0
        #endif
    }

    static func setCloseOnExec(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFD)
        if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
    }

    static func setIntOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    static func noSigPipe(_ fd: Int32) {
        #if canImport(Darwin)
        setIntOption(fd, SOL_SOCKET, SO_NOSIGPIPE, 1)
        #endif
    }

    static func setReceiveTimeout(_ fd: Int32, seconds: TimeInterval) {
        var tv = timeval()
        tv.tv_sec = Int(seconds)
        tv.tv_usec = .init(Int((seconds - Double(Int(seconds))) * 1_000_000))
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func setLingerZero(_ fd: Int32) {
        var l = linger()
        l.l_onoff = 1
        l.l_linger = 0
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    }

    static func makePipe() -> (Int32, Int32)? {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        setCloseOnExec(fds[0])
        setCloseOnExec(fds[1])
        return (fds[0], fds[1])
    }
}

private final class ServerCore: Sendable {
    struct State {
        var stopped = false
        var connections: Set<Int32> = []
        var liveThreads = 0
        var accepted = 0
        var closeOnAccept = false
    }

    let listenFD: Int32
    let wakeRead: Int32
    let wakeWrite: Int32
    let port: Int
    let keepAlive: Bool
    let idleTimeout: TimeInterval
    let maxBodyBytes: Int
    let bodyTooLarge: HTTPResponse?
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    let state = LoopbackLocked(State())
    let acceptThreadDone = DispatchSemaphore(value: 0)
    let threadsDone = NSCondition()

    init(
        keepAlive: Bool, idleTimeout: TimeInterval, port requestedPort: Int, maxBodyBytes: Int,
        bodyTooLarge: HTTPResponse?, handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse
    ) throws {
        guard (0...65535).contains(requestedPort) else {
            throw LoopbackHTTPServerError(operation: "bind 127.0.0.1:\(requestedPort)", code: EINVAL)
        }
        self.keepAlive = keepAlive
        self.idleTimeout = idleTimeout
        self.maxBodyBytes = maxBodyBytes
        self.bodyTooLarge = bodyTooLarge
        self.handler = handler

        let fd = socket(AF_INET, Sys.sockStream, 0)
        guard fd >= 0 else { throw LoopbackHTTPServerError(operation: "socket", code: errno) }
        Sys.setCloseOnExec(fd)
        Sys.setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)

        var addr = sockaddr_in()
        #if canImport(Darwin)
        addr.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(requestedPort)).bigEndian
        addr.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian  // 127.0.0.1
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            close(fd)
            throw LoopbackHTTPServerError(operation: "bind 127.0.0.1:\(requestedPort)", code: code)
        }
        guard listen(fd, 128) == 0 else {
            let code = errno
            close(fd)
            throw LoopbackHTTPServerError(operation: "listen", code: code)
        }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else {
            let code = errno
            close(fd)
            throw LoopbackHTTPServerError(operation: "getsockname", code: code)
        }
        guard let (r, w) = Sys.makePipe() else {
            let code = errno
            close(fd)
            throw LoopbackHTTPServerError(operation: "pipe", code: code)
        }
        listenFD = fd
        wakeRead = r
        wakeWrite = w
        port = Int(UInt16(bigEndian: actual.sin_port))
    }

    var acceptedConnections: Int { state.withLock { $0.accepted } }

    func start() {
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "LoopbackHTTPServer.accept:\(port)"
        thread.start()
    }

    private func acceptLoop() {
        defer {
            close(listenFD)
            acceptThreadDone.signal()
        }
        while true {
            var fds = [
                pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
                pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 || state.withLock({ $0.stopped }) { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let client = accept(listenFD, nil, nil)
            if client < 0 {
                let code = errno
                if code == EINTR || code == EAGAIN || code == ECONNABORTED || code == EWOULDBLOCK { continue }
                if code == EMFILE || code == ENFILE { usleep(10_000); continue }
                return
            }
            Sys.setCloseOnExec(client)
            Sys.noSigPipe(client)
            Sys.setIntOption(client, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
            let admitted = state.withLock { s -> Bool in
                if s.stopped || s.closeOnAccept { return false }
                s.connections.insert(client)
                s.liveThreads += 1
                s.accepted += 1
                return true
            }
            guard admitted else {
                close(client)
                if state.withLock({ $0.stopped }) { return }
                continue
            }
            let thread = Thread { [self] in
                let connection = Connection(fd: client, core: self)
                connection.serve()
                finish(client)
            }
            thread.name = "LoopbackHTTPServer.conn:\(port)"
            thread.start()
        }
    }

    /// Closes a connection's socket under the lock, so `stop()` never shuts down a reused fd number.
    func finish(_ fd: Int32) {
        state.withLock { s in
            s.connections.remove(fd)
            close(fd)
            s.liveThreads -= 1
        }
        threadsDone.lock()
        threadsDone.broadcast()
        threadsDone.unlock()
    }

    func stop() {
        let first = state.withLock { s -> Bool in
            if s.stopped { return false }
            s.stopped = true
            return true
        }
        guard first else { return }
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
        acceptThreadDone.wait()
        close(wakeWrite)
        close(wakeRead)
        state.withLock { s in
            for fd in s.connections { shutdown(fd, Int32(SHUT_RDWR)) }
        }
        let deadline = Date().addingTimeInterval(5)
        threadsDone.lock()
        while state.withLock({ $0.liveThreads }) > 0 && Date() < deadline {
            _ = threadsDone.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
        }
        threadsDone.unlock()
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    /// Under the lock, so that a closed fd number is never shut down after being reused.
    func dropConnections() {
        state.withLock { s in
            for fd in s.connections { shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }
}

/// One accepted connection, served on its own thread.
private final class Connection {
    let fd: Int32
    let core: ServerCore
    var buffer: [UInt8] = []  // bytes received but not consumed yet
    static let maxHeaderBytes = 64 * 1024
    static let chunkSize = 1 << 20
    var maxBodyBytes: Int { core.maxBodyBytes }

    init(fd: Int32, core: ServerCore) {
        self.fd = fd
        self.core = core
    }

    enum ReadError: Error {
        case closed  // clean EOF or socket error
        case bad(Int, String)  // answer this status, then close
        case bodyTooLarge  // answer 413 (the server's configured response), then close
    }

    func serve() {
        Sys.setReceiveTimeout(fd, seconds: core.idleTimeout)
        while !core.isStopped {
            let request: HTTPRequest
            do {
                guard let r = try readRequest() else { return }
                request = r
            } catch ReadError.bad(let status, let message) {
                _ = send(HTTPResponse.text(status, message + "\n"), for: nil, keepOpen: false)
                gracefulClose()
                return
            } catch ReadError.bodyTooLarge {
                _ = send(core.bodyTooLarge ?? HTTPResponse.text(413, "Content Too Large\n"), for: nil, keepOpen: false)
                gracefulClose()
                return
            } catch {
                return
            }
            let response = core.handler(request)
            if response.closeWithoutResponse {
                if response.dropWithReset { Sys.setLingerZero(fd) }
                return  // the connection thread closes the socket
            }
            let clientWantsClose =
                request.header("connection")?.lowercased().contains("close") == true
                || (request.httpVersion == "HTTP/1.0"
                    && request.header("connection")?.lowercased().contains("keep-alive") != true)
            let handlerWantsClose = response.headerValue("Connection")?.lowercased().contains("close") == true
            let keepOpen = core.keepAlive && !clientWantsClose && !handlerWantsClose
            switch send(response, for: request, keepOpen: keepOpen) {
            case .keepOpen:
                continue
            case .close:
                gracefulClose()
                return
            case .abort:
                return
            }
        }
    }

    // MARK: Reading

    private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

    /// Receives more bytes into `buffer`. Returns false on EOF, error or idle timeout.
    private func fill() -> Bool {
        while true {
            let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: scratch[0..<n])
                return true
            }
            if n < 0 && errno == EINTR { continue }
            return false
        }
    }

    private func indexOfHeaderEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4)
        where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func readRequest() throws -> HTTPRequest? {
        // Tolerate stray CRLFs between requests (RFC 9112 §2.2).
        var headerEnd: Int?
        while true {
            while buffer.first == 13 || buffer.first == 10 { buffer.removeFirst() }
            if let end = indexOfHeaderEnd() {
                headerEnd = end
                break
            }
            if buffer.count > Self.maxHeaderBytes { throw ReadError.bad(431, "Request Header Fields Too Large") }
            guard fill() else {
                if buffer.isEmpty { return nil }
                throw ReadError.closed
            }
        }
        guard let end = headerEnd,
            let head = String(bytes: buffer[0..<end], encoding: .utf8) ?? String(bytes: buffer[0..<end], encoding: .isoLatin1)
        else { throw ReadError.bad(400, "Bad Request") }
        buffer.removeFirst(end + 4)

        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        guard requestLine.count == 3, requestLine[2].hasPrefix("HTTP/1.") else {
            throw ReadError.bad(400, "Bad Request: malformed request line")
        }
        let method = String(requestLine[0])
        let target = String(requestLine[1])
        let version = String(requestLine[2])

        var headers: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw ReadError.bad(400, "Bad Request: malformed header") }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if let existing = headers[name] { headers[name] = existing + ", " + value } else { headers[name] = value }
        }

        var path = target
        var query: [String: String] = [:]
        if let q = target.firstIndex(of: "?") {
            path = String(target[..<q])
            query = Self.parseQuery(String(target[target.index(after: q)...]))
        }
        // An absolute-form target (proxies): keep the path only.
        if path.hasPrefix("http://"), let url = URL(string: path) {
            path = url.path.isEmpty ? "/" : url.path
        }

        // Refuse an announced oversized body before inviting the client to send it.
        if headers["transfer-encoding"] == nil, let cl = headers["content-length"], let length = Int(cl),
            length > maxBodyBytes
        {
            throw ReadError.bodyTooLarge
        }
        if headers["expect"]?.lowercased() == "100-continue" {
            guard writeAll(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) else { throw ReadError.closed }
        }

        var body = Data()
        if let te = headers["transfer-encoding"]?.lowercased(), te != "identity" {
            guard te.hasSuffix("chunked") else { throw ReadError.bad(501, "Transfer-Encoding not supported") }
            body = try readChunkedBody()
        } else if let cl = headers["content-length"] {
            guard let length = Int(cl), length >= 0 else { throw ReadError.bad(400, "Bad Request: Content-Length") }
            guard length <= maxBodyBytes else { throw ReadError.bodyTooLarge }
            while buffer.count < length {
                guard fill() else { throw ReadError.closed }
            }
            body = Data(buffer[0..<length])
            buffer.removeFirst(length)
        }

        return HTTPRequest(
            method: method, path: path, query: query, headers: headers, body: body, target: target,
            httpVersion: version)
    }

    private func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                var lineBytes = buffer[0..<i]
                if lineBytes.last == 13 { lineBytes = lineBytes.dropLast() }
                let line = String(decoding: lineBytes, as: UTF8.self)
                buffer.removeFirst(i + 1)
                return line
            }
            if buffer.count > Self.maxHeaderBytes { throw ReadError.bad(400, "Bad Request: chunk line") }
            guard fill() else { throw ReadError.closed }
        }
    }

    private func readChunkedBody() throws -> Data {
        var body = Data()
        while true {
            let sizeLine = try readLine()
            let hex = sizeLine.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(hex, radix: 16), size >= 0 else { throw ReadError.bad(400, "Bad Request: chunk size") }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailers
                return body
            }
            guard body.count + size <= maxBodyBytes else { throw ReadError.bodyTooLarge }
            while buffer.count < size + 2 {
                guard fill() else { throw ReadError.closed }
            }
            body.append(contentsOf: buffer[0..<size])
            buffer.removeFirst(size + 2)
        }
    }

    static func parseQuery(_ string: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in string.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                let spaced = s.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }

    // MARK: Writing

    enum Outcome { case keepOpen, close, abort }

    /// Writes all bytes, handling partial writes and EINTR. False when the peer is gone.
    @discardableResult
    private func writeAll(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = sysSend(bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false  // EPIPE, ECONNRESET, shut down by stop(), ...
            }
        }
        return true
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { writeAll($0) } }

    private func sysSend(_ ptr: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc) || canImport(Musl)
        return Glibc.send(fd, ptr, count, Sys.sendFlags)
        #else
        return Darwin.send(fd, ptr, count, Sys.sendFlags)
        #endif
    }

    /// Sends a response. `request` is nil for errors raised while parsing.
    private func send(_ response: HTTPResponse, for request: HTTPRequest?, keepOpen wantKeepOpen: Bool) -> Outcome {
        let isHead = request?.method == "HEAD"
        let bodyless = isHead || response.status / 100 == 1 || response.status == 204 || response.status == 304

        // Open the file first, so a missing file becomes a 500 rather than a broken response.
        var fileFD: Int32 = -1
        var fileOffset: Int64 = 0
        var bodyLength: Int64 = 0
        switch response.body {
        case .data(let data):
            bodyLength = Int64(data.count)
        case .file(let url), .fileRange(let url, _, _):
            fileFD = open(url.path, O_RDONLY | O_CLOEXEC)
            var st = stat()
            guard fileFD >= 0, fstat(fileFD, &st) == 0 else {
                if fileFD >= 0 { close(fileFD) }
                return send(
                    .text(500, "stand-in: cannot open \(url.path): \(String(cString: strerror(errno)))\n"),
                    for: request, keepOpen: wantKeepOpen)
            }
            if case .fileRange(_, let offset, let length) = response.body {
                fileOffset = max(0, offset)
                bodyLength = max(0, min(length, Int64(st.st_size) - fileOffset))
            } else {
                bodyLength = Int64(st.st_size)
            }
        }
        defer { if fileFD >= 0 { close(fileFD) } }

        let drop = bodyless ? nil : response.dropConnectionAfterBytes
        let closeDelimited = response.omitContentLength && !bodyless
        let keepOpen = wantKeepOpen && drop == nil && !closeDelimited

        var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
        var hasLength = false
        var hasDate = false
        for (name, value) in response.headers {
            let lower = name.lowercased()
            if lower == "connection" { continue }
            if lower == "content-length" {
                if response.omitContentLength { continue }
                hasLength = true
            }
            if lower == "date" { hasDate = true }
            head += "\(name): \(value)\r\n"
        }
        if !hasDate { head += "Date: \(Self.httpDate(Date()))\r\n" }
        if !hasLength && !response.omitContentLength && response.status / 100 != 1 && response.status != 204 {
            head += "Content-Length: \(bodyLength)\r\n"
        }
        head += keepOpen ? "Connection: keep-alive\r\n" : "Connection: close\r\n"
        head += "\r\n"

        var out = Array(head.utf8)
        if bodyless || drop == 0 {
            guard writeAll(out) else { return .abort }
            if drop == 0 { return hardClose(reset: response.dropWithReset) }
            return keepOpen ? .keepOpen : .close
        }

        let limit = drop.map { min(Int64($0), bodyLength) } ?? bodyLength
        switch response.body {
        case .data(let data):
            out.append(contentsOf: data.prefix(Int(limit)))
            guard writeAll(out) else { return .abort }
        case .file, .fileRange:
            // Small files go out with the header in one write; large ones in 1 MiB chunks.
            guard writeAll(out) else { return .abort }
            if !streamFile(fileFD, from: fileOffset, count: limit) { return .abort }
        }
        if drop != nil { return hardClose(reset: response.dropWithReset) }
        return keepOpen ? .keepOpen : .close
    }

    private func streamFile(_ file: Int32, from start: Int64, count: Int64) -> Bool {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 4096)
        defer { chunk.deallocate() }
        var position = start
        var remaining = count
        while remaining > 0 {
            let want = Int(min(Int64(Self.chunkSize), remaining))
            let n = pread(file, chunk.baseAddress, want, off_t(position))
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }  // file shrank or read error: cut the response short
            guard writeAll(UnsafeRawBufferPointer(rebasing: chunk[0..<n])) else { return false }
            position += Int64(n)
            remaining -= Int64(n)
        }
        return true
    }

    /// Closes now: the connection thread then releases the fd. With `reset`, the peer gets a RST.
    private func hardClose(reset: Bool) -> Outcome {
        if reset {
            Sys.setLingerZero(fd)
            return .abort
        }
        shutdown(fd, Int32(SHUT_WR))
        return .abort
    }

    /// FIN first, then drain what the client still sends (briefly), so that closing does not
    /// turn into a RST that could destroy response bytes the client has not read yet.
    /// The answer first, then what the client still sends is read and dropped until it stops:
    /// closing with unread bytes would reset the connection, and a client still sending (a
    /// 2 MB batch refused with 413, on a loaded machine) would see a broken pipe instead of the
    /// answer. Bounded: 256 MiB, or 2 s without a byte.
    private func gracefulClose() {
        shutdown(fd, Int32(SHUT_WR))
        Sys.setReceiveTimeout(fd, seconds: 2)
        var sink = [UInt8](repeating: 0, count: 64 * 1024)
        var drained = 0
        while drained < 256 << 20 {
            let n = sink.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { drained += n; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
    }

    static func reason(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 304: "Not Modified"
        case 307: "Temporary Redirect"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 402: "Payment Required"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 416: "Range Not Satisfiable"
        case 422: "Unprocessable Entity"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        default: "Status \(status)"
        }
    }

    static func httpDate(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var tmValue = tm()
        gmtime_r(&t, &tmValue)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tmValue.tm_wday)]), \(two(tmValue.tm_mday)) \(months[Int(tmValue.tm_mon)]) "
            + "\(tmValue.tm_year + 1900) \(two(tmValue.tm_hour)):\(two(tmValue.tm_min)):\(two(tmValue.tm_sec)) GMT"
    }
}
