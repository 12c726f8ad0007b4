import Foundation
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecetteWorld

public enum ScalingoError: Error, CustomStringConvertible, Equatable {
    case missingToken
    case missingApp
    case invalidToken
    case appNotFound(app: String, region: String)
    case forbidden(String)
    case notFound(String)
    case rejected(what: String, status: Int, message: String)
    case gaveUp(what: String, status: Int?, attempts: Int, reason: String)
    case unreadableReply(what: String)

    public var description: String {
        switch self {
        case .missingToken:
            "SCALINGO_API_TOKEN is not set: create an API token in your Scalingo account settings and put it in .env or the environment"
        case .missingApp:
            "SCALINGO_APP is not set: name the app that holds the recette database in .env, the environment or recette.yml"
        case .invalidToken:
            "invalid API token: create one in your Scalingo account settings and put it in SCALINGO_API_TOKEN"
        case .appNotFound(let app, let region):
            "app '\(app)' not found in region \(region): check SCALINGO_APP and SCALINGO_REGION, and that your token's account can see the app"
        case .forbidden(let what):
            "Scalingo refused access to \(what): your token's account lacks the rights; ask the app's owner to add you as a collaborator"
        case .notFound(let what):
            "\(what) not found on Scalingo"
        case .rejected(let what, let status, let message):
            "Scalingo rejected \(what) (HTTP \(status)): \(message)"
        case .gaveUp(let what, let status, let attempts, let reason):
            "Scalingo did not answer \(what) after \(attempts) attempts (\(status.map { "HTTP \($0), " } ?? "")\(reason)); try again later"
        case .unreadableReply(let what):
            "Scalingo's reply to \(what) could not be read; is SCALINGO_API_URL/SCALINGO_DB_URL pointing at Scalingo?"
        }
    }
}

/// A bearer token and when it stops working.
struct BearerToken: Sendable {
    var value: Secret
    var expiresAt: Date

    /// Reads `exp` from a JWT's payload; tokens that are not JWTs are trusted for 50 minutes.
    init(_ token: String, issuedAt: Date) {
        value = Secret(token)
        expiresAt = Self.expiry(ofJWT: token) ?? issuedAt.addingTimeInterval(50 * 60)
    }

    static func expiry(ofJWT token: String) -> Date? {
        let parts = token.split(separator: ".")
        guard parts.count == 3 else { return nil }
        var base64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64),
              let payload = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let exp = payload["exp"] as? Double ?? (payload["exp"] as? Int).map(Double.init) else { return nil }
        return Date(timeIntervalSince1970: exp)
    }

    /// Scalingo's advice: exchange again when less than five minutes remain.
    func isFresh(at now: Date) -> Bool { expiresAt.timeIntervalSince(now) > 5 * 60 }
}

/// Scalingo's HTTP APIs: token exchange, addons, addon token, backups, archive URL.
///
/// The API token only ever travels as the password of the Basic auth of the exchange; the
/// bearer tokens stay in memory. None of them is logged or put in an error.
public actor ScalingoClient {
    public let endpoints: ScalingoEndpoints
    public let region: String
    private let apiToken: Secret
    private let api: JSONAPI
    private let logger: Logger
    private let now: @Sendable () -> Date
    private var apiBearer: BearerToken?
    private var addonBearers: [String: BearerToken] = [:]

    public init(endpoints: ScalingoEndpoints, region: String, apiToken: Secret, transport: any HTTPTransport,
                retry: RetryPolicy = RetryPolicy(), logger: Logger, now: @escaping @Sendable () -> Date = { Date() }) {
        self.endpoints = endpoints
        self.region = region
        self.apiToken = apiToken
        self.logger = logger
        self.now = now
        // Retries 429, 5xx and network failures; 401/403/404 are never retried. Each call names
        // its whole URL (on the auth, api or database endpoint).
        api = JSONAPI(baseURL: endpoints.api, transport: transport, retry: retry, retriedStatuses: Set(500...599).union([429]), retriesNetworkFailures: true,
                      logger: logger, errorMessage: Self.errorMessage) { failure, what in
            switch failure {
            case .unreachable(let error, let attempts):
                ScalingoError.gaveUp(what: what, status: nil, attempts: attempts, reason: error.description)
            case .rejected(let reply) where reply.status == 429 || reply.status >= 500:
                ScalingoError.gaveUp(what: what, status: reply.status, attempts: retry.maximumAttempts,
                                     reason: reply.message ?? HTTPURLResponse.localizedString(forStatusCode: reply.status))
            case .rejected(let reply):
                ScalingoError.rejected(what: what, status: reply.status, message: reply.message ?? "no details")
            case .unreadable:
                ScalingoError.unreadableReply(what: what)
            }
        }
    }

    /// Built from the configuration; fails early on a missing token.
    public static func from(_ configuration: Configuration, transport: any HTTPTransport, logger: Logger, retry: RetryPolicy = RetryPolicy()) throws -> ScalingoClient {
        guard let token = configuration.secret(.scalingoAPIToken), !token.isEmpty else { throw ScalingoError.missingToken }
        let region = configuration.text(.scalingoRegion)
        let endpoints = try ScalingoEndpoints.resolve(region: region, authOverride: configuration[.scalingoAuthURL],
                                                      apiOverride: configuration[.scalingoAPIURL], databaseOverride: configuration[.scalingoDBURL])
        return ScalingoClient(endpoints: endpoints, region: region, apiToken: token, transport: transport, retry: retry, logger: logger)
    }

    // MARK: - Calls

    public func addons(app: String) async throws -> [ScalingoAddon] {
        struct Reply: Decodable { var addons: [ScalingoAddon] }
        let reply: Reply = try await get(endpoints.api.appendingPathComponent("v1/apps/\(app)/addons"),
                                         bearer: .api, what: "the addons of app '\(app)'", app: app)
        return reply.addons
    }

    public func backups(app: String, addonID: String) async throws -> [ScalingoBackup] {
        struct Reply: Decodable { var database_backups: [ScalingoBackup] }
        let reply: Reply = try await get(endpoints.database.appendingPathComponent("api/databases/\(addonID)/backups"),
                                         bearer: .addon(app: app, addonID: addonID), what: "the backups of addon \(addonID)", app: app)
        return reply.database_backups
    }

    public func backup(app: String, addonID: String, backupID: String) async throws -> ScalingoBackup {
        struct Reply: Decodable { var database_backup: ScalingoBackup }
        let reply: Reply = try await get(endpoints.database.appendingPathComponent("api/backups/\(backupID)"),
                                         bearer: .addon(app: app, addonID: addonID), what: "backup \(backupID)", app: app)
        return reply.database_backup
    }

    /// The app's environment (its variables, aliases such as `$SCALINGO_POSTGRESQL_URL` as
    /// they are written: `RemoteMeilisearch` resolves them).
    public func variables(app: String) async throws -> [ScalingoVariable] {
        struct Reply: Decodable { var variables: [ScalingoVariable] }
        let reply: Reply = try await get(endpoints.api.appendingPathComponent("v1/apps/\(app)/variables"),
                                         bearer: .api, what: "the environment variables of app '\(app)'", app: app)
        return reply.variables
    }

    /// A pre-signed URL, to fetch with a plain GET and no Authorization header; it expires
    /// within minutes, so ask for a new one before each attempt.
    public func archiveURL(app: String, addonID: String, backupID: String) async throws -> URL {
        struct Reply: Decodable { var download_url: String }
        let what = "the download link of backup \(backupID)"
        let reply: Reply = try await get(endpoints.database.appendingPathComponent("api/databases/\(addonID)/backups/\(backupID)/archive"),
                                         bearer: .addon(app: app, addonID: addonID), what: what, app: app)
        guard let download = URL(string: reply.download_url) else { throw ScalingoError.unreadableReply(what: what) }
        return download
    }

    /// Number of token exchanges so far (JWTs are reused until close to expiry).
    public private(set) var exchangeCount = 0

    // MARK: - Plumbing

    private enum Bearer { case api, addon(app: String, addonID: String) }

    /// GET with the bearer, retries and error mapping of `call`, decoded as `Reply`.
    private func get<Reply: Decodable>(_ url: URL, bearer: Bearer, what: String, app: String) async throws -> Reply {
        try api.decode(try await call("GET", url, bearer: bearer, what: what, app: app), what: what)
    }

    private func bearerToken(_ bearer: Bearer, forceNew: Bool) async throws -> Secret {
        switch bearer {
        case .api:
            if !forceNew, let token = apiBearer, token.isFresh(at: now()) { return token.value }
            let token = try await exchangeToken()
            apiBearer = token
            return token.value
        case .addon(let app, let addonID):
            if !forceNew, let token = addonBearers[addonID], token.isFresh(at: now()) { return token.value }
            struct Reply: Decodable { struct Addon: Decodable { var token: String }; var addon: Addon }
            let url = endpoints.api.appendingPathComponent("v1/apps/\(app)/addons/\(addonID)/token")
            let what = "a database token for addon \(addonID)"
            let reply: Reply = try api.decode(try await call("POST", url, bearer: .api, body: Data("{}".utf8), what: what, app: app), what: what)
            let token = BearerToken(reply.addon.token, issuedAt: now())
            addonBearers[addonID] = token
            return token.value
        }
    }

    private func exchangeToken() async throws -> BearerToken {
        struct Reply: Decodable { var token: String }
        let what = "the API token exchange"
        // Basic auth with an empty user name and the token as password.
        let basic = Secret("Basic " + Data(":\(apiToken.reveal())".utf8).base64EncodedString())
        let data = try await api.send("POST", endpoints.auth.appendingPathComponent("v1/tokens/exchange"), authorization: basic, what: what) { reply in
            try meaning(of: reply, what: what, app: nil, unauthorized: ScalingoError.invalidToken)
        }.data
        exchangeCount += 1
        let reply: Reply = try api.decode(data, what: what)
        logger.debug("exchanged the API token for a bearer token")
        return BearerToken(reply.token, issuedAt: now())
    }

    private func call(_ method: String, _ url: URL, bearer: Bearer, body: Data? = nil, what: String, app: String) async throws -> Data {
        var renewed = false
        while true {
            let authorization = Secret("Bearer " + (try await bearerToken(bearer, forceNew: renewed)).reveal())
            do {
                return try await api.send(method, url, body: body, authorization: authorization, what: what) { [renewed] reply in
                    // A token revoked or expired early: exchange once more, then give up.
                    try meaning(of: reply, what: what, app: app, unauthorized: renewed ? ScalingoError.invalidToken : RenewBearer())
                }.data
            } catch is RenewBearer {
                renewed = true
            }
        }
    }

    private struct RenewBearer: Error {}

    /// What 401, 403 and 404 mean to Scalingo (`unauthorized` is thrown on a 401).
    private nonisolated func meaning(of reply: JSONReply, what: String, app: String?, unauthorized: any Error) throws {
        switch reply.status {
        case 401: throw unauthorized
        case 403: throw ScalingoError.forbidden(what)
        case 404:
            if let app, reply.object?["resource"] as? String == "app" { throw ScalingoError.appNotFound(app: app, region: region) }
            throw ScalingoError.notFound(what.prefix(1).uppercased() + what.dropFirst())
        default: break
        }
    }

    /// `{"error": "..."}`, `{"errors": {"field": ["..."]}}` or `{"message": "..."}`.
    @Sendable static func errorMessage(_ object: [String: Any]) -> String? {
        if let error = object["error"] as? String { return error }
        if let errors = object["errors"] as? [String: [String]] {
            return errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.joined(separator: ", "))" }.joined(separator: "; ")
        }
        return object["message"] as? String
    }
}
