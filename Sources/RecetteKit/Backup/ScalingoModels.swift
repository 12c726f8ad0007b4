import Foundation
import RecetteWorld

/// Where Scalingo's three APIs live for a region; each host can be overridden (as the
/// official CLI allows with SCALINGO_AUTH_URL, SCALINGO_API_URL, SCALINGO_DB_URL), which is
/// also how tests point recette at a loopback stand-in. Hosts are given without the `/v1`
/// and `/api` prefixes, which recette adds.
public struct ScalingoEndpoints: Sendable, Equatable {
    public var auth: URL
    public var api: URL
    public var database: URL

    public static let regions = ["osc-fr1", "osc-secnum-fr1"]

    public init(auth: URL, api: URL, database: URL) {
        self.auth = auth
        self.api = api
        self.database = database
    }

    public static func resolve(region: String, authOverride: String?, apiOverride: String?, databaseOverride: String?) throws -> ScalingoEndpoints {
        func url(_ override: String?, _ fallback: String, _ setting: String) throws -> URL {
            let text = override ?? fallback
            guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
                throw ConfigurationError.invalidValue(setting: setting, value: text, expected: "an http(s) URL")
            }
            return url
        }
        if apiOverride == nil || databaseOverride == nil, !regions.contains(region) {
            throw ConfigurationError.invalidValue(setting: "SCALINGO_REGION", value: region, expected: regions.joined(separator: " or "))
        }
        return ScalingoEndpoints(
            auth: try url(authOverride, "https://auth.scalingo.com", "SCALINGO_AUTH_URL"),
            api: try url(apiOverride, "https://api.\(region).scalingo.com", "SCALINGO_API_URL"),
            database: try url(databaseOverride, "https://db-api.\(region).scalingo.com", "SCALINGO_DB_URL")
        )
    }
}

public struct ScalingoAddon: Sendable, Equatable, Decodable {
    public var id: String
    public var providerID: String
    public var providerName: String?
    public var status: String?

    enum CodingKeys: String, CodingKey { case id, status, addonProvider = "addon_provider" }
    enum ProviderKeys: String, CodingKey { case id, name }

    public init(id: String, providerID: String, providerName: String? = nil, status: String? = nil) {
        self.id = id
        self.providerID = providerID
        self.providerName = providerName
        self.status = status
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        status = try container.decodeIfPresent(String.self, forKey: .status)
        let provider = try container.nestedContainer(keyedBy: ProviderKeys.self, forKey: .addonProvider)
        providerID = try provider.decode(String.self, forKey: .id)
        providerName = try provider.decodeIfPresent(String.self, forKey: .name)
    }
}

public struct ScalingoBackup: Sendable, Equatable, Codable {
    public var id: String
    public var createdAt: Date
    public var name: String
    /// Bytes; absent or 0 while a backup runs.
    public var size: Int64?
    /// scheduled, running, pending, done or error.
    public var status: String
    /// periodic or manual.
    public var method: String?

    public init(id: String, createdAt: Date, name: String, size: Int64?, status: String, method: String?) {
        self.id = id
        self.createdAt = createdAt
        self.name = name
        self.size = size
        self.status = status
        self.method = method
    }

    enum CodingKeys: String, CodingKey { case id, createdAt = "created_at", name, size, status, method }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        let created = try container.decode(String.self, forKey: .createdAt)
        guard let date = ScalingoTimestamp.parse(created) else {
            throw DecodingError.dataCorruptedError(forKey: .createdAt, in: container, debugDescription: "unreadable date '\(created)'")
        }
        createdAt = date
        name = try container.decodeIfPresent(String.self, forKey: .name) ?? id
        size = try container.decodeIfPresent(Int64.self, forKey: .size)
        status = try container.decode(String.self, forKey: .status)
        method = try container.decodeIfPresent(String.self, forKey: .method)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(ScalingoTimestamp.format(createdAt), forKey: .createdAt)
        try container.encode(name, forKey: .name)
        try container.encodeIfPresent(size, forKey: .size)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(method, forKey: .method)
    }
}

/// RFC 3339 timestamps with any number of fractional digits and any UTC offset.
public enum ScalingoTimestamp {
    public static func parse(_ text: String) -> Date? {
        // Foundation's parser takes at most milliseconds: trim longer fractions first.
        var text = text
        if let dot = text.firstIndex(of: ".") {
            let digits = text[text.index(after: dot)...].prefix(while: \.isNumber)
            let end = text.index(after: dot).utf16Offset(in: text) + digits.count
            let kept = String(digits.prefix(3)).padding(toLength: 3, withPad: "0", startingAt: 0)
            text = String(text[..<dot]) + "." + kept + String(text.dropFirst(end))
        }
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        return plain.date(from: text)
    }

    public static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}

/// One environment variable of an app (`GET {api}/apps/{app}/variables` →
/// `{"variables":[{"id","name","value"}]}`, as go-scalingo's `VariablesList` reads it). The
/// value may be a secret (a key, a password in a URL): it stays a `Secret`.
public struct ScalingoVariable: Sendable, Equatable, Decodable {
    public var name: String
    public var value: Secret

    public init(name: String, value: Secret) {
        self.name = name
        self.value = value
    }

    enum CodingKeys: String, CodingKey { case name, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        value = Secret(try container.decodeIfPresent(String.self, forKey: .value) ?? "")
    }
}
