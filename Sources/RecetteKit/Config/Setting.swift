/// One configuration value recette understands: the environment variable teams already use,
/// its place in `recette.yml`, whether it is a secret, and its default.
public struct Setting: Sendable, Hashable {
    public let environmentName: String
    /// Dotted path in `recette.yml`, e.g. `scalingo.app`. Secrets have none: they do not
    /// belong in a committed file.
    public let configPath: String?
    public let isSecret: Bool
    public let defaultValue: String?
    public let summary: String

    public init(_ environmentName: String, config configPath: String?, secret: Bool = false, default defaultValue: String? = nil, _ summary: String) {
        self.environmentName = environmentName
        self.configPath = configPath
        self.isSecret = secret
        self.defaultValue = defaultValue
        self.summary = summary
    }
}

extension Setting {
    public static let scalingoAPIToken = Setting("SCALINGO_API_TOKEN", config: nil, secret: true, "Scalingo API token (account settings → API tokens)")
    public static let scalingoApp = Setting("SCALINGO_APP", config: "scalingo.app", "Scalingo app holding the recette database")
    public static let scalingoRegion = Setting("SCALINGO_REGION", config: "scalingo.region", default: "osc-fr1", "Scalingo region: osc-fr1 or osc-secnum-fr1")
    public static let addonName = Setting("ADDON_NAME", config: "scalingo.addon", default: "postgresql", "PostgreSQL addon: id (ad-…), provider (postgresql) or alias (psql, pgsql, postgres)")
    public static let scalingoAuthURL = Setting("SCALINGO_AUTH_URL", config: "scalingo.auth_url", "Scalingo auth host (default https://auth.scalingo.com)")
    public static let scalingoAPIURL = Setting("SCALINGO_API_URL", config: "scalingo.api_url", "Scalingo API host (default https://api.<region>.scalingo.com)")
    public static let scalingoDBURL = Setting("SCALINGO_DB_URL", config: "scalingo.db_url", "Scalingo database API host (default https://db-api.<region>.scalingo.com)")
    public static let scalingoDBUser = Setting("SCALINGO_DB_USER", config: "scalingo.db_user", "owner role created on the target before restoring (optional)")
    public static let databaseURL = Setting("DATABASE_URL", config: nil, secret: true, "PostgreSQL URL of the url target")
    public static let sourceDatabaseURL = Setting("SCALINGO_POSTGRESQL_URL", config: nil, secret: true, "the recette app's own database: the url target never restores over it")
    public static let meilisearchURL = Setting("PLUGIN_MEILISEARCH_URL", config: "meilisearch.url", default: "http://127.0.0.1:7700", "Meilisearch URL")
    public static let meilisearchAPIKey = Setting("PLUGIN_MEILISEARCH_API_KEY", config: nil, secret: true, "Meilisearch API key")
    public static let target = Setting("RECETTE_TARGET", config: "target", default: "local", "where the database is restored: local, compose or url")
    public static let localDirectory = Setting("RECETTE_LOCAL_DIR", config: "local.directory", default: ".recette/local", "directory of the local target's PostgreSQL cluster")
    public static let localDatabase = Setting("RECETTE_DATABASE", config: "database", default: "recette", "name of the restored database (local and compose targets)")
    public static let postgresBinDirectory = Setting("RECETTE_PG_BINDIR", config: "postgres.bindir", "directory holding pg_restore, pg_dump, initdb and pg_ctl (default: found automatically)")
    public static let composeFile = Setting("RECETTE_COMPOSE_FILE", config: "compose.file", default: "compose/compose.yaml", "compose file of the project")
    public static let composeOverrides = Setting("RECETTE_COMPOSE_OVERRIDES", config: "compose.override_files", "extra compose files applied after the compose file, separated by ':' (in recette.yml: a list or a ':'-separated string)")
    public static let composeProjectName = Setting("RECETTE_COMPOSE_PROJECT", config: "compose.project_name", "compose project name (default: compose's own, e.g. COMPOSE_PROJECT_NAME, the file's name: or its directory)")
    public static let composeDBService = Setting("RECETTE_DB_SERVICE", config: "compose.db_service", default: "db", "compose service running PostgreSQL")
    public static let downloadTransport = Setting("RECETTE_DOWNLOAD_TRANSPORT", config: "download.transport", default: "curl", "HTTP client for backup archives: curl (libcurl, streamed to disk) or urlsession")
    public static let composeDBVolume = Setting("RECETTE_DB_VOLUME", config: "compose.db_volume", default: "db-data", "compose volume holding the database files")
    public static let searchDatabaseURL = Setting("RECETTE_SEARCH_DATABASE_URL", config: nil, secret: true, "PostgreSQL URL the indexes are built from (default: the target's database; compose: see RECETTE_COMPOSE_DB_ROUTE)")
    public static let composeDBRoute = Setting("RECETTE_COMPOSE_DB_ROUTE", config: "compose.db_route", default: "auto", "how search reads the compose db: auto (its published port if it has one, else docker compose exec), port or exec")
    public static let reindexVia = Setting("RECETTE_REINDEX_VIA", config: "search.via", "how indexes are rebuilt: direct (from SQL, default when search.indexes is set) or plugin (the Strapi plugin)")
    public static let searchBatchMegabytes = Setting("RECETTE_SEARCH_BATCH_MB", config: "search.batch_mb", default: "16", "largest NDJSON batch sent to Meilisearch, in MiB (a 413 halves it)")
    public static let searchGzip = Setting("RECETTE_SEARCH_GZIP", config: "search.gzip", default: "auto", "gzip document batches: auto (not on loopback), always or never")
    public static let anonymize = Setting("RECETTE_ANONYMIZE", config: "anonymize", default: "auto", "anonymise Strapi's personal data (up_users, admin_users) in the copy: auto (the url target, review apps), true or false")
    public static let searchMaxShrink = Setting("RECETTE_SEARCH_MAX_SHRINK", config: "search.max_shrink", default: "0.5", "largest share (0 to 1) of an index's documents a rebuild may lose without --allow-shrink")
    public static let cmsService = Setting("RECETTE_CMS_SERVICE", config: "search.cms_service", default: "cms", "compose service running Strapi")
    public static let cmsHealthURL = Setting("RECETTE_CMS_HEALTH_URL", config: "search.health_url", default: "http://127.0.0.1:1337/_health", "URL answering 2xx once the CMS is up (Strapi: /_health)")
    public static let cmsStartTimeout = Setting("RECETTE_CMS_TIMEOUT", config: "search.cms_timeout", default: "180", "seconds to wait for the CMS to answer its health URL")
    public static let postgresMajor = Setting("RECETTE_PG_MAJOR", config: "postgres.major", default: "15", "PostgreSQL major version of the compose db image (recette generate writes postgres:<major> into compose.yaml)")
    public static let strapiURL = Setting("STRAPI_URL", config: "strapi.url", default: "http://127.0.0.1:1337", "Strapi's URL, for the plugin's reindex through the admin API")
    public static let strapiAdminEmail = Setting("STRAPI_ADMIN_EMAIL", config: "strapi.admin_email", "Strapi admin user's email, for the plugin's reindex through the admin API")
    public static let strapiAdminPassword = Setting("STRAPI_ADMIN_PASSWORD", config: nil, secret: true, "Strapi admin user's password, for the plugin's reindex through the admin API")

    public static let all: [Setting] = [
        .scalingoAPIToken, .scalingoApp, .scalingoRegion, .addonName, .scalingoDBUser,
        .scalingoAuthURL, .scalingoAPIURL, .scalingoDBURL,
        .databaseURL, .sourceDatabaseURL, .meilisearchURL, .meilisearchAPIKey,
        .target, .localDirectory, .localDatabase, .postgresBinDirectory,
        .composeFile, .composeOverrides, .composeProjectName, .composeDBService, .composeDBVolume, .postgresMajor, .downloadTransport,
        .searchDatabaseURL, .composeDBRoute, .reindexVia, .searchBatchMegabytes, .searchGzip, .searchMaxShrink, .anonymize, .cmsService, .cmsHealthURL, .cmsStartTimeout,
        .strapiURL, .strapiAdminEmail, .strapiAdminPassword,
    ]
}
