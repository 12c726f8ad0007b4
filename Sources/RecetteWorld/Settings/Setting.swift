/// One configuration value recette understands: the environment variable teams already use,
/// its place in `recette.yml`, whether it is a secret, and its default.
public struct Setting: Sendable, Hashable {
    public let environmentName: String
    /// Dotted path in `recette.yml`, e.g. `scalingo.app`. Secrets have none: they do not
    /// belong in a committed file.
    public let configPath: String?
    public let isSecret: Bool
    public let defaultValue: String?
    /// What values it accepts: every value is checked against it when the configuration loads.
    public let kind: SettingKind
    public let summary: String

    public init(_ environmentName: String, config configPath: String?, secret: Bool = false, accepts kind: SettingKind = .text,
                default defaultValue: String? = nil, _ summary: String) {
        self.environmentName = environmentName
        self.configPath = configPath
        self.isSecret = secret
        self.kind = kind
        self.defaultValue = defaultValue
        self.summary = summary
    }
}

/// The values a setting accepts. A value that does not fit is refused when the configuration
/// loads, before any step runs: a typo must not fail a run after the database was reset.
public enum SettingKind: Sendable, Hashable {
    /// Any text: names, ids, e-mail addresses, secrets.
    case text
    /// A whole number within the range, counting `unit`.
    case wholeNumber(ClosedRange<Int>, unit: String?)
    /// A number within the range (decimals allowed), counting `unit` when it has one.
    case number(ClosedRange<Double>, unit: String?)
    /// One of the words, in any case; `aliases` are other spellings of one of them.
    case choice([String], aliases: [String: String] = [:])
    /// An absolute URL with a host, in one of the schemes.
    case url(schemes: [String])
    /// A file or directory, relative to the project directory unless absolute.
    case path
    /// Paths separated by ':' (in recette.yml, also a list of strings).
    case pathList
}

extension Setting {
    public static let scalingoAPIToken = Setting("SCALINGO_API_TOKEN", config: nil, secret: true, "Scalingo API token (account settings → API tokens)")
    public static let scalingoApp = Setting("SCALINGO_APP", config: "scalingo.app", "Scalingo app holding the recette database")
    public static let scalingoRegion = Setting("SCALINGO_REGION", config: "scalingo.region", default: "osc-fr1", "Scalingo region: osc-fr1 or osc-secnum-fr1")
    public static let addonName = Setting("ADDON_NAME", config: "scalingo.addon", default: "postgresql", "PostgreSQL addon: id (ad-…), provider (postgresql) or alias (psql, pgsql, postgres)")
    public static let scalingoAuthURL = Setting("SCALINGO_AUTH_URL", config: "scalingo.auth_url", accepts: .url(schemes: ["http", "https"]), "Scalingo auth host (default https://auth.scalingo.com)")
    public static let scalingoAPIURL = Setting("SCALINGO_API_URL", config: "scalingo.api_url", accepts: .url(schemes: ["http", "https"]), "Scalingo API host (default https://api.<region>.scalingo.com)")
    public static let scalingoDBURL = Setting("SCALINGO_DB_URL", config: "scalingo.db_url", accepts: .url(schemes: ["http", "https"]), "Scalingo database API host (default https://db-api.<region>.scalingo.com)")
    public static let scalingoDBUser = Setting("SCALINGO_DB_USER", config: "scalingo.db_user", "owner role created on the target before restoring (optional)")
    public static let databaseURL = Setting("DATABASE_URL", config: nil, secret: true, "PostgreSQL URL of the url target")
    public static let sourceDatabaseURL = Setting("SCALINGO_POSTGRESQL_URL", config: nil, secret: true, "the recette app's own database: the url target never restores over it")
    public static let meilisearchURL = Setting("PLUGIN_MEILISEARCH_URL", config: "meilisearch.url", accepts: .url(schemes: ["http", "https"]), default: "http://127.0.0.1:7700", "Meilisearch URL")
    public static let meilisearchAPIKey = Setting("PLUGIN_MEILISEARCH_API_KEY", config: nil, secret: true, "Meilisearch API key")
    public static let parityMeilisearchAPIKey = Setting("RECETTE_PARITY_MEILISEARCH_KEY", config: nil, secret: true, "API key of the reference Meilisearch of 'recette search parity --against URL' (default: none)")
    public static let remoteMeilisearchAPIKey = Setting("RECETTE_REMOTE_MEILISEARCH_API_KEY", config: nil, secret: true, "API key of the Meilisearch named by --meilisearch-url (search settings pull, reindex); never on the command line")
    public static let appMeilisearchURLVariable = Setting("RECETTE_APP_MEILISEARCH_URL_VARIABLE", config: "search.app_url_variable", "the app variable holding its Meilisearch URL, for --meilisearch-of-app (default: the first set of PLUGIN_MEILISEARCH_URL, PLUGIN_MEILISEARCH_HOST, MEILISEARCH_URL, MEILISEARCH_HOST)")
    public static let appMeilisearchKeyVariable = Setting("RECETTE_APP_MEILISEARCH_KEY_VARIABLE", config: "search.app_key_variable", "the app variable holding its Meilisearch key, for --meilisearch-of-app (default: the first set of PLUGIN_MEILISEARCH_API_KEY, MEILISEARCH_API_KEY, MEILISEARCH_ADMIN_KEY, MEILISEARCH_MASTER_KEY)")
    public static let target = Setting("RECETTE_TARGET", config: "target", accepts: .choice(["local", "compose", "url"]), default: "local", "where the database is restored: local, compose or url")
    public static let localDirectory = Setting("RECETTE_LOCAL_DIR", config: "local.directory", accepts: .path, default: ".recette/local", "directory of the local target's PostgreSQL cluster")
    public static let localDatabase = Setting("RECETTE_DATABASE", config: "database", default: "recette", "name of the restored database on the local target (compose restores into the db service's POSTGRES_DB, url into DATABASE_URL's database)")
    public static let postgresBinDirectory = Setting("RECETTE_PG_BINDIR", config: "postgres.bindir", accepts: .path, "directory holding pg_restore, pg_dump, initdb and pg_ctl (default: found automatically)")
    public static let composeFile = Setting("RECETTE_COMPOSE_FILE", config: "compose.file", accepts: .path, default: "compose/compose.yaml", "compose file of the project")
    public static let composeOverrides = Setting("RECETTE_COMPOSE_OVERRIDES", config: "compose.override_files", accepts: .pathList, "extra compose files applied after the compose file, separated by ':' (in recette.yml: a list or a ':'-separated string)")
    public static let composeProjectName = Setting("RECETTE_COMPOSE_PROJECT", config: "compose.project_name", "compose project name (default: compose's own, e.g. COMPOSE_PROJECT_NAME, the file's name: or its directory)")
    public static let composeDBService = Setting("RECETTE_DB_SERVICE", config: "compose.db_service", default: "db", "compose service running PostgreSQL")
    public static let downloadTransport = Setting("RECETTE_DOWNLOAD_TRANSPORT", config: "download.transport", accepts: .choice(["curl", "urlsession"]), default: "curl", "HTTP client for backup archives: curl (libcurl, streamed to disk) or urlsession")
    public static let composeDBVolume = Setting("RECETTE_DB_VOLUME", config: "compose.db_volume", default: "db-data", "compose volume holding the database files")
    public static let searchDatabaseURL = Setting("RECETTE_SEARCH_DATABASE_URL", config: nil, secret: true, "PostgreSQL URL the indexes are built from (default: the target's database; compose: see RECETTE_COMPOSE_DB_ROUTE)")
    public static let composeDBRoute = Setting("RECETTE_COMPOSE_DB_ROUTE", config: "compose.db_route", accepts: .choice(["auto", "port", "socket", "exec"]), default: "auto", "how search reads the compose db: auto (its published port if it has one, else its server's socket through the container when the engine is on this machine, else docker exec), port, socket or exec")
    public static let reindexVia = Setting("RECETTE_REINDEX_VIA", config: "search.via", accepts: .choice(["direct", "plugin"]), "how indexes are rebuilt: direct (from SQL, default when search.indexes is set) or plugin (the Strapi plugin)")
    public static let searchBatchMegabytes = Setting("RECETTE_SEARCH_BATCH_MB", config: "search.batch_mb", accepts: .number(0.01...1024, unit: "MiB"), default: "16", "largest NDJSON batch sent to Meilisearch, in MiB (a 413 halves it)")
    public static let searchGzip = Setting("RECETTE_SEARCH_GZIP", config: "search.gzip", accepts: .choice(["auto", "always", "never"]), default: "auto", "gzip document batches: auto (not on loopback), always or never")
    public static let anonymize = Setting("RECETTE_ANONYMIZE", config: "anonymize", accepts: .choice(["auto", "true", "false"], aliases: ["yes": "true", "on": "true", "no": "false", "off": "false"]), default: "auto", "anonymise Strapi's personal data (up_users, admin_users) in the copy: auto (the url target, review apps), true or false")
    public static let pristineSpare = Setting("RECETTE_PRISTINE_SPARE", config: "pristine.spare", accepts: .choice(["auto", "true", "false"], aliases: ["yes": "true", "on": "true", "no": "false", "off": "false"]), default: "auto", "keep a ready copy of the pristine template, made in the background, so that reset --pristine renames it into place instead of copying (costs the template's size again on disk): auto (local and compose targets), true or false")
    public static let searchMaxShrink = Setting("RECETTE_SEARCH_MAX_SHRINK", config: "search.max_shrink", accepts: .number(0...1, unit: nil), default: "0.5", "largest share (0 to 1) of an index's documents a rebuild may lose without --allow-shrink")
    public static let transformTimeout = Setting("RECETTE_TRANSFORM_TIMEOUT", config: "search.transform_timeout", accepts: .number(0.1...86_400, unit: "seconds"), default: "300", "seconds an index's transform command may go without printing a line while it owes one (then it is killed and the rebuild fails)")
    public static let cmsService = Setting("RECETTE_CMS_SERVICE", config: "search.cms_service", default: "cms", "compose service running Strapi")
    public static let cmsHealthURL = Setting("RECETTE_CMS_HEALTH_URL", config: "search.health_url", accepts: .url(schemes: ["http", "https"]), default: "http://127.0.0.1:1337/_health", "URL answering 2xx once the CMS is up (Strapi: /_health)")
    public static let cmsStartTimeout = Setting("RECETTE_CMS_TIMEOUT", config: "search.cms_timeout", accepts: .wholeNumber(1...86_400, unit: "seconds"), default: "180", "seconds to wait for the CMS to answer its health URL")
    public static let postgresMajor = Setting("RECETTE_PG_MAJOR", config: "postgres.major", accepts: .wholeNumber(10...99, unit: nil), default: "15", "PostgreSQL major version of the compose db image (recette generate writes postgres:<major> into compose.yaml)")
    public static let strapiURL = Setting("STRAPI_URL", config: "strapi.url", accepts: .url(schemes: ["http", "https"]), default: "http://127.0.0.1:1337", "Strapi's URL, for the plugin's reindex through the admin API")
    public static let postRestore = Setting("RECETTE_POST_RESTORE", config: "post_restore", accepts: .pathList, "SQL files run in order in the new database before it is swapped in (in recette.yml: a list; here ':'-separated)")
    public static let keep = Setting("RECETTE_KEEP", config: "keep", "tables whose rows are copied from the database being replaced into the new one (in recette.yml: a list; here ':'-separated)")
    public static let strapiAdminEmail = Setting("STRAPI_ADMIN_EMAIL", config: "strapi.admin_email", "Strapi admin user's email, for the plugin's reindex through the admin API")
    public static let strapiAdminPassword = Setting("STRAPI_ADMIN_PASSWORD", config: nil, secret: true, "Strapi admin user's password, for the plugin's reindex through the admin API")
    public static let strapiProject = Setting("RECETTE_STRAPI_PROJECT", config: "strapi.project", accepts: .path, "the CMS's source (package.json, src/api, src/components), for the schema guard and the search indexes from its model (default: the project directory when it holds src/api)")

    public static let all: [Setting] = [
        .scalingoAPIToken, .scalingoApp, .scalingoRegion, .addonName, .scalingoDBUser,
        .scalingoAuthURL, .scalingoAPIURL, .scalingoDBURL,
        .databaseURL, .sourceDatabaseURL, .meilisearchURL, .meilisearchAPIKey, .parityMeilisearchAPIKey, .remoteMeilisearchAPIKey, .appMeilisearchURLVariable, .appMeilisearchKeyVariable,
        .target, .localDirectory, .localDatabase, .postgresBinDirectory,
        .composeFile, .composeOverrides, .composeProjectName, .composeDBService, .composeDBVolume, .postgresMajor, .downloadTransport,
        .searchDatabaseURL, .composeDBRoute, .reindexVia, .searchBatchMegabytes, .searchGzip, .searchMaxShrink, .transformTimeout, .anonymize, .pristineSpare, .postRestore, .keep, .cmsService, .cmsHealthURL, .cmsStartTimeout,
        .strapiURL, .strapiAdminEmail, .strapiAdminPassword, .strapiProject,
    ]
}
