import Foundation
import RecetteWorld

/// Which Meilisearch a search command works on, when it is not the configured one
/// (PLUGIN_MEILISEARCH_URL): the one a Scalingo app's environment names
/// (`--meilisearch-of-app`), or a URL (`--meilisearch-url`).
public enum MeilisearchChoice: Sendable, Equatable {
    case ofApp(String)
    case url(String)

    /// The two flags, at most one of them.
    public static func from(app: String?, url: String?) throws -> MeilisearchChoice? {
        switch (app, url) {
        case (nil, nil): return nil
        case (let app?, nil): return .ofApp(app)
        case (nil, let url?): return .url(url)
        case (.some, .some): throw RecetteFailure("--meilisearch-of-app and --meilisearch-url name the same thing: give one of them")
        }
    }
}

/// A Meilisearch named on the command line, found: its client, where it came from (for
/// messages: the host only, never the key), and whether it is this machine's own.
public struct RemoteMeilisearch: Sendable {
    public var client: MeilisearchClient
    /// A URL whose host resolves to loopback addresses only; an app's never is.
    public var isOnThisMachine: Bool
    /// E.g. "the Meilisearch of Scalingo app 'my-cms-recette', from its PLUGIN_MEILISEARCH_URL".
    public var origin: String { client.endpoint.origin ?? "" }
    public var host: String { client.baseURL.host ?? "?" }

    /// Where the plugin's configuration usually reads its host and key from: the 1j1s CMS's
    /// `PLUGIN_MEILISEARCH_URL`/`PLUGIN_MEILISEARCH_API_KEY` (also recette's own names), then
    /// the names other Strapi projects use. The first one set wins.
    public static let urlVariables = ["PLUGIN_MEILISEARCH_URL", "PLUGIN_MEILISEARCH_HOST", "MEILISEARCH_URL", "MEILISEARCH_HOST"]
    public static let keyVariables = ["PLUGIN_MEILISEARCH_API_KEY", "MEILISEARCH_API_KEY", "MEILISEARCH_ADMIN_KEY", "MEILISEARCH_MASTER_KEY"]

    public static func resolve(_ choice: MeilisearchChoice, context: RecetteContext, resolver: HostResolver = .system) async throws -> RemoteMeilisearch {
        let configuration = context.configuration
        switch choice {
        case .url(let text):
            guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), let host = url.host, !host.isEmpty else {
                throw RecetteFailure("--meilisearch-url must be an http(s) URL with a host, e.g. https://meilisearch.example.org")
            }
            guard url.user == nil, url.password == nil else {
                throw RecetteFailure("--meilisearch-url must not carry credentials (they would sit in the process list): put the key in RECETTE_REMOTE_MEILISEARCH_API_KEY")
            }
            let key = configuration.secret(.remoteMeilisearchAPIKey).flatMap { $0.isEmpty ? nil : $0 }
            let server = MeilisearchServer(origin: "named by --meilisearch-url", urlSource: "--meilisearch-url", keySource: Setting.remoteMeilisearchAPIKey.environmentName)
            return RemoteMeilisearch(client: MeilisearchClient(baseURL: url, apiKey: key, transport: context.http, server: server),
                                     isOnThisMachine: resolver.isThisMachine(host))
        case .ofApp(let app):
            let scalingo = try ScalingoClient.from(configuration, transport: context.http, logger: context.logger)
            let variables: [ScalingoVariable]
            do {
                variables = try await scalingo.variables(app: app)
            } catch ScalingoError.appNotFound(_, let region) {
                throw RecetteFailure("app '\(app)' (--meilisearch-of-app) not found in region \(region): check its name and SCALINGO_REGION, and that your token's account can see the app")
            }
            let found = try pick(from: variables, app: app,
                                 urlNames: configuration[.appMeilisearchURLVariable].map { [$0] } ?? urlVariables,
                                 keyNames: configuration[.appMeilisearchKeyVariable].map { [$0] } ?? keyVariables)
            let server = MeilisearchServer(origin: "the Meilisearch of Scalingo app '\(app)', from its \(found.urlName)",
                                           urlSource: "app '\(app)''s \(found.urlName) (or name another with \(Setting.appMeilisearchURLVariable.environmentName))",
                                           keySource: "app '\(app)''s \(found.keyName) (or name another with \(Setting.appMeilisearchKeyVariable.environmentName))")
            // An app's Meilisearch is the staging front's, wherever it runs: always guarded.
            return RemoteMeilisearch(client: MeilisearchClient(baseURL: found.url, apiKey: found.key, transport: context.http, server: server),
                                     isOnThisMachine: false)
        }
    }

    /// The URL and key among the app's variables, by the first name set of each list. Error
    /// messages list variable names only, never a value.
    static func pick(from variables: [ScalingoVariable], app: String, urlNames: [String], keyNames: [String]) throws
        -> (url: URL, urlName: String, key: Secret, keyName: String) {
        var byName: [String: Secret] = [:]
        for variable in variables { byName[variable.name] = variable.value }
        // Scalingo aliases: a value that is `$OTHER` (or `${OTHER}`) is OTHER's value.
        func value(_ name: String) -> Secret? {
            guard let raw = byName[name]?.reveal(), !raw.isEmpty else { return nil }
            var alias = Substring(raw)
            guard alias.hasPrefix("$") else { return Secret(raw) }
            alias = alias.dropFirst()
            if alias.hasPrefix("{") && alias.hasSuffix("}") { alias = alias.dropFirst().dropLast() }
            guard alias.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return Secret(raw) }
            return byName[String(alias)].flatMap { $0.isEmpty ? nil : $0 }
        }
        let names = byName.keys.sorted()
        let listed = names.isEmpty ? "none" : names.prefix(40).joined(separator: ", ") + (names.count > 40 ? ", …" : "")
        func missing(_ what: String, _ looked: [String], _ setting: Setting) -> RecetteFailure {
            RecetteFailure("app '\(app)' has no \(what) among its environment variables (looked for \(looked.joined(separator: ", ")); it has \(listed)): name the one that holds it with \(setting.environmentName)")
        }
        guard let urlName = urlNames.first(where: { value($0) != nil }), let urlText = value(urlName)?.reveal() else {
            throw missing("Meilisearch URL", urlNames, .appMeilisearchURLVariable)
        }
        guard let url = URL(string: urlText.trimmingCharacters(in: .whitespaces)), let scheme = url.scheme, ["http", "https"].contains(scheme),
              url.host?.isEmpty == false else {
            throw RecetteFailure("app '\(app)': its \(urlName) is not an http(s) URL with a host; name the variable holding the Meilisearch URL with \(Setting.appMeilisearchURLVariable.environmentName)")
        }
        guard let keyName = keyNames.first(where: { value($0) != nil }), let key = value(keyName) else {
            throw missing("Meilisearch key", keyNames, .appMeilisearchKeyVariable)
        }
        return (url, urlName, key, keyName)
    }

    /// Replacing live indexes that are not this machine's needs their names typed, or `--yes`.
    public func confirmReplacing(_ uids: [String], prompt: ConfirmationPrompt, assumeYes: Bool) throws {
        guard !isOnThisMachine, !uids.isEmpty else { return }
        let names = uids.joined(separator: " ")
        try prompt.confirmByTyping(names,
                                   question: "This replaces the live index(es) \(uids.joined(separator: ", ")) on \(host), \(origin), which is not this machine. Type the index names (\(names)) to go on:",
                                   action: "replace index(es) \(uids.joined(separator: ", ")) on \(host) (\(origin); not this machine)",
                                   assumeYes: assumeYes)
    }
}
