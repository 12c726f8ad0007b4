// A stand-in for Scalingo's auth, API and database API hosts, plus the object storage that
// serves backup archives, all on one LoopbackHTTPServer (127.0.0.1, OS-chosen port).
//
// Hosts are path prefixes of `baseURL`:
//   auth  → baseURL/auth          (client calls {authURL}/v1/tokens/exchange)
//   API   → baseURL/api/v1        (= {api} in the reference; `apiEndpoint` is baseURL/api)
//   DB    → baseURL/dbapi/api     (= {db-api} in the reference; `dbEndpoint` is baseURL/dbapi)
//   S3    → baseURL/download/<key>/<name>.tar.gz?X-Amz-...   (pre-signed, no Authorization)
//
// Only Foundation and the C library are used.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import RecetteWorld

public final class ScalingoStandIn: Sendable {
    // MARK: Model

    /// An addon as listed by `GET {api}/apps/{app}/addons`.
    public struct Addon: Sendable, Equatable {
        public var id: String
        public var providerID: String
        public var providerName: String
        public var planName: String
        public var planDisplayName: String
        public var status: String
        public var resourceID: String

        public init(
            id: String = ScalingoStandIn.randomID(prefix: "ad-"), providerID: String = "postgresql",
            providerName: String? = nil, planName: String? = nil, planDisplayName: String? = nil,
            status: String = "running", resourceID: String? = nil
        ) {
            self.id = id
            self.providerID = providerID
            let known: [String: String] = [
                "postgresql": "PostgreSQL", "scalingo-postgresql": "PostgreSQL", "mongodb": "MongoDB",
                "scalingo-mongodb": "MongoDB", "redis": "Redis", "mysql": "MySQL",
            ]
            self.providerName = providerName ?? known[providerID] ?? providerID
            let base = providerID.replacingOccurrences(of: "scalingo-", with: "")
            self.planName = planName ?? "\(base)-starter-512"
            self.planDisplayName = planDisplayName ?? "Starter 512M"
            self.status = status
            self.resourceID = resourceID ?? "\(base)_\(Int.random(in: 1000...9999))"
        }

        public static func postgresql(id: String = ScalingoStandIn.randomID(prefix: "ad-"), resourceID: String? = nil) -> Addon {
            Addon(id: id, providerID: "postgresql", resourceID: resourceID)
        }
        /// Provider id `scalingo-postgresql`, as found in some legacy data.
        public static func legacyPostgresql(id: String = ScalingoStandIn.randomID(prefix: "ad-"), resourceID: String? = nil) -> Addon {
            Addon(id: id, providerID: "scalingo-postgresql", resourceID: resourceID)
        }
        public static func mongodb(id: String = ScalingoStandIn.randomID(prefix: "ad-"), resourceID: String? = nil) -> Addon {
            Addon(id: id, providerID: "mongodb", resourceID: resourceID)
        }
    }

    /// A database backup as listed by `GET {db}/databases/{addon}/backups`.
    public struct Backup: Sendable, Equatable {
        public var id: String
        /// Sent as is (RFC 3339 / ISO 8601). Use `ScalingoStandIn.timestamp(_:)` to make one.
        public var createdAt: String
        public var startedAt: String?
        public var name: String
        /// `scheduled`, `running`, `pending`, `done`, `error`.
        public var status: String
        /// `periodic` or `manual`.
        public var method: String
        /// The `.tar.gz` served for this backup. Needed for `done` backups only.
        public var archive: URL?
        /// Advertised `size`; nil means the archive's size on disk (0 without archive).
        public var size: Int64?

        public init(
            id: String = ScalingoStandIn.randomHex(24), createdAt: String, startedAt: String? = nil, name: String,
            status: String = "done", method: String = "periodic", archive: URL? = nil, size: Int64? = nil
        ) {
            self.id = id
            self.createdAt = createdAt
            self.startedAt = startedAt ?? createdAt
            self.name = name
            self.status = status
            self.method = method
            self.archive = archive
            self.size = size
        }

        public init(
            id: String = ScalingoStandIn.randomHex(24), createdAt: Date, name: String, status: String = "done",
            method: String = "periodic", archive: URL? = nil, size: Int64? = nil
        ) {
            self.init(
                id: id, createdAt: ScalingoStandIn.timestamp(createdAt),
                startedAt: ScalingoStandIn.timestamp(createdAt.addingTimeInterval(2)), name: name, status: status,
                method: method, archive: archive, size: size)
        }
    }

    /// The calls the stand-in knows, for fault injection and the log.
    public enum Route: String, Sendable, CaseIterable, Hashable {
        case tokenExchange  // POST {auth}/v1/tokens/exchange
        // The real CLI's calls besides recette's: who is logged in, the regions, one addon.
        case userSelf  // GET {auth}/v1/users/self
        case regions  // GET {auth}/v1/regions
        case addon  // GET {api}/apps/{app}/addons/{addon}
        case addons  // GET {api}/apps/{app}/addons
        case addonToken  // POST {api}/apps/{app}/addons/{addon}/token
        case variables  // GET {api}/apps/{app}/variables
        case backups  // GET {db}/databases/{addon}/backups
        case backup  // GET {db}/backups/{id}
        case archiveURL  // GET {db}/databases/{addon}/backups/{id}/archive
        case download  // GET/HEAD {base}/download/{key}/{name}.tar.gz
    }

    /// One received request. Never holds a token, a password or a URL signature.
    public struct LoggedRequest: Sendable {
        public var method: String
        /// Path without the query string.
        public var path: String
        /// nil when the path matched no route.
        public var route: Route?
        public var hadAuthorization: Bool
        /// `Basic`, `Bearer`, ... (the scheme only).
        public var authorizationScheme: String?
        /// The `Range` header as sent.
        public var range: String?
        public var userAgent: String?
        public var accept: String?
        /// The status answered.
        public var status: Int
        public var date: Date
    }

    /// Order of `GET {db}/databases/{addon}/backups`.
    public enum ListOrder: Sendable {
        /// By `created_at`, newest first (what the API usually does).
        case newestFirst
        /// By `created_at`, oldest first.
        case oldestFirst
        /// Entries that are not `done` first (newest first), then the `done` ones oldest first:
        /// a client taking "the first done entry" gets the oldest backup.
        case unfinishedFirstThenOldest
        /// As given to `setBackups`.
        case asConfigured
    }

    // MARK: State

    struct Fault {
        var status: Int
        var body: String
        var contentType: String
        var headers: [(String, String)]
        var remaining: Int
    }

    struct Drop {
        var bytes: Int
        var always: Bool
        var reset: Bool
    }

    struct App {
        var id: String
        var addons: [Addon]
        /// The app's environment, by name (`GET {api}/apps/{app}/variables`).
        var variables: [String: String] = [:]
    }

    struct BackupSet {
        var databaseID: String
        var backups: [Backup]
    }

    enum TokenKind: Equatable {
        case api
        case addon(appName: String, addonID: String)
    }

    struct IssuedToken {
        var kind: TokenKind
        var expiresAt: Date
    }

    struct PresignedURL {
        var addonID: String
        var backupID: String
        var fileName: String
        var signature: String
        var expiresAt: Date
    }

    struct State {
        var apiToken: String
        var jwtLifetime: TimeInterval
        var addonTokenLifetime: TimeInterval
        var downloadURLLifetime: TimeInterval = 600
        var apps: [String: App] = [:]
        var backupSets: [String: BackupSet] = [:]  // by addon id
        var tokens: [String: IssuedToken] = [:]
        var presigned: [String: PresignedURL] = [:]  // by key
        var faults: [Route: [Fault]] = [:]
        var drop: Drop?
        var ignoreRange = false
        var omitContentLength = false
        var listOrder: ListOrder = .newestFirst
        var log: [LoggedRequest] = []
        var tokenExchanges = 0
        var addonTokens = 0
        var port = 0
    }

    private let state: LoopbackLocked<State>
    private let server: LoopbackHTTPServer

    /// The API token the stand-in accepts by default.
    public static let defaultAPIToken = "tk-us-standin-0123456789abcdefghijklmnopqrstuvwxyz"

    /// - Parameters:
    ///   - apiToken: the only API token `tokens/exchange` accepts (as the Basic password).
    ///   - jwtLifetime: seconds between `iat` and `exp` of each JWT issued; expired JWTs get 401.
    ///   - addonTokenLifetime: the same for addon (DB API) tokens.
    public init(
        apiToken: String = ScalingoStandIn.defaultAPIToken, jwtLifetime: TimeInterval = 3600,
        addonTokenLifetime: TimeInterval = 3600
    ) throws {
        let state = LoopbackLocked(
            State(apiToken: apiToken, jwtLifetime: jwtLifetime, addonTokenLifetime: addonTokenLifetime))
        self.state = state
        server = try LoopbackHTTPServer { request in Engine(state: state).handle(request) }
        let port = server.port
        state.withLock { $0.port = port }
    }

    deinit { server.stop() }

    public func stop() { server.stop() }

    // MARK: URLs

    public var baseURL: URL { server.baseURL }
    /// SCALINGO_AUTH_URL: the client posts to `{authURL}/v1/tokens/exchange`.
    public var authURL: URL { baseURL.appendingPathComponent("auth") }
    /// `{api}` of the reference (includes `/v1`): `{apiURL}/apps/{app}/addons`.
    public var apiURL: URL { baseURL.appendingPathComponent("api/v1") }
    /// `{db-api}` of the reference (includes `/api`): `{dbURL}/databases/{id}/backups`.
    public var dbURL: URL { baseURL.appendingPathComponent("dbapi/api") }
    /// The API host without the `/v1` prefix (go-scalingo appends the prefix itself).
    public var apiEndpoint: URL { baseURL.appendingPathComponent("api") }
    /// The DB API host without the `/api` prefix.
    public var dbEndpoint: URL { baseURL.appendingPathComponent("dbapi") }
    /// Environment for a client: SCALINGO_AUTH_URL, SCALINGO_API_URL, SCALINGO_DB_URL.
    public var environment: [String: String] {
        // As the official CLI reads them: hosts without the /v1 and /api prefixes.
        ["SCALINGO_AUTH_URL": authURL.absoluteString, "SCALINGO_API_URL": apiEndpoint.absoluteString,
         "SCALINGO_DB_URL": dbEndpoint.absoluteString]
    }

    // MARK: Configuration (thread-safe, may change between requests)

    /// Adds or replaces an app and its addons.
    public func addApp(_ name: String, id: String = ScalingoStandIn.randomHex(24), addons: [Addon]) {
        state.withLock { $0.apps[name] = App(id: id, addons: addons) }
    }

    public func removeApp(_ name: String) { state.withLock { $0.apps[name] = nil } }

    /// Sets an app's environment variables (replacing earlier ones); the app must exist.
    public func setVariables(_ variables: [String: String], forApp name: String) {
        state.withLock { $0.apps[name]?.variables = variables }
    }

    /// Sets the backups of an addon's database (replacing earlier ones).
    public func setBackups(_ backups: [Backup], forAddon addonID: String, databaseID: String? = nil) {
        state.withLock { s in
            let db = databaseID ?? s.backupSets[addonID]?.databaseID ?? ScalingoStandIn.randomHex(24)
            s.backupSets[addonID] = BackupSet(databaseID: db, backups: backups)
        }
    }

    public func backups(forAddon addonID: String) -> [Backup] {
        state.withLock { $0.backupSets[addonID]?.backups ?? [] }
    }

    /// Changes one backup in place (e.g. its status or archive).
    public func updateBackup(_ id: String, _ change: @Sendable (inout Backup) -> Void) {
        state.withLock { s in
            for (addon, var set) in s.backupSets {
                if let i = set.backups.firstIndex(where: { $0.id == id }) {
                    change(&set.backups[i])
                    s.backupSets[addon] = set
                    return
                }
            }
        }
    }

    /// Advertised `size` of a backup that differs from its archive (nil: the file's size).
    public func setAdvertisedSizeOverride(_ size: Int64?, forBackup id: String) {
        updateBackup(id) { $0.size = size }
    }

    public var apiToken: String {
        get { state.withLock { $0.apiToken } }
        set { state.withLock { $0.apiToken = newValue } }
    }

    /// Lifetime of JWTs issued from now on (e.g. 240 s: below the 5-minute refresh margin).
    public var jwtLifetime: TimeInterval {
        get { state.withLock { $0.jwtLifetime } }
        set { state.withLock { $0.jwtLifetime = newValue } }
    }

    public var addonTokenLifetime: TimeInterval {
        get { state.withLock { $0.addonTokenLifetime } }
        set { state.withLock { $0.addonTokenLifetime = newValue } }
    }

    /// Lifetime of the pre-signed download URLs issued from now on (default 600 s).
    public var downloadURLLifetime: TimeInterval {
        get { state.withLock { $0.downloadURLLifetime } }
        set { state.withLock { $0.downloadURLLifetime = newValue } }
    }

    /// Forgets every JWT and addon token issued so far: they now get 401.
    public func revokeAllTokens() { state.withLock { $0.tokens.removeAll() } }

    // MARK: Faults (thread-safe, may change between requests)

    /// The next `count` requests matching `route` get this answer instead of the real one
    /// (checked before authentication). The content type defaults to JSON when the body starts
    /// with `{`, plain text otherwise. Queued faults are served in order.
    public func failNext(
        _ route: Route, status: Int, body: String = "", contentType: String? = nil,
        headers: [(String, String)] = [], count: Int = 1
    ) {
        let type = contentType ?? (body.hasPrefix("{") ? "application/json; charset=utf-8" : "text/plain; charset=utf-8")
        state.withLock {
            $0.faults[route, default: []].append(
                Fault(status: status, body: body, contentType: type, headers: headers, remaining: count))
        }
    }

    /// The next download (or every one, with `always`) is cut after `bytes` body bytes.
    /// `reset`: end with a TCP RST instead of a FIN (the client may then get fewer bytes).
    public func dropDownloadAfter(bytes: Int, always: Bool = false, reset: Bool = false) {
        state.withLock { $0.drop = Drop(bytes: bytes, always: always, reset: reset) }
    }

    /// Answer 200 with the whole file even when a Range is asked for.
    public var ignoreRange: Bool {
        get { state.withLock { $0.ignoreRange } }
        set { state.withLock { $0.ignoreRange = newValue } }
    }

    /// Downloads without Content-Length (body delimited by closing the connection).
    public var omitContentLength: Bool {
        get { state.withLock { $0.omitContentLength } }
        set { state.withLock { $0.omitContentLength = newValue } }
    }

    public var listOrder: ListOrder {
        get { state.withLock { $0.listOrder } }
        set { state.withLock { $0.listOrder = newValue } }
    }

    /// Shorthand: true sets `.oldestFirst`, false `.newestFirst`.
    public var listOldestFirst: Bool {
        get { listOrder == .oldestFirst }
        set { listOrder = newValue ? .oldestFirst : .newestFirst }
    }

    /// Removes queued failures and drops, and resets the flags above.
    public func clearFaults() {
        state.withLock { s in
            s.faults.removeAll()
            s.drop = nil
            s.ignoreRange = false
            s.omitContentLength = false
            s.listOrder = .newestFirst
        }
    }

    /// A fresh pre-signed URL for a `done` backup's archive, exactly as
    /// `GET {db}/databases/{addon}/backups/{id}/archive` answers it (valid for
    /// `downloadURLLifetime`), without the token dance: for tools outside the tests, e.g. a
    /// benchmark that fetches the archive with curl. nil when the backup is unknown, not
    /// `done`, or has no archive.
    public func presignedDownloadURL(addonID: String, backupID: String) -> URL? {
        let backup = state.withLock { s in s.backupSets[addonID]?.backups.first { $0.id == backupID } }
        guard let backup, backup.status == "done", backup.archive != nil else { return nil }
        return URL(string: Engine(state: state).presign(addonID: addonID, backup: backup))
    }

    // MARK: Observation

    public var requestLog: [LoggedRequest] { state.withLock { $0.log } }

    public func requests(_ route: Route) -> [LoggedRequest] { requestLog.filter { $0.route == route } }

    /// Requests received for a route, whatever the outcome.
    public func count(_ route: Route) -> Int { requests(route).count }

    /// Successful token exchanges (JWTs issued).
    public var tokenExchangeCount: Int { state.withLock { $0.tokenExchanges } }
    /// Addon tokens issued.
    public var addonTokenCount: Int { state.withLock { $0.addonTokens } }
    /// Download requests (GET and HEAD), whatever the outcome.
    public var downloadCount: Int { count(.download) }

    /// Empties the log and zeroes the counters (tokens stay valid).
    public func resetLog() {
        state.withLock { s in
            s.log.removeAll()
            s.tokenExchanges = 0
            s.addonTokens = 0
        }
    }

    // MARK: Helpers

    /// RFC 3339 with milliseconds, e.g. `2024-05-01T03:00:00.123+02:00`.
    public static func timestamp(_ date: Date, utcOffsetSeconds: Int = 0, fractionalSeconds: Bool = true) -> String {
        let shifted = date.addingTimeInterval(TimeInterval(utcOffsetSeconds))
        var t = time_t(floor(shifted.timeIntervalSince1970))
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
        if fractionalSeconds {
            let millis = Int((shifted.timeIntervalSince1970 - floor(shifted.timeIntervalSince1970)) * 1000)
            out += ".\(pad(min(millis, 999), 3))"
        }
        if utcOffsetSeconds == 0 {
            out += "Z"
        } else {
            let sign = utcOffsetSeconds < 0 ? "-" : "+"
            let minutes = abs(utcOffsetSeconds) / 60
            out += "\(sign)\(pad(minutes / 60, 2)):\(pad(minutes % 60, 2))"
        }
        return out
    }

    /// Parses RFC 3339 timestamps with any number of fractional digits and any offset.
    public static func parseTimestamp(_ string: String) -> Date? {
        let chars = Array(string.utf8)
        func num(_ from: Int, _ len: Int) -> Int? {
            guard from + len <= chars.count else { return nil }
            var v = 0
            for c in chars[from..<(from + len)] {
                guard c >= 48 && c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard chars.count >= 20, let year = num(0, 4), let month = num(5, 2), let day = num(8, 2),
            let hour = num(11, 2), let minute = num(14, 2), let second = num(17, 2)
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < chars.count && chars[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < chars.count, chars[i] >= 48 && chars[i] <= 57 {
                fraction += Double(chars[i] - 48) * scale
                scale /= 10
                i += 1
            }
        }
        guard i < chars.count else { return nil }
        var offset = 0
        if chars[i] == UInt8(ascii: "Z") || chars[i] == UInt8(ascii: "z") {
            offset = 0
        } else if chars[i] == UInt8(ascii: "+") || chars[i] == UInt8(ascii: "-"), let oh = num(i + 1, 2),
            let om = num(i + 4, 2)
        {
            offset = (oh * 3600 + om * 60) * (chars[i] == UInt8(ascii: "-") ? -1 : 1)
        } else {
            return nil
        }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: TimeInterval(epoch - offset) + fraction)
    }

    public static func randomHex(_ count: Int) -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<count).map { _ in digits[Int.random(in: 0..<16)] })
    }

    public static func randomID(prefix: String) -> String {
        prefix + UUID().uuidString.lowercased()
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func randomBytes(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// Decodes the payload of a JWT (no signature check), e.g. to read `exp` in a test.
    public static func decodeJWTPayload(_ jwt: String) -> [String: Any]? {
        let parts = jwt.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var b64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }
}

// MARK: - Request handling

/// Stateless view over the shared state; one per request.
private struct Engine {
    typealias S = ScalingoStandIn
    let state: LoopbackLocked<S.State>

    // MARK: Routing

    enum Match {
        case route(S.Route, [String])  // route and captured path segments
        case wrongMethod
        case none
    }

    static func match(method: String, path: String) -> Match {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
            $0.removingPercentEncoding ?? String($0)
        }
        let get = method == "GET" || method == "HEAD"
        let post = method == "POST"
        func ok(_ allowed: Bool, _ route: S.Route, _ captures: [String]) -> Match {
            allowed ? .route(route, captures) : .wrongMethod
        }
        let s = segments
        if s.count == 4, s[0] == "auth", s[1] == "v1", s[2] == "tokens", s[3] == "exchange" {
            return ok(post, .tokenExchange, [])
        }
        if s.count == 4, s[0] == "auth", s[1] == "v1", s[2] == "users", s[3] == "self" { return ok(get, .userSelf, []) }
        if s.count == 3, s[0] == "auth", s[1] == "v1", s[2] == "regions" { return ok(get, .regions, []) }
        if s.count == 6, s[0] == "api", s[1] == "v1", s[2] == "apps", s[4] == "addons", !s[3].isEmpty, !s[5].isEmpty {
            return ok(get, .addon, [s[3], s[5]])
        }
        if s.count == 5, s[0] == "api", s[1] == "v1", s[2] == "apps", s[4] == "addons", !s[3].isEmpty {
            return ok(get, .addons, [s[3]])
        }
        if s.count == 5, s[0] == "api", s[1] == "v1", s[2] == "apps", s[4] == "variables", !s[3].isEmpty {
            return ok(get, .variables, [s[3]])
        }
        if s.count == 7, s[0] == "api", s[1] == "v1", s[2] == "apps", s[4] == "addons", s[6] == "token",
            !s[3].isEmpty, !s[5].isEmpty
        {
            return ok(post, .addonToken, [s[3], s[5]])
        }
        if s.count == 5, s[0] == "dbapi", s[1] == "api", s[2] == "databases", s[4] == "backups", !s[3].isEmpty {
            return ok(get, .backups, [s[3]])
        }
        if s.count == 4, s[0] == "dbapi", s[1] == "api", s[2] == "backups", !s[3].isEmpty {
            return ok(get, .backup, [s[3]])
        }
        if s.count == 7, s[0] == "dbapi", s[1] == "api", s[2] == "databases", s[4] == "backups", s[6] == "archive",
            !s[3].isEmpty, !s[5].isEmpty
        {
            return ok(get, .archiveURL, [s[3], s[5]])
        }
        if s.count == 3, s[0] == "download", !s[1].isEmpty, !s[2].isEmpty {
            return ok(get, .download, [s[1], s[2]])
        }
        return .none
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let matched = Self.match(method: request.method, path: request.path)
        var route: S.Route?
        let response: HTTPResponse
        switch matched {
        case .none:
            response = .json(404, ["error": "not found"])
        case .wrongMethod:
            response = .json(405, ["error": "method not allowed"])
        case .route(let r, let captures):
            route = r
            if let fault = takeFault(r) {
                response = fault
            } else {
                response = dispatch(r, captures, request)
            }
        }
        log(request, route: route, status: response.status)
        return response
    }

    private func log(_ request: HTTPRequest, route: S.Route?, status: Int) {
        let auth = request.header("authorization")
        let scheme = auth.flatMap { $0.split(separator: " ", maxSplits: 1).first.map(String.init) }
        let entry = S.LoggedRequest(
            method: request.method, path: request.path, route: route, hadAuthorization: auth != nil,
            authorizationScheme: scheme, range: request.header("range"), userAgent: request.header("user-agent"),
            accept: request.header("accept"), status: status, date: Date())
        state.withLock { $0.log.append(entry) }
    }

    private func takeFault(_ route: S.Route) -> HTTPResponse? {
        state.withLock { s -> HTTPResponse? in
            guard var queue = s.faults[route], !queue.isEmpty else { return nil }
            let fault = queue[0]
            queue[0].remaining -= 1
            if queue[0].remaining <= 0 { queue.removeFirst() }
            s.faults[route] = queue
            return HTTPResponse(
                status: fault.status, headers: [("Content-Type", fault.contentType)] + fault.headers,
                body: .data(Data(fault.body.utf8)))
        }
    }

    private func dispatch(_ route: S.Route, _ c: [String], _ request: HTTPRequest) -> HTTPResponse {
        switch route {
        case .tokenExchange: return exchangeToken(request)
        case .userSelf: return userSelf(request)
        case .regions: return regions(request)
        case .addon: return showAddon(app: c[0], addonID: c[1], request)
        case .addons: return listAddons(app: c[0], request)
        case .addonToken: return addonToken(app: c[0], addonID: c[1], request)
        case .variables: return listVariables(app: c[0], request)
        case .backups: return listBackups(addonID: c[0], request)
        case .backup: return showBackup(id: c[0], request)
        case .archiveURL: return archiveURL(addonID: c[0], backupID: c[1], request)
        case .download: return download(key: c[0], fileName: c[1], request)
        }
    }

    // MARK: Tokens

    private func makeJWT(_ claims: [String: Any]) -> String {
        let header = ["alg": "HS512", "typ": "JWT"]
        func encode(_ object: Any) -> String {
            S.base64URL((try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data())
        }
        return "\(encode(header)).\(encode(claims)).\(S.base64URL(S.randomBytes(64)))"
    }

    private func exchangeToken(_ request: HTTPRequest) -> HTTPResponse {
        guard let auth = request.header("authorization") else {
            return .json(401, ["error": "no authentication provided"])
        }
        let parts = auth.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)),
            let pair = String(data: decoded, encoding: .utf8), let colon = pair.firstIndex(of: ":")
        else {
            return .json(401, ["error": "invalid authentication header, basic auth expected"])
        }
        let user = pair[..<colon]
        let password = pair[pair.index(after: colon)...]
        return state.withLock { s -> HTTPResponse in
            guard user.isEmpty, password == s.apiToken else {
                return .json(401, ["error": "invalid credentials"])
            }
            let now = Date()
            let exp = now.addingTimeInterval(s.jwtLifetime)
            let jwt = makeJWT([
                "iss": "Scalingo Test", "iat": Int(now.timeIntervalSince1970), "exp": Int(exp.timeIntervalSince1970),
                "uuid": "us-0000aaaa-bbbb-cccc-dddd-eeeeffff0000", "rnd": S.randomHex(16),
            ])
            s.tokens[jwt] = S.IssuedToken(kind: .api, expiresAt: exp)
            s.tokenExchanges += 1
            return .json(200, ["token": jwt])
        }
    }

    private enum AuthResult {
        case ok(S.TokenKind)
        case denied(HTTPResponse)
    }

    private func bearer(_ request: HTTPRequest) -> AuthResult {
        guard let auth = request.header("authorization") else {
            return .denied(.json(401, ["error": "no authentication provided"]))
        }
        let parts = auth.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return .denied(.json(401, ["error": "invalid authentication header, bearer token expected"]))
        }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return state.withLock { s -> AuthResult in
            guard let issued = s.tokens[token] else { return .denied(.json(401, ["error": "invalid token"])) }
            guard issued.expiresAt > Date() else { return .denied(.json(401, ["error": "token has expired"])) }
            return .ok(issued.kind)
        }
    }

    private func requireAPIToken(_ request: HTTPRequest) -> HTTPResponse? {
        switch bearer(request) {
        case .denied(let response): return response
        case .ok(.api): return nil
        case .ok(.addon): return .json(401, ["error": "invalid token for this API"])
        }
    }

    /// Checks for an addon token; returns the addon it was issued for, or the error response.
    private func requireAddonToken(_ request: HTTPRequest) -> Result<String, DeniedResponse> {
        switch bearer(request) {
        case .denied(let response): return .failure(DeniedResponse(response: response))
        case .ok(.api): return .failure(DeniedResponse(response: .json(401, ["error": "invalid addon token"])))
        case .ok(.addon(_, let addonID)): return .success(addonID)
        }
    }

    struct DeniedResponse: Error { var response: HTTPResponse }

    // MARK: API

    private func addonJSON(_ addon: S.Addon, appID: String) -> [String: Any] {
        [
            "id": addon.id,
            "app_id": appID,
            "resource_id": addon.resourceID,
            "status": addon.status,
            "provisioned_at": "2023-01-10T09:00:00.000Z",
            "deprovisioned_at": NSNull(),
            "plan": [
                "id": S.randomHex(24), "name": addon.planName, "display_name": addon.planDisplayName,
                "description": "", "position": 1, "on_demand": false, "disabled": false, "sku": "",
                "price": 0,
            ] as [String: Any],
            "addon_provider": [
                "id": addon.providerID, "name": addon.providerName, "short_description": addon.providerName,
            ],
        ]
    }

    /// The account behind the API token (go-scalingo's `Self`: `{"user": …}`).
    private func userSelf(_ request: HTTPRequest) -> HTTPResponse {
        if let denied = requireAPIToken(request) { return denied }
        return .json(200, ["user": [
            "id": "us-0000aaaa-bbbb-cccc-dddd-eeeeffff0000", "username": "recette-standin", "fullname": "Recette Stand-in",
            "email": "standin@recette.invalid", "flags": [String: Bool](),
        ] as [String: Any]])
    }

    /// One region, this stand-in; the CLI caches the list (`RegionsList`: `{"regions": […]}`).
    private func regions(_ request: HTTPRequest) -> HTTPResponse {
        if request.header("authorization") != nil, let denied = requireAPIToken(request) { return denied }
        let base = state.withLock { "http://127.0.0.1:\($0.port)" }
        return .json(200, ["regions": [[
            "name": "osc-fr1", "display_name": "Paris - Outscale", "ssh": "127.0.0.1:22", "api": base + "/api",
            "dashboard": base + "/dashboard", "database_api": base + "/dbapi", "default": true,
        ] as [String: Any]]])
    }

    private func showAddon(app: String, addonID: String, _ request: HTTPRequest) -> HTTPResponse {
        if let denied = requireAPIToken(request) { return denied }
        return state.withLock { s -> HTTPResponse in
            guard let found = s.apps[app] else { return .json(404, ["resource": "app", "error": "not found"]) }
            guard let addon = found.addons.first(where: { $0.id == addonID }) else {
                return .json(404, ["resource": "addon", "error": "not found"])
            }
            return .json(200, ["addon": addonJSON(addon, appID: found.id)])
        }
    }

    private func listAddons(app: String, _ request: HTTPRequest) -> HTTPResponse {
        if let denied = requireAPIToken(request) { return denied }
        return state.withLock { s -> HTTPResponse in
            guard let found = s.apps[app] else { return .json(404, ["resource": "app", "error": "not found"]) }
            return .json(200, ["addons": found.addons.map { addonJSON($0, appID: found.id) }])
        }
    }

    /// go-scalingo's `VariablesList`: `{"variables":[{"id","name","value"}]}`, by name; an
    /// addon token is refused like on the other API routes.
    private func listVariables(app: String, _ request: HTTPRequest) -> HTTPResponse {
        if let denied = requireAPIToken(request) { return denied }
        return state.withLock { s -> HTTPResponse in
            guard let found = s.apps[app] else { return .json(404, ["resource": "app", "error": "not found"]) }
            let variables: [[String: Any]] = found.variables.keys.sorted().map { name in
                ["id": "\(found.id)-\(name)", "name": name, "value": found.variables[name] ?? ""]
            }
            return .json(200, ["variables": variables])
        }
    }

    private func addonToken(app: String, addonID: String, _ request: HTTPRequest) -> HTTPResponse {
        if let denied = requireAPIToken(request) { return denied }
        if !request.body.isEmpty, (try? JSONSerialization.jsonObject(with: request.body)) == nil {
            return .json(400, ["error": "invalid JSON body"])
        }
        return state.withLock { s -> HTTPResponse in
            guard let found = s.apps[app] else { return .json(404, ["resource": "app", "error": "not found"]) }
            guard let addon = found.addons.first(where: { $0.id == addonID }) else {
                return .json(404, ["resource": "addon", "error": "not found"])
            }
            let now = Date()
            let exp = now.addingTimeInterval(s.addonTokenLifetime)
            let token = makeJWT([
                "iss": "Scalingo Test", "iat": Int(now.timeIntervalSince1970), "exp": Int(exp.timeIntervalSince1970),
                "addon_id": addon.id, "app_id": found.id, "rnd": S.randomHex(16),
            ])
            s.tokens[token] = S.IssuedToken(kind: .addon(appName: app, addonID: addon.id), expiresAt: exp)
            s.addonTokens += 1
            var json = addonJSON(addon, appID: found.id)
            json["token"] = token
            return .json(200, ["addon": json])
        }
    }

    // MARK: DB API

    private static func fileSize(_ url: URL?) -> Int64? {
        guard let url else { return nil }
        var st = stat()
        guard stat(url.path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    private func backupJSON(_ b: S.Backup, databaseID: String) -> [String: Any] {
        [
            "id": b.id, "created_at": b.createdAt, "started_at": b.startedAt ?? NSNull(), "name": b.name,
            "size": b.size ?? Self.fileSize(b.archive) ?? 0, "status": b.status, "database_id": databaseID,
            "method": b.method,
        ]
    }

    private static func sorted(_ backups: [S.Backup], _ order: S.ListOrder) -> [S.Backup] {
        func date(_ b: S.Backup) -> Date { S.parseTimestamp(b.createdAt) ?? .distantPast }
        switch order {
        case .asConfigured: return backups
        case .newestFirst: return backups.sorted { date($0) > date($1) }
        case .oldestFirst: return backups.sorted { date($0) < date($1) }
        case .unfinishedFirstThenOldest:
            let unfinished = backups.filter { $0.status != "done" }.sorted { date($0) > date($1) }
            let done = backups.filter { $0.status == "done" }.sorted { date($0) < date($1) }
            return unfinished + done
        }
    }

    /// The addon must exist in some app, and the token must be for it.
    private func authorizeDatabase(_ addonID: String, _ request: HTTPRequest) -> HTTPResponse? {
        switch requireAddonToken(request) {
        case .failure(let denied): return denied.response
        case .success(let tokenAddon):
            guard tokenAddon == addonID else {
                return .json(403, ["error": "this token does not give access to database \(addonID)"])
            }
            return nil
        }
    }

    private func listBackups(addonID: String, _ request: HTTPRequest) -> HTTPResponse {
        if let denied = authorizeDatabase(addonID, request) { return denied }
        let (backups, databaseID, order) = state.withLock { s in
            (s.backupSets[addonID]?.backups ?? [], s.backupSets[addonID]?.databaseID ?? "", s.listOrder)
        }
        return .json(
            200, ["database_backups": Self.sorted(backups, order).map { backupJSON($0, databaseID: databaseID) }])
    }

    private func findBackup(_ id: String, addonID: String) -> (S.Backup, String)? {
        state.withLock { s in
            guard let set = s.backupSets[addonID], let b = set.backups.first(where: { $0.id == id }) else { return nil }
            return (b, set.databaseID)
        }
    }

    private func showBackup(id: String, _ request: HTTPRequest) -> HTTPResponse {
        let tokenAddon: String
        switch requireAddonToken(request) {
        case .failure(let denied): return denied.response
        case .success(let a): tokenAddon = a
        }
        guard let (backup, databaseID) = findBackup(id, addonID: tokenAddon) else {
            return .json(404, ["resource": "backup", "error": "not found"])
        }
        return .json(200, ["database_backup": backupJSON(backup, databaseID: databaseID)])
    }

    private func archiveURL(addonID: String, backupID: String, _ request: HTTPRequest) -> HTTPResponse {
        if let denied = authorizeDatabase(addonID, request) { return denied }
        guard let (backup, _) = findBackup(backupID, addonID: addonID) else {
            return .json(404, ["resource": "backup", "error": "not found"])
        }
        guard backup.status == "done", backup.archive != nil else {
            return .json(422, ["errors": ["status": ["backup is not done (\(backup.status))"]]])
        }
        return .json(200, ["download_url": presign(addonID: addonID, backup: backup)])
    }

    /// Issues a pre-signed URL for a backup's archive, valid for `downloadURLLifetime`.
    func presign(addonID: String, backup: S.Backup) -> String {
        let backupID = backup.id
        let key = S.randomHex(32)
        let fileName = "\(backup.name).tar.gz"
        let signature = S.randomHex(64)
        let now = Date()
        let port = state.withLock { s -> Int in
            s.presigned[key] = S.PresignedURL(
                addonID: addonID, backupID: backupID, fileName: fileName, signature: signature,
                expiresAt: now.addingTimeInterval(s.downloadURLLifetime))
            return s.port
        }
        let lifetime = Int(downloadURLLifetime)
        let encodedName = fileName.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? fileName
        let amzDate = S.timestamp(now, fractionalSeconds: false)
            .replacingOccurrences(of: "-", with: "").replacingOccurrences(of: ":", with: "")
        let dateOnly = String(amzDate.prefix(8))
        let url =
            "http://127.0.0.1:\(port)/download/\(key)/\(encodedName)"
            + "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            + "&X-Amz-Credential=STANDINACCESSKEY%2F\(dateOnly)%2Feu-west-3%2Fs3%2Faws4_request"
            + "&X-Amz-Date=\(amzDate)&X-Amz-Expires=\(lifetime)&X-Amz-SignedHeaders=host"
            + "&X-Amz-Signature=\(signature)"
        return url
    }

    private var downloadURLLifetime: TimeInterval { state.withLock { $0.downloadURLLifetime } }

    // MARK: Object storage

    private static func s3Error(_ status: Int, code: String, message: String) -> HTTPResponse {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <Error><Code>\(code)</Code><Message>\(message)</Message><RequestId>\(S.randomHex(16).uppercased())</RequestId></Error>
            """
        return .text(status, xml, contentType: "application/xml")
    }

    private func download(key: String, fileName: String, _ request: HTTPRequest) -> HTTPResponse {
        if request.header("authorization") != nil {
            return Self.s3Error(
                400, code: "InvalidArgument",
                message:
                    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
            )
        }
        let presigned = state.withLock { $0.presigned[key] }
        guard let presigned, presigned.fileName == fileName,
            request.query["X-Amz-Signature"] == presigned.signature,
            request.query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
        else {
            return Self.s3Error(
                403, code: "SignatureDoesNotMatch",
                message: "The request signature we calculated does not match the signature you provided.")
        }
        guard presigned.expiresAt > Date() else {
            return Self.s3Error(403, code: "AccessDenied", message: "Request has expired")
        }
        guard let (backup, _) = findBackup(presigned.backupID, addonID: presigned.addonID), let file = backup.archive,
            let total = Self.fileSize(file)
        else {
            return Self.s3Error(404, code: "NoSuchKey", message: "The specified key does not exist.")
        }

        let (ignoreRange, omitLength) = state.withLock { ($0.ignoreRange, $0.omitContentLength) }
        var headers: [(String, String)] = [
            ("Content-Type", "application/x-gzip"),
            ("Accept-Ranges", "bytes"),
            ("ETag", "\"\(Self.etag(backup.id, total))\""),
            ("Last-Modified", Self.httpDate(Self.modificationDate(file))),
            ("x-amz-request-id", S.randomHex(16).uppercased()),
        ]

        var status = 200
        var body = HTTPResponseBody.file(file)
        if let range = request.header("range"), !ignoreRange, ifRangeMatches(request, etag: Self.etag(backup.id, total)) {
            switch Self.parseRange(range, total: total) {
            case .whole:
                break
            case .unsatisfiable:
                return HTTPResponse(
                    status: 416,
                    headers: [("Content-Type", "application/xml"), ("Content-Range", "bytes */\(total)")],
                    body: .data(Data(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message><RangeRequested>\(range)</RangeRequested><ActualObjectSize>\(total)</ActualObjectSize></Error>"
                            .utf8)))
            case .slice(let start, let end):
                status = 206
                body = .fileRange(file, offset: start, length: end - start + 1)
                headers.append(("Content-Range", "bytes \(start)-\(end)/\(total)"))
            }
        }

        var response = HTTPResponse(status: status, headers: headers, body: body, omitContentLength: omitLength)
        if request.method == "GET" {
            state.withLock { s in
                if let drop = s.drop {
                    response.dropConnectionAfterBytes = drop.bytes
                    response.dropWithReset = drop.reset
                    if !drop.always { s.drop = nil }
                }
            }
        }
        return response
    }

    private func ifRangeMatches(_ request: HTTPRequest, etag: String) -> Bool {
        guard let ifRange = request.header("if-range") else { return true }
        if ifRange.hasPrefix("\"") || ifRange.hasPrefix("W/") { return ifRange == "\"\(etag)\"" }
        return true  // a date: accepted (the archive never changes while served)
    }

    enum RangeSpec: Equatable {
        case whole  // not a single byte range we honour: send 200
        case unsatisfiable
        case slice(Int64, Int64)  // inclusive
    }

    /// `bytes=N-`, `bytes=N-M`, `bytes=-S`. Several ranges: answered with the whole file.
    static func parseRange(_ header: String, total: Int64) -> RangeSpec {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes=") else { return .whole }
        let spec = trimmed.dropFirst(6).trimmingCharacters(in: .whitespaces)
        guard !spec.contains(",") else { return .whole }
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return .whole }
        let first = parts[0].trimmingCharacters(in: .whitespaces)
        let last = parts[1].trimmingCharacters(in: .whitespaces)
        if first.isEmpty {
            guard let suffix = Int64(last), suffix >= 0 else { return .whole }
            if suffix == 0 || total == 0 { return .unsatisfiable }
            return .slice(max(0, total - suffix), total - 1)
        }
        guard let start = Int64(first), start >= 0 else { return .whole }
        if start >= total { return .unsatisfiable }
        if last.isEmpty { return .slice(start, total - 1) }
        guard let end = Int64(last), end >= start else { return .whole }
        return .slice(start, min(end, total - 1))
    }

    private static func etag(_ id: String, _ size: Int64) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(id)/\(size)".utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + String(repeating: "0", count: 16)
    }

    private static func modificationDate(_ url: URL) -> Date {
        var st = stat()
        guard stat(url.path, &st) == 0 else { return Date() }
        #if canImport(Darwin)
        return Date(timeIntervalSince1970: TimeInterval(st.st_mtimespec.tv_sec))
        #else
        return Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec))
        #endif
    }

    private static func httpDate(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) "
            + "\(parts.tm_year + 1900) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
