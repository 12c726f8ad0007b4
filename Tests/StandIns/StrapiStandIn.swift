// A stand-in for a Strapi v4 admin with strapi-plugin-meilisearch (0.12 era), on a
// LoopbackHTTPServer (127.0.0.1 only).
//
// It reads the restored PostgreSQL database (RecetteKit.PostgresConnection) and writes to a
// Meilisearch URL, exactly as the plugin's "Update" button does, bug included: the batch
// size comes from `entriesQuery.limit || 500`, and the loop
//     for (index = 0; index < count; index += batchSize)
// is run with JavaScript semantics. With a string limit ("5000", as read from an environment
// variable) `+=` concatenates: 0 → "05000" → "050005000", and `<` compares numerically, so
// exactly two batches run and the index stops at 10,000 documents.
//
// Routes: GET/HEAD /_health, POST /admin/login, and the plugin's admin routes
// GET/POST/PUT /meilisearch/content-type, DELETE /meilisearch/content-type/{uid}.

import Foundation
import RecetteKit
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import RecetteWorld

public final class StrapiStandIn: Sendable {
    // MARK: Public types

    /// A collection type the plugin knows.
    public struct ContentType: Sendable, Equatable {
        /// `api::offre-de-stage.offre-de-stage`
        public var uid: String
        /// The table: `offres_de_stage`.
        public var collectionName: String
        /// The Meilisearch index: `offre-de-stage`.
        public var indexUID: String
        /// The model's singular name: `offre-de-stage` (prefix of `_meilisearch_id`).
        public var modelName: String
        /// Columns of attributes marked `private: true`, which the plugin removes.
        public var privateColumns: Set<String>
        /// The index settings of the plugin's config (JSON object), sent whenever the plugin
        /// (re)creates the index; nil: none configured (`{}` is sent).
        public var settings: String?
        /// Entry ids the project's `transformEntry` throws on: the plugin then drops the whole
        /// batch holding one (it logs and indexes nothing of it), and answers as if all was well.
        public var transformThrowsOn: Set<Int>

        public init(uid: String, collectionName: String, indexUID: String, modelName: String, privateColumns: Set<String> = [],
                    settings: String? = nil, transformThrowsOn: Set<Int> = []) {
            self.uid = uid
            self.collectionName = collectionName
            self.indexUID = indexUID
            self.modelName = modelName
            self.privateColumns = privateColumns
            self.settings = settings
            self.transformThrowsOn = transformThrowsOn
        }

        /// The sample database's offers (`SampleDatabaseSQL`).
        public static let offers = ContentType(
            uid: "api::offre-de-stage.offre-de-stage", collectionName: "offres_de_stage", indexUID: "offre-de-stage",
            modelName: "offre-de-stage")
        /// The sample database's housing ads.
        public static let housingAds = ContentType(
            uid: "api::annonce-de-logement.annonce-de-logement", collectionName: "annonces_de_logement",
            indexUID: "annonce-de-logement", modelName: "annonce-de-logement")
        /// users-permissions' users: every Strapi has it and the plugin lists it (it ignores only
        /// the admin, upload and i18n plugins and users-permissions' roles and permissions),
        /// under the index named after its model. Its secrets are private attributes.
        public static let users = ContentType(
            uid: "plugin::users-permissions.user", collectionName: "up_users", indexUID: "user", modelName: "user",
            privateColumns: ["password", "reset_password_token", "confirmation_token"])
    }

    /// The plugin's `entriesQuery.limit`.
    public enum BatchSize: Sendable, Equatable {
        /// Not configured: the plugin's default, the number 500.
        case unset
        /// A number, as in a JavaScript config file.
        case number(Double)
        /// A string, as read from an environment variable: the bug.
        case string(String)
    }

    /// Whose credentials `POST /admin/login` accepts.
    public enum AdminLogin: Sendable, Equatable {
        /// The `adminEmail`/`adminPassword` pair given to the stand-in, whatever the database holds.
        case configured
        /// Strapi's own check (`auth.checkCredentials`): the `admin_users` row whose e-mail is the
        /// lower-cased one given, its stored hash compared with bcrypt (bcryptjs's `compare`);
        /// no row, no hash or another password: "Invalid credentials"; not active: "User not
        /// active"; blocked: refused too. The admin's roles must include the super admin's for
        /// the plugin routes (a super admin holds every permission).
        case storedInDatabase
    }

    public enum Health: Sendable, Equatable {
        /// `/_health` answers 204 and the admin works.
        case up
        /// Every request gets 503 (a proxy in front of a CMS that is not up).
        case serviceUnavailable
        /// Every connection is closed without an answer (new ones as soon as accepted).
        case noAnswer
    }

    /// One request received (no body, no token).
    public struct LoggedRequest: Sendable {
        public var method: String
        public var path: String
        public var hadAuthorization: Bool
        public var status: Int
        public var date: Date
    }

    /// One run of the plugin's indexing loop (POST or PUT /meilisearch/content-type).
    public struct ReindexRun: Sendable {
        public struct Batch: Sendable {
            /// The loop's `index` as JavaScript would print it: `0`, `05000`.
            public var index: String
            /// OFFSET and LIMIT of the database read.
            public var offset: Int
            public var limit: Int
            public var documents: Int
            public var taskUID: Int?
        }

        public var contentType: String
        /// true for PUT (delete the index, then reindex).
        public var update: Bool
        /// `count` of the loop: all rows of the table, drafts included.
        public var count: Int
        public var batches: [Batch]
        /// The plugin's error message, when it answered `{"error": …}`.
        public var error: String?
    }

    // MARK: State

    let core: StrapiCore
    private let server: LoopbackHTTPServer

    /// - Parameters:
    ///   - databaseURL: libpq connection string or `postgresql://` URL of the restored database.
    ///   - meilisearchURL: where the plugin writes (any Meilisearch, or the stand-in).
    ///   - meilisearchAPIKey: sent as `Authorization: Bearer KEY` (nil: no header).
    ///   - contentTypes: the CMS's content types, all of which the plugin lists and can index.
    ///   - batchSize: the plugin's `entriesQuery.limit`.
    ///   - model: the CMS source's model, which shapes the documents of the content types it declares.
    ///   - adminPermissions: the plugin actions the admin's role grants (`create`, `update`,
    ///     `delete`, as in `plugin::meilisearch.collections.create`); a route whose action is
    ///     missing answers 403, as Strapi's `admin::hasPermissions` policy does.
    public init(
        databaseURL: String, meilisearchURL: URL, meilisearchAPIKey: String?,
        adminEmail: String = "admin@recette.test", adminPassword: String = "Recette-Admin-1",
        adminPermissions: Set<String> = ["create", "update", "delete"], adminLogin: AdminLogin = .configured,
        contentTypes: [ContentType] = [.offers, .housingAds, .users], batchSize: BatchSize = .unset,
        model: StrapiModel? = nil, port: Int = 0
    ) throws {
        let core = StrapiCore(
            configuration: .init(
                databaseURL: databaseURL, meilisearchURL: meilisearchURL, apiKey: meilisearchAPIKey,
                adminEmail: adminEmail, adminPassword: adminPassword, adminPermissions: adminPermissions, adminLogin: adminLogin,
                contentTypes: contentTypes, batchSize: batchSize, model: model))
        self.core = core
        server = try LoopbackHTTPServer(port: port) { request in core.handle(request) }
    }

    deinit { server.stop() }

    public func stop() { server.stop() }

    public var baseURL: URL { server.baseURL }

    public var health: Health {
        get { core.state.withLock { $0.health } }
        set {
            core.state.withLock { s in
                s.health = newValue
                s.probesBeforeUp = nil
            }
            // No answer at all: open connections dropped, new ones closed on accept.
            server.closesConnectionsOnAccept = newValue == .noAnswer
            if newValue == .noAnswer { server.dropConnections() }
        }
    }

    /// Answers 503 to the next `probes` requests to `/_health` (and to everything else
    /// meanwhile), then comes up: a CMS that takes a while to start.
    public func comeUp(afterProbes probes: Int) {
        server.closesConnectionsOnAccept = false
        core.state.withLock { s in
            s.health = probes > 0 ? .serviceUnavailable : .up
            s.probesBeforeUp = probes > 0 ? probes : nil
        }
    }

    public var requestLog: [LoggedRequest] { core.state.withLock { $0.log } }
    public var reindexRuns: [ReindexRun] { core.state.withLock { $0.runs } }
    /// Content types the plugin believes indexed (its store).
    public var indexedContentTypes: Set<String> { core.state.withLock { $0.indexed ?? [] } }
}

// MARK: - Engine

final class StrapiCore: @unchecked Sendable {
    typealias S = StrapiStandIn

    struct Configuration: Sendable {
        var databaseURL: String
        var meilisearchURL: URL
        var apiKey: String?
        var adminEmail: String
        var adminPassword: String
        var adminPermissions: Set<String>
        var adminLogin: S.AdminLogin
        var contentTypes: [S.ContentType]
        var batchSize: S.BatchSize
        /// The CMS source's model: the documents of the content types it declares are built
        /// from it (`ModelDocumentBuilder`), the others from their table's columns.
        var model: StrapiModel?
    }

    struct State {
        var health: S.Health = .up
        var probesBeforeUp: Int?
        var tokens: Set<String> = []
        var log: [S.LoggedRequest] = []
        var runs: [S.ReindexRun] = []
        /// The plugin's store, loaded from `strapi_core_store_settings` on first use.
        var indexed: Set<String>?
        var listened: Set<String> = []
    }

    let configuration: Configuration
    let state = LoopbackLocked(State())
    let meilisearch: BlockingHTTPClient

    init(configuration: Configuration) {
        self.configuration = configuration
        meilisearch = BlockingHTTPClient()
    }

    // MARK: Responses

    static func json(_ status: Int, _ value: StandInJSON) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json; charset=utf-8")], body: .data(value.data))
    }

    /// Strapi v4's error envelope.
    static func strapiError(_ status: Int, _ name: String, _ message: String) -> HTTPResponse {
        json(
            status,
            .obj(["data": .null,
                  "error": .obj(["status": .int(status), "name": .string(name), "message": .string(message),
                                 "details": .object([])])]))
    }

    // MARK: Handling

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let response = route(request)
        let entry = S.LoggedRequest(
            method: request.method, path: request.path, hadAuthorization: request.header("authorization") != nil,
            status: response.closeWithoutResponse ? 0 : response.status, date: Date())
        state.withLock { $0.log.append(entry) }
        return response
    }

    private func route(_ request: HTTPRequest) -> HTTPResponse {
        let isHealth = request.path == "/_health"
        let health = state.withLock { s -> S.Health in
            if isHealth, let remaining = s.probesBeforeUp {
                if remaining <= 0 {
                    s.health = .up
                    s.probesBeforeUp = nil
                } else {
                    s.probesBeforeUp = remaining - 1
                }
            }
            return s.health
        }
        switch health {
        case .noAnswer: return .noResponse()
        case .serviceUnavailable: return Self.strapiError(503, "ServiceUnavailableError", "Service Unavailable")
        case .up: break
        }

        switch (request.method, request.path) {
        case ("GET", "/_health"), ("HEAD", "/_health"):
            return HTTPResponse(status: 204, headers: [("strapi", "You are so French!")])
        case ("POST", "/admin/login"):
            return login(request)
        case (_, let path) where path == "/meilisearch/content-type" || path.hasPrefix("/meilisearch/content-type/"):
            guard authorized(request) else {
                return Self.strapiError(401, "UnauthorizedError", "Missing or invalid credentials")
            }
            let body = (try? StandInJSON.parse(request.body)) ?? .object([])
            let action = ["POST": "create", "PUT": "update", "DELETE": "delete"][request.method]
            if let action, !configuration.adminPermissions.contains(action) {
                return Self.strapiError(403, "PolicyError", "Policy Failed")
            }
            switch request.method {
            case "GET" where path == "/meilisearch/content-type":
                return Self.json(200, .obj(["data": contentTypesReport()]))
            case "POST" where path == "/meilisearch/content-type":
                return indexContentType(body["contentType"]?.stringValue ?? "", update: false)
            case "PUT" where path == "/meilisearch/content-type":
                return indexContentType(body["contentType"]?.stringValue ?? "", update: true)
            case "DELETE" where path != "/meilisearch/content-type":
                let uid = String(path.dropFirst("/meilisearch/content-type/".count)).removingPercentEncoding ?? ""
                return removeContentType(uid)
            default:
                return Self.strapiError(405, "MethodNotAllowedError", "Method Not Allowed")
            }
        default:
            return Self.strapiError(404, "NotFoundError", "Not Found")
        }
    }

    private func login(_ request: HTTPRequest) -> HTTPResponse {
        guard let body = try? StandInJSON.parse(request.body) else {
            return Self.strapiError(400, "BadRequestError", "Invalid JSON")
        }
        guard let email = body["email"]?.stringValue, let password = body["password"]?.stringValue else {
            return Self.strapiError(400, "ApplicationError", "Missing credentials")
        }
        // Strapi lower-cases the e-mail before looking the user up.
        var id = 1
        switch configuration.adminLogin {
        case .configured:
            guard email.lowercased() == configuration.adminEmail.lowercased(), password == configuration.adminPassword else {
                return Self.strapiError(400, "ApplicationError", "Invalid credentials")
            }
        case .storedInDatabase:
            switch storedAdmin(email: email.lowercased(), password: password) {
            case .success(let found): id = found
            case .failure(let refusal): return Self.strapiError(400, "ApplicationError", refusal.message)
            }
        }
        let token = Self.jwt()
        state.withLock { _ = $0.tokens.insert(token) }
        let user = StandInJSON.obj([
            "id": .int(id), "firstname": .string("Admin"), "lastname": .string("Recette"), "username": .null,
            "email": .string(email.lowercased()), "isActive": .bool(true), "blocked": .bool(false),
            "preferedLanguage": .null, "createdAt": .string("2022-09-01T08:00:00.000Z"),
            "updatedAt": .string("2022-09-01T08:00:00.000Z"),
        ])
        return Self.json(200, .obj(["data": .obj(["token": .string(token), "user": user])]))
    }

    struct LoginRefusal: Error {
        var message: String
    }

    /// The stored admin's id when `password` is its password and it may log in.
    private func storedAdmin(email: String, password: String) -> Result<Int, LoginRefusal> {
        let row: [String?]
        do {
            let rows = try connect().query("""
                SELECT u.id::text, u.password, u.is_active::text, coalesce(u.blocked, false)::text,
                       EXISTS (SELECT 1 FROM admin_users_roles_links l JOIN admin_roles r ON r.id = l.role_id
                               WHERE l.user_id = u.id AND r.code = 'strapi-super-admin')::text
                FROM admin_users u WHERE u.email = $1
                """, [email]).rows
            guard let first = rows.first else { return .failure(LoginRefusal(message: "Invalid credentials")) }
            row = first
        } catch {
            return .failure(LoginRefusal(message: "Invalid credentials (\(error))"))
        }
        guard let hash = row[1], Bcrypt.verify(password, against: hash) else { return .failure(LoginRefusal(message: "Invalid credentials")) }
        guard row[2] == "true" else { return .failure(LoginRefusal(message: "User not active")) }
        guard row[3] == "false" else { return .failure(LoginRefusal(message: "User blocked")) }
        // A super admin holds every permission; other roles would need admin_permissions,
        // which this stand-in does not read: it refuses them rather than guess.
        guard row[4] == "true" else { return .failure(LoginRefusal(message: "not a super admin (the stand-in checks no other role)")) }
        return .success(Int(row[0] ?? "") ?? 0)
    }

    private func authorized(_ request: HTTPRequest) -> Bool {
        guard let header = request.header("authorization") else { return false }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        let token = String(parts[1])
        return state.withLock { $0.tokens.contains(token) }
    }

    /// An admin JWT: `{"id":1,"iat","exp"}`, HS256-shaped, random signature.
    private static func jwt() -> String {
        let now = Int(Date().timeIntervalSince1970)
        let header = ScalingoStandIn.base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = ScalingoStandIn.base64URL(Data(#"{"id":1,"iat":\#(now),"exp":\#(now + 30 * 86400)}"#.utf8))
        return "\(header).\(payload).\(ScalingoStandIn.base64URL(ScalingoStandIn.randomBytes(32)))"
    }

    // MARK: Meilisearch calls (meilisearch-js semantics)

    /// What meilisearch-js throws.
    enum MeiliCallError: Error {
        /// MeiliSearchApiError: the error body's message and link.
        case api(message: String, link: String?)
        /// MeiliSearchCommunicationError: no HTTP answer.
        case communication(String)
    }

    private func meili(_ method: String, _ path: String, query: String? = nil, body: Data? = nil) throws -> StandInJSON {
        var components = URLComponents(url: configuration.meilisearchURL, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = components.percentEncodedPath.trimmingSuffix("/") + path
        components.percentEncodedQuery = query
        var headers = [("X-Meilisearch-Client", "Meilisearch Strapi (v0.12.0) ; Meilisearch JavaScript (v0.34.0)")]
        if let key = configuration.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let (status, data): (Int, Data)
        do {
            (status, data) = try meilisearch.send(method: method, url: components.url!, headers: headers, body: body)
        } catch {
            throw MeiliCallError.communication("\(error)")
        }
        let json = (try? StandInJSON.parse(data)) ?? .null
        guard (200..<300).contains(status) else {
            throw MeiliCallError.api(
                message: json["message"]?.stringValue ?? "Meilisearch answered \(status)", link: json["link"]?.stringValue)
        }
        return json
    }

    /// The plugin's answer when a call fails: status 200 and `{"error": …}` (error service).
    private func pluginError(_ error: Error) -> (HTTPResponse, String) {
        switch error {
        case MeiliCallError.api(let message, let link):
            let body = StandInJSON.obj([
                "error": .obj([
                    "message": .string(message),
                    "link": .obj([
                        "url": .string(link ?? "https://docs.meilisearch.com/"),
                        "label": .obj(["id": .string("notification.meilisearch"), "defaultMessage": .string("See more")]),
                    ]),
                ])
            ])
            return (Self.json(200, body), message)
        case MeiliCallError.communication:
            let message = "Could not connect with Meilisearch, please check your host: \(configuration.meilisearchURL.absoluteString)"
            return (Self.json(200, .obj(["error": .obj(["message": .string(message)])])), message)
        default:
            let message = "\(error)"
            return (Self.json(200, .obj(["error": .obj(["message": .string(message)])])), message)
        }
    }

    // MARK: Plugin store

    /// Loads the plugin's store from the database once (indexed and listened content types).
    private func loadStore(_ connection: PostgresConnection?) {
        guard state.withLock({ $0.indexed == nil }) else { return }
        var indexed: Set<String> = []
        var listened: Set<String> = []
        if let connection,
            let rows = try? connection.query(
                "SELECT key, value FROM strapi_core_store_settings WHERE key IN ($1, $2)",
                [ModelSearchIndexes.indexedContentTypesKey, "plugin_meilisearch_meilisearch_listened_content_types"]
            ).rows
        {
            for row in rows {
                let values = row[1].flatMap { try? StandInJSON.parse($0) }?.stringArray ?? []
                if row[0] == ModelSearchIndexes.indexedContentTypesKey { indexed = Set(values) } else { listened = Set(values) }
            }
        }
        state.withLock { s in
            if s.indexed == nil {
                s.indexed = indexed
                s.listened.formUnion(listened)
            }
        }
    }

    private func connect() throws -> PostgresConnection {
        let connection = try PostgresConnection(url: configuration.databaseURL)
        try connection.execute("SET TimeZone = 'UTC'")
        return connection
    }

    // MARK: GET /meilisearch/content-type

    private func contentTypesReport() -> StandInJSON {
        let connection = try? connect()
        loadStore(connection)
        // getIndexUids: the indexes listed by GET /stats, [] when Meilisearch fails.
        let indexUIDs = ((try? meili("GET", "/stats"))?["indexes"]?.members ?? []).map(\.key)
        var reports: [StandInJSON] = []
        for contentType in configuration.contentTypes {
            let inMeilisearch = indexUIDs.contains(contentType.indexUID)
            let inStore = state.withLock { s -> Bool in
                let known = s.indexed?.contains(contentType.uid) ?? false
                // Safe guard of the plugin: forget an index Meilisearch no longer has.
                if known && !inMeilisearch { s.indexed?.remove(contentType.uid) }
                return known
            }
            var documents = 0
            var indexing = false
            if inMeilisearch, let stats = try? meili("GET", "/indexes/\(contentType.indexUID)/stats") {
                documents = stats["numberOfDocuments"]?.intValue ?? 0
                indexing = stats["isIndexing"]?.boolValue ?? false
            }
            let entries = (try? connection.map { try Self.count(contentType, $0) }) ?? 0
            let listened = state.withLock { $0.listened.contains(contentType.uid) }
            reports.append(
                .obj(["collection": .string(contentType.modelName), "contentType": .string(contentType.uid),
                      "indexUid": .string(contentType.indexUID), "indexed": .bool(inMeilisearch && inStore),
                      "isIndexing": .bool(indexing), "numberOfDocuments": .int(documents),
                      "numberOfEntries": .int(entries), "listened": .bool(listened)]))
        }
        return .obj(["contentTypes": .array(reports)])
    }

    /// `strapi.db.query(uid).count()`: every row, drafts included.
    private static func count(_ contentType: S.ContentType, _ connection: PostgresConnection) throws -> Int {
        let table = PostgresConnection.quoteIdentifier(contentType.collectionName)
        return Int(try connection.query("SELECT count(*) FROM \(table)").scalar ?? "0") ?? 0
    }

    // MARK: POST / PUT /meilisearch/content-type

    private func indexContentType(_ uid: String, update: Bool) -> HTTPResponse {
        guard let contentType = configuration.contentTypes.first(where: { $0.uid == uid || $0.modelName == uid }) else {
            return Self.json(
                200,
                .obj(["error": .obj(["message": .string("The Strapi stand-in does not know the content type `\(uid)`.")])]))
        }
        var run = S.ReindexRun(contentType: contentType.uid, update: update, count: 0, batches: [], error: nil)
        defer {
            let finished = run
            state.withLock { $0.runs.append(finished) }
        }
        do {
            let connection = try connect()
            loadStore(connection)
            // updateContentTypeInMeiliSearch: delete the index first (without waiting).
            if update && state.withLock({ $0.indexed?.contains(contentType.uid) ?? false }) {
                _ = try meili("DELETE", "/indexes/\(contentType.indexUID)")
                state.withLock { _ = $0.indexed?.remove(contentType.uid) }
            }
            // addContentTypeInMeiliSearch: settings from the plugin config, then batches.
            _ = try meili("PATCH", "/indexes/\(contentType.indexUID)/settings", body: Data((contentType.settings ?? "{}").utf8))
            let taskUIDs = try batches(contentType, connection, into: &run)
            state.withLock { s in
                s.indexed?.insert(contentType.uid)
                s.listened.insert(contentType.uid)
            }
            return Self.json(200, .obj(["data": .array(taskUIDs.map { .int($0) })]))
        } catch {
            let (response, message) = pluginError(error)
            run.error = message
            return response
        }
    }

    /// `actionInBatches`, with JavaScript's `||`, `+=` and `<`.
    private func batches(_ contentType: S.ContentType, _ connection: PostgresConnection, into run: inout S.ReindexRun) throws -> [Int] {
        let batchSize: JSValue
        switch configuration.batchSize {
        case .unset: batchSize = .number(500)
        case .number(let n): batchSize = JSValue.number(n).truthy ? .number(n) : .number(500)
        case .string(let s): batchSize = JSValue.string(s).truthy ? .string(s) : .number(500)
        }
        let count = try Self.count(contentType, connection)
        run.count = count
        let limit = try Self.strapiLimit(batchSize)
        let page: (Int, Int?) throws -> [StandInJSON]
        if let model = configuration.model, let type = model.contentType(contentType.uid) {
            let builder = try ModelDocumentBuilder(model: model, type: type, connection: connection)
            page = { try builder.documents(offset: $0, limit: $1) }
        } else {
            let builder = try DocumentBuilder(contentType: contentType, connection: connection)
            page = { try builder.documents(offset: $0, limit: $1) }
        }
        var taskUIDs: [Int] = []
        var index = JSValue.number(0)
        var iterations = 0
        while index.lessThan(Double(count)) {
            iterations += 1
            guard iterations <= 100_000 else {
                throw StandInFailure("the batch loop did not end after 100000 batches (batch size \(batchSize.jsString))")
            }
            let offset = try Self.strapiStart(index)
            var documents = try page(offset, limit)
            // transformEntries catches the throw and returns [] for the whole batch, which is
            // still sent: an empty addition.
            let dropped = documents.contains { $0["id"]?.intValue.map(contentType.transformThrowsOn.contains) ?? false }
            if dropped { documents = [] }
            var batch = S.ReindexRun.Batch(index: index.jsString, offset: offset, limit: limit ?? -1, documents: documents.count)
            if !documents.isEmpty || dropped {
                let body = StandInJSON.array(documents).data
                let task = try meili(
                    "POST", "/indexes/\(contentType.indexUID)/documents", query: "primaryKey=_meilisearch_id", body: body)
                batch.taskUID = task["taskUid"]?.intValue
                if let uid = batch.taskUID { taskUIDs.append(uid) }
            }
            run.batches.append(batch)
            index = index.plus(batchSize)
        }
        return taskUIDs
    }

    /// Strapi's `convertStartQueryParams`: `_.toNumber(start)`, a non-negative integer.
    static func strapiStart(_ value: JSValue) throws -> Int {
        let n = value.number
        guard n.isFinite, n == n.rounded(), n >= 0 else {
            throw StandInFailure("convertStartQueryParams expected a positive integer got \(value.jsString)")
        }
        return Int(n)
    }

    /// Strapi's `convertLimitQueryParams`: -1 means no limit (nil).
    static func strapiLimit(_ value: JSValue) throws -> Int? {
        let n = value.number
        if n == -1 { return nil }
        guard n.isFinite, n == n.rounded(), n >= 0 else {
            throw StandInFailure("convertLimitQueryParams expected a positive integer got \(value.jsString)")
        }
        return Int(n)
    }

    // MARK: DELETE /meilisearch/content-type/{uid}

    private func removeContentType(_ uid: String) -> HTTPResponse {
        guard let contentType = configuration.contentTypes.first(where: { $0.uid == uid || $0.modelName == uid }) else {
            return Self.json(200, .obj(["data": .string("ok")]))
        }
        do {
            loadStore(try? connect())
            _ = try meili("DELETE", "/indexes/\(contentType.indexUID)")
            state.withLock { s in
                _ = s.indexed?.remove(contentType.uid)
                _ = s.listened.remove(contentType.uid)
            }
            return Self.json(200, .obj(["data": .string("ok")]))
        } catch {
            return pluginError(error).0
        }
    }
}

struct StandInFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - JavaScript values

/// Just enough of JavaScript's numbers and strings for the plugin's loop.
enum JSValue: Sendable, Equatable {
    case number(Double)
    case string(String)

    /// `ToBoolean`.
    var truthy: Bool {
        switch self {
        case .number(let n): return n != 0 && !n.isNaN
        case .string(let s): return !s.isEmpty
        }
    }

    /// `ToNumber`.
    var number: Double {
        switch self {
        case .number(let n): return n
        case .string(let s):
            let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { return 0 }
            if trimmed == "Infinity" || trimmed == "+Infinity" { return .infinity }
            if trimmed == "-Infinity" { return -.infinity }
            let lower = trimmed.lowercased()
            for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) {
                return Int(lower.dropFirst(2), radix: radix).map(Double.init) ?? .nan
            }
            // StringNumericLiteral: digits, one dot, an exponent; nothing else (no "inf", no "_").
            guard trimmed.allSatisfy({ "0123456789.eE+-".contains($0) }), let value = Double(trimmed) else { return .nan }
            return value
        }
    }

    /// `ToString`.
    var jsString: String {
        switch self {
        case .string(let s): return s
        case .number(let n):
            if n.isNaN { return "NaN" }
            if n.isInfinite { return n > 0 ? "Infinity" : "-Infinity" }
            if n == n.rounded() && abs(n) < 1e21 { return String(format: "%.0f", n) }
            return String(n)
        }
    }

    /// `a + b`: concatenation as soon as one side is a string.
    func plus(_ other: JSValue) -> JSValue {
        if case .number(let a) = self, case .number(let b) = other { return .number(a + b) }
        return .string(jsString + other.jsString)
    }

    /// `a < b` with b a number: a is converted to a number; NaN compares false.
    func lessThan(_ other: Double) -> Bool { number < other }
}

// MARK: - Documents

/// Builds the plugin's documents for one content type as Strapi v4's entity service returns
/// entries (`populate: '*'`, one level): the published rows by id, attribute names (the
/// sample's attributes are named like their columns; the timestamps are camelCase), components
/// nested with their own `id`, private attributes removed, and
/// `_meilisearch_id = "<modelName>-<id>"`.
struct DocumentBuilder {
    let contentType: StrapiStandIn.ContentType
    let connection: PostgresConnection
    let timestampColumns: Set<String>
    let hasComponents: Bool
    /// A content type without draft & publish has no `published_at`: every row is live.
    let draftAndPublish: Bool

    /// Relation columns Strapi never returns as fields (admin users, private).
    static let hiddenColumns: Set<String> = ["created_by_id", "updated_by_id"]

    init(contentType: StrapiStandIn.ContentType, connection: PostgresConnection) throws {
        self.contentType = contentType
        self.connection = connection
        let columns = try connection.query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
            [contentType.collectionName])
        timestampColumns = Set(columns.rows.filter { ($0[1] ?? "").hasPrefix("timestamp") }.compactMap { $0[0] })
        draftAndPublish = columns.rows.contains { $0[0] == "published_at" }
        hasComponents = try connection.query(
            "SELECT to_regclass($1) IS NOT NULL", [PostgresConnection.quoteIdentifier(contentType.collectionName + "_components")]
        ).scalar == "t"
    }

    func documents(offset: Int, limit: Int?) throws -> [StandInJSON] {
        let table = PostgresConnection.quoteIdentifier(contentType.collectionName)
        let limitClause = limit.map { " LIMIT \($0)" } ?? ""
        // Strapi's offset paging over published rows by id; the page's ids are chosen first so
        // that the JSON is built for those rows only (OFFSET would build it for skipped rows too).
        let rows = try connection.query(
            "SELECT t.id, row_to_json(t)::text FROM \(table) t JOIN (SELECT id FROM \(table)"
                + (draftAndPublish ? " WHERE published_at IS NOT NULL" : "") + " ORDER BY id\(limitClause) OFFSET \(offset)) page ON page.id = t.id ORDER BY t.id"
        ).rows
        let ids = rows.compactMap { $0[0].flatMap(Int.init) }
        let components = try hasComponents ? self.components(of: ids) : [:]
        return try rows.map { row in
            guard let id = row[0].flatMap(Int.init), let text = row[1], case .object(let columns) = try StandInJSON.parse(text) else {
                throw StandInFailure("unreadable row in \(contentType.collectionName)")
            }
            var members: [StandInJSON.Member] = []
            for column in columns where !Self.hiddenColumns.contains(column.key) && !contentType.privateColumns.contains(column.key) {
                var value = column.value
                if timestampColumns.contains(column.key), let s = value.stringValue { value = .string(Self.javascriptISO(s)) }
                members.append(.init(name(column.key), value))
            }
            for (field, value) in components[id] ?? [] { members.append(.init(field, value)) }
            members.append(.init("_meilisearch_id", .string("\(contentType.modelName)-\(id)")))
            return .object(members)
        }
    }

    /// The timestamps' attribute names: Strapi adds them to every content type in camelCase.
    private func name(_ column: String) -> String {
        switch column {
        case "created_at": return "createdAt"
        case "updated_at": return "updatedAt"
        case "published_at": return "publishedAt"
        default: return column
        }
    }

    /// entity id → [(field, component or list of components)], from `<table>_components`.
    private func components(of ids: [Int]) throws -> [Int: [(String, StandInJSON)]] {
        guard !ids.isEmpty else { return [:] }
        let links = try connection.query(
            "SELECT entity_id, field, component_type, component_id FROM \(PostgresConnection.quoteIdentifier(contentType.collectionName + "_components")) "
                + "WHERE entity_id = ANY($1::int[]) ORDER BY entity_id, field, \"order\", id",
            ["{" + ids.map(String.init).joined(separator: ",") + "}"]
        ).rows
        // One read per component table.
        var wanted: [String: [Int]] = [:]
        for link in links {
            guard let type = link[2], let id = link[3].flatMap(Int.init) else { continue }
            wanted[type, default: []].append(id)
        }
        var loaded: [String: [Int: StandInJSON]] = [:]
        for (type, componentIDs) in wanted {
            let rows = try connection.query(
                "SELECT c.id, row_to_json(c)::text FROM \(PostgresConnection.quoteIdentifier(Self.componentTable(type))) c WHERE c.id = ANY($1::int[])",
                ["{" + componentIDs.map(String.init).joined(separator: ",") + "}"]
            ).rows
            for row in rows {
                guard let id = row[0].flatMap(Int.init), let text = row[1], case .object(let members) = try StandInJSON.parse(text) else {
                    continue
                }
                loaded[type, default: [:]][id] = .object(members)
            }
        }
        var result: [Int: [(String, StandInJSON)]] = [:]
        var grouped: [Int: [(String, [StandInJSON])]] = [:]
        for link in links {
            guard let entity = link[0].flatMap(Int.init), let field = link[1], let type = link[2],
                let id = link[3].flatMap(Int.init), let component = loaded[type]?[id]
            else { continue }
            if let i = grouped[entity]?.firstIndex(where: { $0.0 == field }) {
                grouped[entity]![i].1.append(component)
            } else {
                grouped[entity, default: []].append((field, [component]))
            }
        }
        // One link for a field: a single component; several: a repeatable one, as a list.
        for (entity, fields) in grouped {
            result[entity] = fields.map { ($0.0, $0.1.count == 1 ? $0.1[0] : .array($0.1)) }
        }
        return result
    }

    /// `localisation.localisation` → `components_localisation_localisations`.
    static func componentTable(_ type: String) -> String {
        let parts = type.split(separator: ".", maxSplits: 1).map { $0.replacingOccurrences(of: "-", with: "_") }
        guard parts.count == 2 else { return "components_\(type)" }
        return "components_\(parts[0])_\(parts[1])s"
    }

    /// PostgreSQL's JSON timestamp (`2022-09-01T08:00:00.5+00:00`, in UTC) as JavaScript's
    /// `toISOString()` prints it: `2022-09-01T08:00:00.500Z`.
    static func javascriptISO(_ text: String) -> String {
        guard text.count >= 19 else { return text }
        let seconds = text.prefix(19)
        var rest = text.dropFirst(19)
        var millis = "000"
        if rest.first == "." {
            rest = rest.dropFirst()
            let digits = rest.prefix { $0.isNumber }
            millis = String((digits + "000").prefix(3))
        }
        return "\(seconds).\(millis)Z"
    }
}

// MARK: - A blocking HTTP client (the plugin awaits each call before the next)

final class BlockingHTTPClient: @unchecked Sendable {
    private let session: URLSession

    init(timeout: TimeInterval = 300) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeout
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        session = URLSession(configuration: configuration)
    }

    deinit { session.invalidateAndCancel() }

    func send(method: String, url: URL, headers: [(String, String)], body: Data?) throws -> (Int, Data) {
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        request.httpBody = body
        let done = DispatchSemaphore(value: 0)
        let result = LoopbackLocked<Result<(Int, Data), Error>?>(nil)
        session.dataTask(with: request) { data, response, error in
            if let error {
                result.withLock { $0 = .failure(error) }
            } else if let http = response as? HTTPURLResponse {
                result.withLock { $0 = .success((http.statusCode, data ?? Data())) }
            } else {
                result.withLock { $0 = .failure(StandInFailure("no HTTP response from \(url)")) }
            }
            done.signal()
        }.resume()
        done.wait()
        return try result.withLock { $0! }.get()
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
