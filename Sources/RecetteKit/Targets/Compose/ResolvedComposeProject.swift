import Foundation
import RecetteWorld

/// The project as Docker Compose itself resolved it (`docker compose config --format json`):
/// the project name after `--project-name`, `COMPOSE_PROJECT_NAME`, the file's `name:` or
/// its directory; every override merged; each volume's real Docker name.
///
/// Only what recette reads is decoded; the rest of the document is ignored.
public struct ResolvedComposeProject: Sendable, Decodable, Equatable {
    public var name: String
    public var services: [String: Service]
    public var volumes: [String: Volume]

    public struct Service: Sendable, Decodable, Equatable {
        public var volumes: [Mount]
        public var healthcheck: Healthcheck?
        /// Values are nil for variables listed without a value (taken from the host at run time).
        public var environment: [String: String?]
        /// `image:` as resolved (nil for a service that is only built).
        public var image: String?
        /// The service has a `build:` section: compose builds its image.
        public var builds: Bool
        /// The services it `depends_on`.
        public var dependsOn: [String]
        public var ports: [Port]
        public var containerName: String?

        /// The named volumes (not bind mounts, not tmpfs) the service mounts, by their key in
        /// the file's `volumes:` section.
        public var namedVolumes: [String] {
            volumes.filter { $0.type == "volume" }.compactMap(\.source)
        }

        /// A healthcheck declared in the compose files. (One baked into the image does not
        /// show here; `up --wait` honours it all the same.)
        public var hasHealthcheck: Bool {
            guard let healthcheck, healthcheck.disable != true else { return false }
            return healthcheck.test.map { $0.first != "NONE" && !$0.isEmpty } ?? false
        }

        enum CodingKeys: String, CodingKey {
            case volumes, healthcheck, environment, image, build, ports
            case dependsOn = "depends_on"
            case containerName = "container_name"
        }

        public init(volumes: [Mount] = [], healthcheck: Healthcheck? = nil, environment: [String: String?] = [:], image: String? = nil,
                    builds: Bool = false, dependsOn: [String] = [], ports: [Port] = [], containerName: String? = nil) {
            self.volumes = volumes
            self.healthcheck = healthcheck
            self.environment = environment
            self.image = image
            self.builds = builds
            self.dependsOn = dependsOn
            self.ports = ports
            self.containerName = containerName
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            volumes = try container.decodeIfPresent([Mount].self, forKey: .volumes) ?? []
            healthcheck = try container.decodeIfPresent(Healthcheck.self, forKey: .healthcheck)
            environment = try container.decodeIfPresent([String: String?].self, forKey: .environment) ?? [:]
            image = try container.decodeIfPresent(String.self, forKey: .image)
            builds = container.contains(.build)
            // compose config writes depends_on as a map (service → condition), whatever the file's form.
            dependsOn = (try? container.decodeIfPresent([String: IgnoredValue].self, forKey: .dependsOn))?.map(\.key).sorted() ?? []
            ports = try container.decodeIfPresent([Port].self, forKey: .ports) ?? []
            containerName = try container.decodeIfPresent(String.self, forKey: .containerName)
        }
    }

    /// A `ports:` entry as compose config writes it: `target` the container's port,
    /// `published` the host's (a string), `host_ip` where it listens.
    public struct Port: Sendable, Decodable, Equatable {
        public var target: Int
        public var published: String?
        public var hostIP: String?

        enum CodingKeys: String, CodingKey {
            case target, published
            case hostIP = "host_ip"
        }

        public init(target: Int, published: String?, hostIP: String? = nil) {
            self.target = target
            self.published = published
            self.hostIP = hostIP
        }
    }

    /// Any JSON value, skipped.
    struct IgnoredValue: Decodable {
        init(from decoder: any Decoder) throws {}
    }

    public struct Mount: Sendable, Decodable, Equatable {
        /// `volume`, `bind`, `tmpfs`, `npipe`…
        public var type: String
        /// The volume's key for `volume` mounts, the host path for `bind`.
        public var source: String?
        public var target: String

        public init(type: String, source: String?, target: String) {
            self.type = type
            self.source = source
            self.target = target
        }
    }

    public struct Healthcheck: Sendable, Decodable, Equatable {
        public var test: [String]?
        public var disable: Bool?

        public init(test: [String]?, disable: Bool? = nil) {
            self.test = test
            self.disable = disable
        }
    }

    public struct Volume: Sendable, Decodable, Equatable {
        /// The Docker volume's name (`<project>_<key>` unless the file names it).
        public var name: String?
        public var external: Bool?

        public init(name: String?, external: Bool? = nil) {
            self.name = name
            self.external = external
        }
    }

    enum CodingKeys: String, CodingKey { case name, services, volumes }

    public init(name: String, services: [String: Service], volumes: [String: Volume]) {
        self.name = name
        self.services = services
        self.volumes = volumes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        services = try container.decodeIfPresent([String: Service].self, forKey: .services) ?? [:]
        volumes = try container.decodeIfPresent([String: Volume].self, forKey: .volumes) ?? [:]
    }

    public static func decode(_ json: Data) throws -> ResolvedComposeProject {
        try JSONDecoder().decode(ResolvedComposeProject.self, from: json)
    }

    /// The named volume that holds `service`'s database, checked to be safe to delete:
    /// the service exists and mounts it, it belongs to the project (not external) and no
    /// other service mounts it.
    public func databaseVolume(service: String, volume: String) throws -> DatabaseVolume {
        guard let definition = services[service] else {
            throw ComposeError.unknownService(service: service, available: Array(services.keys))
        }
        guard let mount = definition.volumes.first(where: { $0.type == "volume" && $0.source == volume }) else {
            throw ComposeError.volumeNotMounted(volume: volume, service: service, namedVolumes: definition.namedVolumes)
        }
        guard let declared = volumes[volume], let dockerName = declared.name, !dockerName.isEmpty else {
            // compose config always names the volumes it declares; no name means a document
            // recette does not understand, and guessing `<project>_<key>` could delete the wrong one.
            throw ComposeError.configurationUnreadable(files: ["(resolved configuration)"], reason: "volume '\(volume)' has no resolved name")
        }
        if declared.external == true {
            throw ComposeError.externalVolume(volume: volume, dockerName: dockerName)
        }
        let others = services.filter { $0.key != service && $0.value.namedVolumes.contains(volume) }.map(\.key)
        if !others.isEmpty {
            throw ComposeError.sharedVolume(volume: volume, service: service, otherServices: others)
        }
        return DatabaseVolume(project: name, service: service, volume: volume, dockerName: dockerName, mountPath: mount.target)
    }

    /// The project's other volumes by Docker name: what a reset must leave alone.
    public func dockerVolumeNames(excluding volume: String) -> [String] {
        volumes.filter { $0.key != volume && $0.value.external != true }.compactMap(\.value.name).sorted()
    }
}

/// The named volume holding a compose service's PostgreSQL data.
public struct DatabaseVolume: Sendable, Equatable {
    /// The resolved compose project name.
    public var project: String
    public var service: String
    /// The volume's key in the compose file (`db-data`).
    public var volume: String
    /// The real Docker volume (`myproj_db-data`).
    public var dockerName: String
    /// Where the service mounts it (PGDATA or a parent of it).
    public var mountPath: String
}
