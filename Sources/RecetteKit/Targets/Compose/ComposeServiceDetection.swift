import Foundation
import RecetteWorld

/// Which services of a team's own compose file are the database, the CMS and Meilisearch,
/// read from what compose resolved (`docker compose config`: `.env` and `env_file`s already
/// interpolated), so that `recette.yml` need only name the file. A setting that is set
/// (recette.yml, environment, flag) always wins over what is detected.
public struct ComposeServiceDetection: Sendable {
    public var project: ResolvedComposeProject

    public init(_ project: ResolvedComposeProject) { self.project = project }

    /// The PostgreSQL service and the named volume holding its data.
    public struct Database: Sendable, Equatable {
        public var service: String
        /// nil when the service mounts no named volume at its data directory.
        public var volume: String?
        public var image: String?
        public var user: String
        public var database: String
    }

    public struct CMS: Sendable, Equatable {
        public var service: String
        /// http://127.0.0.1:<published port>/_health, when the service publishes one.
        public var healthURL: String?
    }

    public struct Meilisearch: Sendable, Equatable {
        public var service: String
        /// http://127.0.0.1:<published port>, when the service publishes one.
        public var url: String?
        /// MEILI_MASTER_KEY of the service, when set (a secret: never printed).
        public var masterKey: Secret?
    }

    /// The service running PostgreSQL: an image named postgres (or postgis) with PostgreSQL's
    /// environment or its data directory mounted; failing that, PostgreSQL's environment and
    /// port 5432 on any image. nil when none is found; two are an error naming the setting.
    public func database() throws -> Database? {
        let byImage = project.services.filter { Self.isPostgresImage($0.value.image) && (Self.hasPostgresEnvironment($0.value) || dataMount(of: $0.value) != nil) }
        let candidates = byImage.isEmpty
            ? project.services.filter { Self.hasPostgresEnvironment($0.value) && ($0.value.ports.contains { $0.target == 5432 } || dataMount(of: $0.value) != nil) }
            : byImage
        guard candidates.count <= 1 else {
            throw RecetteFailure("""
                the compose project has \(candidates.count) PostgreSQL services (\(candidates.keys.sorted().joined(separator: ", "))): \
                name the one recette restores with RECETTE_DB_SERVICE (recette.yml: compose.db_service)
                """)
        }
        guard let (name, service) = candidates.first else { return nil }
        return describeDatabase(name: name, service: service)
    }

    /// What recette reads from the db service `name`, whether it was detected or named.
    public func describeDatabase(name: String, service: ResolvedComposeProject.Service) -> Database {
        let user = Self.value("POSTGRES_USER", in: service) ?? "postgres"
        return Database(service: name, volume: dataMount(of: service)?.source, image: service.image, user: user,
                        database: Self.value("POSTGRES_DB", in: service) ?? user)
    }

    /// The CMS: a service that is built from the project (or runs a Strapi image) and depends on
    /// the database; failing that, the one service with Strapi's or its database's environment.
    public func cms(databaseService: String?) -> CMS? {
        let built = project.services.filter { entry in
            let service = entry.value
            let strapiImage = service.image.map { $0.lowercased().contains("strapi") } ?? false
            return entry.key != databaseService && (service.builds || strapiImage)
                && (databaseService.map { service.dependsOn.contains($0) } ?? true)
        }
        let byEnvironment = project.services.filter { entry in
            entry.key != databaseService && entry.value.environment.keys.contains { $0.hasPrefix("STRAPI_") || $0.hasPrefix("DATABASE_") }
        }
        let candidates = built.count == 1 ? built : byEnvironment
        guard candidates.count == 1, let (name, service) = candidates.first else { return nil }
        let port = Self.publishedPort(of: service, target: 1337) ?? Self.publishedPort(of: service, target: nil)
        return CMS(service: name, healthURL: port.map { "http://127.0.0.1:\($0)/_health" })
    }

    /// Meilisearch: its image, or MEILI_* environment, or port 7700.
    public func meilisearch() -> Meilisearch? {
        let candidates = project.services.filter { entry in
            let service = entry.value
            return (service.image?.lowercased().hasPrefix("getmeili/meilisearch") ?? false)
                || service.environment.keys.contains { $0.hasPrefix("MEILI_") }
                || service.ports.contains { $0.target == 7700 }
        }
        guard candidates.count == 1, let (name, service) = candidates.first else { return nil }
        return Meilisearch(service: name, url: Self.publishedPort(of: service, target: 7700).map { "http://127.0.0.1:\($0)" },
                           masterKey: Self.value("MEILI_MASTER_KEY", in: service).map(Secret.init))
    }

    /// The named volume mounted at the service's PGDATA or at /var/lib/postgresql/data (or a
    /// parent of PGDATA), trailing slash or not.
    func dataMount(of service: ResolvedComposeProject.Service) -> ResolvedComposeProject.Mount? {
        let pgdata = Self.normalized(Self.value("PGDATA", in: service) ?? "/var/lib/postgresql/data")
        let mounts = service.volumes.filter { $0.type == "volume" && $0.source != nil }
        return mounts.first { Self.normalized($0.target) == pgdata }
            ?? mounts.first { Self.normalized($0.target) == "/var/lib/postgresql/data" }
            ?? mounts.first { pgdata.hasPrefix(Self.normalized($0.target) + "/") }
    }

    static func isPostgresImage(_ image: String?) -> Bool {
        guard let image else { return false }
        let repository = PostgresImageReference(image).repository
        let name = repository.split(separator: "/").last.map(String.init) ?? repository
        return name.hasPrefix("postgres") || name.hasPrefix("postgis")
    }

    static func hasPostgresEnvironment(_ service: ResolvedComposeProject.Service) -> Bool {
        service.environment.keys.contains { $0.hasPrefix("POSTGRES_") || $0.hasPrefix("PG") }
    }

    static func value(_ name: String, in service: ResolvedComposeProject.Service) -> String? {
        guard let value = service.environment[name] ?? nil, !value.isEmpty else { return nil }
        return value
    }

    static func publishedPort(of service: ResolvedComposeProject.Service, target: Int?) -> Int? {
        service.ports.first { target == nil || $0.target == target }.flatMap { $0.published.flatMap { Int($0) } }
    }

    static func normalized(_ path: String) -> String {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }

    /// Where `service` is declared among `files` (`docker-compose.yml:12`), for `doctor`: the
    /// first line `  <service>:` of the first file that has one.
    public static func declaration(of service: String, in files: [URL]) -> String? {
        for file in files {
            guard let text = try? String(contentsOf: file, encoding: .utf8) else { continue }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if line.hasPrefix(" ") && (trimmed == "\(service):" || trimmed.hasPrefix("\(service): ") || trimmed == "\"\(service)\":") {
                    return "\(file.lastPathComponent):\(number + 1)"
                }
            }
        }
        return nil
    }
}

/// `image:` split into repository and tag: `postgres` (no tag), `postgres:15-alpine`,
/// `registry:5000/library/postgres:16@sha256:…`.
public struct PostgresImageReference: Sendable, Equatable {
    public var repository: String
    /// nil: untagged (compose pulls `latest`).
    public var tag: String?

    public init(_ image: String) {
        let withoutDigest = image.split(separator: "@", maxSplits: 1).first.map(String.init) ?? image
        // A colon after the last slash is the tag's; one before it is a registry's port.
        if let colon = withoutDigest.lastIndex(of: ":"), !withoutDigest[colon...].contains("/") {
            repository = String(withoutDigest[..<colon])
            tag = String(withoutDigest[withoutDigest.index(after: colon)...])
        } else {
            repository = withoutDigest
            tag = nil
        }
    }

    /// The major the tag pins (`15`, `15.4`, `15-alpine`, `16.2-bookworm`), nil for none or `latest`.
    public var major: Int? {
        guard let tag else { return nil }
        let digits = tag.prefix { $0.isNumber }
        return Int(digits)
    }
}

/// The compose names recette works with, each from its setting when set, else detected, else
/// the default of the setting (the names of recette's own compose file).
public struct ComposeNames: Sendable, Equatable {
    public enum Origin: String, Sendable { case setting, detected, defaultValue = "default" }
    public var dbService: String
    public var dbServiceOrigin: Origin
    public var dbVolume: String
    public var dbVolumeOrigin: Origin
    public var cmsService: String
    public var cmsServiceOrigin: Origin
    /// The CMS's health URL when the setting is not set and the CMS publishes a port.
    public var detectedCMSHealthURL: String?

    public init(configuration: Configuration, resolved: ResolvedComposeProject) throws {
        let detection = ComposeServiceDetection(resolved)
        let isSet = { (setting: Setting) -> Bool in (configuration.resolved(setting)?.source ?? .defaultValue) != .defaultValue }
        let fallback = { (setting: Setting) -> String in configuration[setting] ?? setting.defaultValue ?? "" }

        let database: ComposeServiceDetection.Database?
        if isSet(.composeDBService) {
            dbService = fallback(.composeDBService)
            dbServiceOrigin = .setting
            let named = fallback(.composeDBService)
            database = resolved.services[named].map { detection.describeDatabase(name: named, service: $0) }
        } else if let detected = try detection.database() {
            dbService = detected.service
            dbServiceOrigin = .detected
            database = detected
        } else {
            dbService = fallback(.composeDBService)
            dbServiceOrigin = .defaultValue
            database = nil
        }
        if isSet(.composeDBVolume) {
            (dbVolume, dbVolumeOrigin) = (fallback(.composeDBVolume), .setting)
        } else if let volume = database?.volume {
            (dbVolume, dbVolumeOrigin) = (volume, .detected)
        } else {
            (dbVolume, dbVolumeOrigin) = (fallback(.composeDBVolume), .defaultValue)
        }
        let cms = detection.cms(databaseService: database?.service ?? fallback(.composeDBService))
        if isSet(.cmsService) {
            (cmsService, cmsServiceOrigin) = (fallback(.cmsService), .setting)
        } else if let cms {
            (cmsService, cmsServiceOrigin) = (cms.service, .detected)
        } else {
            (cmsService, cmsServiceOrigin) = (fallback(.cmsService), .defaultValue)
        }
        detectedCMSHealthURL = isSet(.cmsHealthURL) || cms?.service != cmsService ? nil : cms?.healthURL
    }

    /// The names for the configured compose project (`docker compose config`, read-only).
    public static func resolve(_ context: RecetteContext, project: ComposeProject) async throws -> (ComposeNames, ResolvedComposeProject) {
        let resolved = try await project.resolve()
        return (try ComposeNames(configuration: context.configuration, resolved: resolved), resolved)
    }
}
