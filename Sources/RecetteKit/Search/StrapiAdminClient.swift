import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecetteWorld

/// One content type as the Meilisearch plugin lists it (`GET /meilisearch/content-type`).
public struct PluginContentType: Sendable, Decodable, Equatable {
    public var collection: String?
    public var contentType: String
    public var indexUid: String?
    public var indexed: Bool?
    public var isIndexing: Bool?
    public var numberOfDocuments: Int?
    public var numberOfEntries: Int?
    /// The plugin listens to the content type's changes: it was added to Meilisearch once. This
    /// outlives the index (a fresh local Meilisearch makes `indexed` false).
    public var listened: Bool?
}

public enum StrapiError: Error, CustomStringConvertible, Sendable {
    case missingCredentials
    case invalidCredentials(server: String)
    case unauthorized(server: String)
    case pluginMissing(server: String)
    /// `admin::hasPermissions`: the admin's role lacks the plugin action.
    case pluginForbidden(what: String, server: String)
    case api(status: Int, message: String, what: String, server: String)
    case unreachable(server: String, reason: String)
    case unreadableReply(what: String, server: String)
    /// The plugin answers its failures with HTTP 200 and `{"error": {"message": …}}`.
    case pluginFailed(what: String, message: String, server: String)

    public var description: String {
        switch self {
        case .missingCredentials:
            return "--via plugin logs in to the Strapi admin: set STRAPI_ADMIN_EMAIL and STRAPI_ADMIN_PASSWORD (in the environment or .env), or use --via direct"
        case .invalidCredentials(let server):
            return "Strapi at \(server) refused the admin login (Invalid credentials): check STRAPI_ADMIN_EMAIL and STRAPI_ADMIN_PASSWORD (an admin panel account, not an API user)"
        case .unauthorized(let server):
            return "Strapi at \(server) refused the admin token: log in again, or check that STRAPI_URL is the admin's server"
        case .pluginMissing(let server):
            return "Strapi at \(server) has no /meilisearch/content-type route: is strapi-plugin-meilisearch installed and enabled? Or use --via direct"
        case .pluginForbidden(let what, let server):
            return "Strapi at \(server) does not let the admin STRAPI_ADMIN_EMAIL \(what) (403 Policy Failed): give its role the Meilisearch plugin's permissions (Settings → Administration panel → Roles → Plugins → Meilisearch), or use --via direct"
        case .api(let status, let message, let what, let server):
            return "Strapi at \(server) answered \(status) while trying to \(what): \(message)"
        case .unreachable(let server, let reason):
            return "cannot reach Strapi at \(server) (\(reason)): is the CMS running? Check STRAPI_URL"
        case .unreadableReply(let what, let server):
            return "Strapi at \(server) sent a reply recette cannot read (\(what))"
        case .pluginFailed(let what, let message, let server):
            return "the Meilisearch plugin of Strapi at \(server) failed to \(what): \(message); check the plugin's Meilisearch host and key (config/plugins.js), or use --via direct"
        }
    }
}

/// The Strapi admin API, as far as the Meilisearch plugin needs: admin login, the plugin's
/// content types, and its reindex ("Update") action.
public struct StrapiAdminClient: Sendable {
    public let baseURL: URL
    private let transport: any HTTPTransport
    private var token: Secret?

    public init(baseURL: URL, transport: any HTTPTransport) {
        self.baseURL = baseURL
        self.transport = transport
    }

    public var server: String {
        var text = "\(baseURL.scheme ?? "http")://\(baseURL.host ?? "?")"
        if let port = baseURL.port { text += ":\(port)" }
        return text
    }

    /// `POST /admin/login`; the admin JWT is kept for the next calls.
    public mutating func logIn(email: String, password: Secret) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": password.reveal()])
        let data: Data
        do {
            data = try await call("POST", "admin/login", body: body, what: "log in")
        } catch StrapiError.api(let status, _, _, _) where status == 400 || status == 401 {
            throw StrapiError.invalidCredentials(server: server)
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let payload = object["data"] as? [String: Any], let token = payload["token"] as? String else {
            throw StrapiError.unreadableReply(what: "admin login", server: server)
        }
        self.token = Secret(token)
    }

    public func contentTypes() async throws -> [PluginContentType] {
        struct Reply: Decodable {
            struct Payload: Decodable { var contentTypes: [PluginContentType] }
            var data: Payload
        }
        let data = try await call("GET", "meilisearch/content-type", what: "list the plugin's content types")
        do { return try JSONDecoder().decode(Reply.self, from: data).data.contentTypes } catch {
            throw StrapiError.unreadableReply(what: "the plugin's content types", server: server)
        }
    }

    /// The plugin's "Update" (`PUT`: delete the index, then index everything) or, for a
    /// content type not indexed yet, its first indexing (`POST`).
    public func reindex(_ contentType: PluginContentType) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["contentType": contentType.contentType])
        _ = try await call(contentType.indexed == true ? "PUT" : "POST", "meilisearch/content-type", body: body,
                           what: "reindex \(contentType.contentType)")
    }

    private func call(_ method: String, _ path: String, body: Data? = nil, what: String) async throws -> Data {
        var request = URLRequest(url: baseURL.appendingPathComponent(path), timeout: 600)
        request.httpMethod = method
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Accept")
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let token { request.setValue("Bearer \(token.reveal())", forHTTPHeaderField: "Authorization") }
        let (data, response): (Data, HTTPURLResponse)
        do {
            (data, response) = try await transport.send(request)
        } catch let error as HTTPTransportError {
            if case .network(_, let reason) = error { throw StrapiError.unreachable(server: server, reason: reason) }
            throw StrapiError.unreachable(server: server, reason: error.description)
        }
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        let errorMessage: String? = object.flatMap { object in
            guard let error = object["error"], !(error is NSNull) else { return nil }
            return (error as? [String: Any])?["message"] as? String ?? "\(error)"
        }
        if (200..<300).contains(response.statusCode) {
            // The plugin's controllers catch every failure into a 200 reply with an `error` body.
            if let errorMessage, path.hasPrefix("meilisearch") {
                throw StrapiError.pluginFailed(what: what, message: HTTPErrorBody.summary(data, message: errorMessage, request: request) ?? errorMessage,
                                               server: server)
            }
            return data
        }
        if response.statusCode == 401, token != nil { throw StrapiError.unauthorized(server: server) }
        if response.statusCode == 404, path.hasPrefix("meilisearch") { throw StrapiError.pluginMissing(server: server) }
        if response.statusCode == 403, path.hasPrefix("meilisearch") { throw StrapiError.pluginForbidden(what: what, server: server) }
        let message = HTTPErrorBody.summary(data, message: errorMessage, request: request) ?? "no details"
        throw StrapiError.api(status: response.statusCode, message: message, what: what, server: server)
    }
}
