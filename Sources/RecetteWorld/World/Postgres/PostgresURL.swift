import Foundation

/// A `postgresql://user:password@host:port/database?params` URL, password kept as a Secret.
public struct PostgresURL: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var database: String
    public var user: String?
    public var password: Secret?
    public var parameters: [String: String]

    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? ""),
              let host = components.host, !host.isEmpty else {
            throw RecetteFailure("'\(Redaction.redactingURLPasswords(in: text))' is not a PostgreSQL URL; expected postgresql://user:password@host:port/database")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw RecetteFailure("'\(Redaction.redactingURLPasswords(in: text))' names no database; add /DATABASE after the host")
        }
        self.host = host
        self.port = components.port ?? 5432
        self.database = database.removingPercentEncoding ?? database
        self.user = components.user?.removingPercentEncoding
        self.password = components.password.map { Secret($0.removingPercentEncoding ?? $0) }
        self.parameters = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
    }

    public func display(database: String) -> String {
        "postgresql://\(user.map { "\($0)@" } ?? "")\(host):\(port)/\(database)"
    }

    /// Same spelling of server and database (the password does not matter).
    public func isSameDatabase(as other: PostgresURL) -> Bool {
        host.lowercased() == other.host.lowercased() && port == other.port && database == other.database
    }
}
