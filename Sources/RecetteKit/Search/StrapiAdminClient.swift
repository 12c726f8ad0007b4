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
    private let api: JSONAPI
    private var token: Secret?

    public init(baseURL: URL, transport: any HTTPTransport) {
        let server = JSONAPI.server(baseURL)
        // The plugin's reindex answers when it is done: minutes for a large content type.
        api = JSONAPI(baseURL: baseURL, transport: transport, timeout: 600, errorMessage: Self.errorMessage) { failure, what in
            switch failure {
            case .unreachable(let error, _): StrapiError.unreachable(server: server, reason: error.reason)
            case .rejected(let reply): StrapiError.api(status: reply.status, message: reply.message ?? "no details", what: what, server: server)
            case .unreadable: StrapiError.unreadableReply(what: what, server: server)
            }
        }
    }

    public var baseURL: URL { api.baseURL }
    public var server: String { JSONAPI.server(baseURL) }

    /// `POST /admin/login`; the admin JWT is kept for the next calls.
    public mutating func logIn(email: String, password: Secret) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["email": email, "password": password.reveal()])
        let data: Data
        do {
            data = try await call("POST", "admin/login", body: body, what: "log in")
        } catch StrapiError.api(let status, _, _, _) where status == 400 || status == 401 {
            throw StrapiError.invalidCredentials(server: server)
        }
        struct Reply: Decodable { struct Payload: Decodable { var token: String }; var data: Payload }
        self.token = Secret((try api.decode(data, what: "admin login") as Reply).data.token)
    }

    public func contentTypes() async throws -> [PluginContentType] {
        struct Reply: Decodable {
            struct Payload: Decodable { var contentTypes: [PluginContentType] }
            var data: Payload
        }
        let data = try await call("GET", "meilisearch/content-type", what: "list the plugin's content types")
        return try (api.decode(data, what: "the plugin's content types") as Reply).data.contentTypes
    }

    /// The plugin's "Update" (`PUT`: delete the index, then index everything) or, for a
    /// content type not indexed yet, its first indexing (`POST`).
    public func reindex(_ contentType: PluginContentType) async throws {
        let body = try JSONSerialization.data(withJSONObject: ["contentType": contentType.contentType])
        _ = try await call(contentType.indexed == true ? "PUT" : "POST", "meilisearch/content-type", body: body,
                           what: "reindex \(contentType.contentType)")
    }

    private func call(_ method: String, _ path: String, body: Data? = nil, what: String) async throws -> Data {
        let plugin = path.hasPrefix("meilisearch")
        let reply = try await api.send(method, baseURL.appendingPathComponent(path), body: body, authorization: token.map { Secret("Bearer \($0.reveal())") },
                                       what: what) { [token, server] reply in
            if reply.status == 401, token != nil { throw StrapiError.unauthorized(server: server) }
            if reply.status == 404, plugin { throw StrapiError.pluginMissing(server: server) }
            if reply.status == 403, plugin { throw StrapiError.pluginForbidden(what: what, server: server) }
        }
        // The plugin's controllers catch every failure into a 200 reply with an `error` body.
        if plugin, let message = reply.apiMessage { throw StrapiError.pluginFailed(what: what, message: reply.message ?? message, server: server) }
        return reply.data
    }

    /// `{"error": {"status", "name", "message"}}` (or an `error` that is not an object).
    @Sendable static func errorMessage(_ object: [String: Any]) -> String? {
        guard let error = object["error"], !(error is NSNull) else { return nil }
        return (error as? [String: Any])?["message"] as? String ?? "\(error)"
    }
}
