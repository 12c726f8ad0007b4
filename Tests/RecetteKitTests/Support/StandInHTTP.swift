import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP answer, with its body decoded as JSON when it is JSON.
struct HTTPReply: CustomStringConvertible {
    var status: Int
    var body: Data
    var headers: [String: String]

    var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var text: String { String(decoding: body, as: UTF8.self) }
    subscript(key: String) -> Any? { object[key] }
    var description: String { "\(status) \(text)" }

    /// A Meilisearch error body: exactly message, code, type and link.
    var meiliError: [String: String]? {
        guard let error = json as? [String: String], Set(error.keys) == ["message", "code", "type", "link"] else { return nil }
        return error
    }
}

/// Requests to a stand-in on loopback, through URLSession.
struct StandInClient {
    var baseURL: URL
    var bearer: String?

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        // A liveness bound, not a timing assertion: the Strapi stand-in answers a reindex of
        // 25,000 offers only once every batch is in, which took 128 s on a CI run sharing 2
        // cores with builds (and failed at 120 s).
        configuration.timeoutIntervalForRequest = 600
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        return URLSession(configuration: configuration)
    }()

    /// `json` is serialised with JSONSerialization; `body` is sent as is.
    func send(
        _ method: String, _ path: String, json: Any? = nil, body: Data? = nil, contentType: String? = nil,
        headers: [String: String] = [:]
    ) async throws -> HTTPReply {
        var request = URLRequest(url: URL(string: baseURL.absoluteString + path)!)
        request.httpMethod = method
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])
            request.setValue(contentType ?? "application/json", forHTTPHeaderField: "Content-Type")
        } else if let body {
            request.httpBody = body
            if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await Self.session.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields {
            if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
        }
        return HTTPReply(status: http.statusCode, body: data, headers: fields)
    }

    func get(_ path: String) async throws -> HTTPReply { try await send("GET", path) }
}

/// One request written byte for byte on a fresh socket (for what URLSession would add or
/// change, e.g. a missing Content-Type); reads until the server closes.
func rawHTTP(port: Int, _ head: String, body: Data = Data()) throws -> HTTPReply {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port)).bigEndian
    address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
    let request = Data(head.replacingOccurrences(of: "\n", with: "\r\n").utf8) + body
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var received = Data()
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buffer, buffer.count, 0)
        if n <= 0 { break }
        received.append(contentsOf: buffer[0..<n])
    }
    guard let split = received.range(of: Data("\r\n\r\n".utf8)),
        let statusLine = String(data: received[..<split.lowerBound], encoding: .utf8)?.split(separator: "\r\n").first
    else { throw POSIXError(.EBADMSG) }
    let status = Int(statusLine.split(separator: " ")[1]) ?? 0
    return HTTPReply(status: status, body: received[split.upperBound...], headers: [:])
}
