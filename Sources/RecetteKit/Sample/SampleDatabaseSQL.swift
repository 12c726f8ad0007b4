import RecetteWorld
// The SQL for a Strapi-v4-shaped sample ("recette") database, used to exercise
// backup/restore end to end without real customer data.
//
// Everything is generated set-based inside PostgreSQL (INSERT ... SELECT over
// generate_series), with every value derived from the row id by arithmetic,
// fixed word lists and md5(): two runs give byte-identical data, and a million
// offers take seconds rather than minutes.

/// The SQL that builds a Strapi-v4-shaped sample database ("recette" data): two
/// collections (`offres_de_stage`, `annonces_de_logement`) with their component
/// tables and component link tables, plus the small admin / users-permissions /
/// upload / i18n / core tables a Strapi v4 instance keeps in PostgreSQL. With `strapiMajor`
/// 5, the same rows in Strapi v5's layout (`SampleDatabaseSQL+V5.swift`).
///
/// How to run `statements`:
/// - In an empty database (tables are created without `IF NOT EXISTS`), in schema `public`.
/// - One statement per `PQexec`, all inside ONE transaction (`BEGIN` ... `COMMIT`): the
///   first statements are `SET LOCAL` (time zone, client encoding, search path,
///   maintenance_work_mem) which only take effect inside a transaction block.
/// - The `owner` role must already exist. Objects are created by the connected user and
///   handed over at the end with `ALTER TABLE ... OWNER TO`, which also moves the indexes
///   and the serial sequences. That needs the connected user to be a superuser, or a member
///   of `owner` with `owner` holding CREATE on schema `public`.
/// - Data is deterministic: no `random()`, no `now()`; timestamps are absolute (UTC).
///   Row content is identical from run to run; physical row order in the heap is not id order.
/// - Drafts: a collection row is a draft iff `(id * 37) % 100 < draftPercent`, so every block of
///   100 consecutive ids holds exactly `draftPercent` drafts. Negative counts are treated as 0 and
///   `draftPercent` is clamped to 0...100.
public struct SampleDatabaseSQL: Sendable {
    /// Rows in `offres_de_stage` (each with one localisation and one entreprise component).
    public var offers: Int
    /// Rows in `annonces_de_logement` (each with one localisation component).
    public var housingAds: Int
    /// Share (0...100) of each collection's rows left as drafts (`published_at IS NULL`).
    public var draftPercent: Int
    /// Role that owns every table, index and sequence. Must exist before the SQL runs.
    public var owner: String
    /// 4: Strapi v4's layout; 5: Strapi v5's, derived from it (`SampleDatabaseSQL+V5.swift`).
    public var strapiMajor: Int

    public init(offers: Int = 25_000, housingAds: Int = 12_000, draftPercent: Int = 10, owner: String, strapiMajor: Int = 4) {
        self.offers = offers
        self.housingAds = housingAds
        self.draftPercent = draftPercent
        self.owner = owner
        self.strapiMajor = strapiMajor
    }

    var isV5: Bool { strapiMajor >= 5 }
    /// The tables of this layout, in creation order.
    var layoutTables: [Table] { isV5 ? Self.v5Tables : Self.tables }

    // MARK: - Public results

    /// Statements to run in order, each a single SQL statement (no psql meta-commands),
    /// runnable through libpq's PQexec one at a time inside one transaction.
    public var statements: [String] {
        var sql: [String] = []
        sql += Self.settings
        sql += layoutTables.map { "CREATE TABLE public.\($0.name) (\n    \($0.columns.joined(separator: ",\n    "))\n)" }
        // v5: the same rows under v5's names, then its document versions.
        sql += (smallTableInserts + componentInserts + collectionInserts).map { isV5 ? Self.v5Renamed($0) : $0 }
        if isV5 { sql += v5DocumentVersions }
        sql += layoutTables.map { "ALTER TABLE public.\($0.name) ADD CONSTRAINT \($0.name)_pkey PRIMARY KEY (id)" }
        sql += Self.indexesAndForeignKeys(v5: isV5)
        sql.append(Self.databaseSchemaInsert(layoutTables))
        sql += layoutTables.map {
            "SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence('public.\($0.name)', 'id'), "
                + "COALESCE(max(id), 0) + 1, false) FROM public.\($0.name)"
        }
        let role = Self.quoteIdentifier(owner)
        sql += layoutTables.map { "ALTER TABLE public.\($0.name) OWNER TO \(role)" }
        return sql
    }

    /// Expected exact row count per table after running `statements`, keyed by table name.
    public var expectedRowCounts: [String: Int] {
        let offers = offerCount, ads = housingAdCount
        var counts: [String: Int] = [
            "admin_users": Self.adminUsers.count,
            "admin_roles": Self.adminRoles.count,
            "admin_permissions": Self.adminPermissions.count,
            "admin_users_roles_links": Self.adminUsers.count,
            "admin_permissions_role_links": Self.adminPermissions.count,
            "strapi_api_tokens": Self.apiTokenCount,
            "strapi_core_store_settings": Self.coreStoreSettings.count,
            "strapi_database_schema": 1,
            "strapi_migrations": Self.migrations.count,
            "strapi_webhooks": Self.webhooks.count,
            "i18n_locale": 1,
            "files": Self.fileCount,
            "up_roles": Self.upRoles.count,
            "up_permissions": Self.upPermissions.count,
            "up_permissions_role_links": Self.upPermissions.count,
            "up_users": Self.upUserCount,
            "up_users_role_links": Self.upUserCount,
            "components_localisation_localisations": offers + ads,
            "components_entreprise_entreprises": offers,
            "offres_de_stage": offers,
            "offres_de_stage_components": 2 * offers,
            "annonces_de_logement": ads,
            "annonces_de_logement_components": ads,
        ]
        if isV5 { counts = v5RowCounts(counts) }
        // Keep the dictionary honest: one entry per created table.
        for table in layoutTables where counts[table.name] == nil { counts[table.name] = 0 }
        return counts
    }

    /// Number of published (published_at IS NOT NULL) rows per collection table.
    public var expectedPublishedCounts: [String: Int] {
        [
            "offres_de_stage": offerCount - Self.draftCount(rows: offerCount, percent: percent),
            "annonces_de_logement": housingAdCount - Self.draftCount(rows: housingAdCount, percent: percent),
        ]
    }

    /// Every table the statements create (Strapi v4's layout), in creation order.
    public static var tableNames: [String] { tables.map(\.name) }

    // MARK: - Normalised parameters

    var offerCount: Int { max(0, offers) }
    var housingAdCount: Int { max(0, housingAds) }
    var percent: Int { min(100, max(0, draftPercent)) }

    /// SQL predicate (on a bigint `id` expression) that is true for drafts: within every
    /// block of 100 consecutive ids, exactly `percent` ids match (37 is coprime with 100),
    /// spread through the block rather than bunched at its start.
    func draftPredicate(_ id: String) -> String {
        "((\(id) * 37) % 100 < \(percent))"
    }

    /// Same rule as `draftPredicate`, evaluated in Swift for ids 1...rows.
    static func draftCount(rows: Int, percent: Int) -> Int {
        guard rows > 0, percent > 0 else { return 0 }
        let fullBlocks = rows / 100
        var count = fullBlocks * percent
        for id in stride(from: fullBlocks * 100 + 1, through: rows, by: 1) where (id * 37) % 100 < percent {
            count += 1
        }
        return count
    }

    // MARK: - Quoting

    /// `"name"` with embedded double quotes doubled.
    static func quoteIdentifier(_ name: String) -> String {
        var out = "\""
        for scalar in name.unicodeScalars {
            if scalar == "\"" { out += "\"\"" } else if scalar != "\0" { out.unicodeScalars.append(scalar) }
        }
        return out + "\""
    }

    /// `'text'` with embedded single quotes doubled (standard_conforming_strings is on).
    static func literal(_ text: String) -> String {
        var out = "'"
        for scalar in text.unicodeScalars {
            if scalar == "'" { out += "''" } else if scalar != "\0" { out.unicodeScalars.append(scalar) }
        }
        return out + "'"
    }

    static func literal(_ text: String?) -> String {
        text.map { literal($0) } ?? "NULL"
    }

    static func textArray(_ items: [String]) -> String {
        "ARRAY[" + items.map { literal($0) }.joined(separator: ", ") + "]::text[]"
    }

    static func numericArray(_ items: [String]) -> String {
        "ARRAY[" + items.joined(separator: ", ") + "]::numeric[]"
    }

    /// A fixed instant, `minutes` after the sample's epoch (2022-09-01 08:00 UTC).
    static func timestamp(minutes: Int) -> String {
        "(timestamptz '2022-09-01 08:00:00+00' + interval '\(minutes) minutes')"
    }

    // MARK: - Session settings

    private static let settings: [String] = [
        "SET LOCAL client_encoding = 'UTF8'",
        "SET LOCAL TimeZone = 'UTC'",
        "SET LOCAL search_path = pg_catalog, public",
        "SET LOCAL maintenance_work_mem = '256MB'",
    ]

    // MARK: - Tables

    struct Table: Sendable {
        let name: String
        let columns: [String]
    }

    private static let audit = [
        "created_at timestamp(6) with time zone",
        "updated_at timestamp(6) with time zone",
        "created_by_id integer",
        "updated_by_id integer",
    ]

    /// Tables carrying created_by_id / updated_by_id (→ admin_users, ON DELETE SET NULL).
    static let auditedTables = [
        "admin_users", "admin_roles", "admin_permissions", "strapi_api_tokens", "i18n_locale", "files",
        "up_roles", "up_permissions", "up_users", "offres_de_stage", "annonces_de_logement",
    ]

    static let tables: [Table] = [
        Table(name: "admin_users", columns: [
            "id serial NOT NULL", "firstname character varying(255)", "lastname character varying(255)",
            "username character varying(255)", "email character varying(255)", "password character varying(255)",
            "reset_password_token character varying(255)", "registration_token character varying(255)",
            "is_active boolean", "blocked boolean", "prefered_language character varying(255)",
        ] + audit),
        Table(name: "admin_roles", columns: [
            "id serial NOT NULL", "name character varying(255)", "code character varying(255)",
            "description character varying(255)",
        ] + audit),
        Table(name: "admin_permissions", columns: [
            "id serial NOT NULL", "action character varying(255)", "action_parameters jsonb",
            "subject character varying(255)", "properties jsonb", "conditions jsonb",
        ] + audit),
        Table(name: "admin_users_roles_links", columns: [
            "id serial NOT NULL", "user_id integer", "role_id integer",
            "role_order double precision", "user_order double precision",
        ]),
        Table(name: "admin_permissions_role_links", columns: [
            "id serial NOT NULL", "permission_id integer", "role_id integer", "permission_order double precision",
        ]),
        Table(name: "strapi_api_tokens", columns: [
            "id serial NOT NULL", "name character varying(255)", "description character varying(255)",
            "type character varying(255)", "access_key character varying(255)",
            "last_used_at timestamp(6) with time zone", "expires_at timestamp(6) with time zone", "lifespan bigint",
        ] + audit),
        Table(name: "strapi_core_store_settings", columns: [
            "id serial NOT NULL", "key character varying(255)", "value text", "type character varying(255)",
            "environment character varying(255)", "tag character varying(255)",
        ]),
        Table(name: "strapi_database_schema", columns: [
            "id serial NOT NULL", "schema jsonb", "time timestamp(6) with time zone", "hash character varying(255)",
        ]),
        Table(name: "strapi_migrations", columns: [
            "id serial NOT NULL", "name character varying(255)", "time timestamp(6) with time zone",
        ]),
        Table(name: "strapi_webhooks", columns: [
            "id serial NOT NULL", "name character varying(255)", "url text", "headers jsonb", "events jsonb",
            "enabled boolean",
        ]),
        Table(name: "i18n_locale", columns: [
            "id serial NOT NULL", "name character varying(255)", "code character varying(255)",
        ] + audit),
        Table(name: "files", columns: [
            "id serial NOT NULL", "name character varying(255)", "alternative_text character varying(255)",
            "caption character varying(255)", "width integer", "height integer", "formats jsonb",
            "hash character varying(255)", "ext character varying(255)", "mime character varying(255)",
            "size numeric(10,2)", "url character varying(255)", "preview_url character varying(255)",
            "provider character varying(255)", "provider_metadata jsonb", "folder_path character varying(255)",
        ] + audit),
        Table(name: "up_roles", columns: [
            "id serial NOT NULL", "name character varying(255)", "description character varying(255)",
            "type character varying(255)",
        ] + audit),
        Table(name: "up_permissions", columns: [
            "id serial NOT NULL", "action character varying(255)",
        ] + audit),
        Table(name: "up_permissions_role_links", columns: [
            "id serial NOT NULL", "permission_id integer", "role_id integer", "permission_order double precision",
        ]),
        Table(name: "up_users", columns: [
            "id serial NOT NULL", "username character varying(255)", "email character varying(255)",
            "provider character varying(255)", "password character varying(255)",
            "reset_password_token character varying(255)", "confirmation_token character varying(255)",
            "confirmed boolean", "blocked boolean",
        ] + audit),
        Table(name: "up_users_role_links", columns: [
            "id serial NOT NULL", "user_id integer", "role_id integer", "user_order double precision",
        ]),
        Table(name: "components_localisation_localisations", columns: [
            "id serial NOT NULL", "ville character varying(255)", "code_postal character varying(255)",
            "departement character varying(255)", "region character varying(255)", "coordonnees jsonb",
        ]),
        Table(name: "components_entreprise_entreprises", columns: [
            "id serial NOT NULL", "nom character varying(255)", "siret character varying(255)",
            "secteur character varying(255)",
        ]),
        Table(name: "offres_de_stage", columns: [
            "id serial NOT NULL", "title character varying(255)", "description text",
            "domaine character varying(255)", "duree_en_mois integer", "remuneration numeric(10,2)",
            "date_de_debut date", "slug character varying(255)", "published_at timestamp(6) with time zone",
        ] + audit),
        Table(name: "offres_de_stage_components", columns: componentLinkColumns),
        Table(name: "annonces_de_logement", columns: [
            "id serial NOT NULL", "titre character varying(255)", "description text",
            "type_de_logement character varying(255)", "surface numeric(10,2)", "loyer numeric(10,2)",
            "meuble boolean", "slug character varying(255)", "published_at timestamp(6) with time zone",
        ] + audit),
        Table(name: "annonces_de_logement_components", columns: componentLinkColumns),
    ]

    private static let componentLinkColumns = [
        "id serial NOT NULL", "entity_id integer", "component_id integer",
        "component_type character varying(255)", "field character varying(255)", "\"order\" double precision",
    ]

    // MARK: - Indexes and foreign keys (Strapi v4 naming; v5's short suffixes, `Identifiers`)

    private static func indexesAndForeignKeys(v5: Bool) -> [String] {
        var sql: [String] = []
        for table in auditedTables {
            for column in ["created_by_id", "updated_by_id"] {
                sql.append("CREATE INDEX \(table)_\(column)_fk ON public.\(table) USING btree (\(column))")
                sql.append(
                    "ALTER TABLE public.\(table) ADD CONSTRAINT \(table)_\(column)_fk FOREIGN KEY (\(column)) "
                        + "REFERENCES public.admin_users(id) ON DELETE SET NULL")
            }
            // v5's document service finds a document's rows by these three.
            if v5 { sql.append("CREATE INDEX \(table)_documents_idx ON public.\(table) USING btree (document_id, locale, published_at)") }
        }
        // Relation link tables: <owner>_fk, <owner>_inv_fk, unique pair, order indexes.
        let links: [(table: String, column: String, target: String, inverseColumn: String, inverseTarget: String, orders: [String])] = [
            ("admin_users_roles_links", "user_id", "admin_users", "role_id", "admin_roles", ["role_order", "user_order"]),
            ("admin_permissions_role_links", "permission_id", "admin_permissions", "role_id", "admin_roles", ["permission_order"]),
            ("up_permissions_role_links", "permission_id", "up_permissions", "role_id", "up_roles", ["permission_order"]),
            ("up_users_role_links", "user_id", "up_users", "role_id", "up_roles", ["user_order"]),
        ]
        for link in links {
            let t = v5 ? v5Renamed(link.table) : link.table
            let (inverseFK, unique) = v5 ? ("ifk", "uq") : ("inv_fk", "unique")
            sql.append("CREATE INDEX \(t)_fk ON public.\(t) USING btree (\(link.column))")
            sql.append("CREATE INDEX \(t)_\(inverseFK) ON public.\(t) USING btree (\(link.inverseColumn))")
            sql.append("ALTER TABLE public.\(t) ADD CONSTRAINT \(t)_\(unique) UNIQUE (\(link.column), \(link.inverseColumn))")
            for (i, order) in link.orders.enumerated() {
                let name: String
                if v5 {
                    // v5: the order of the owner's side in the other's list (`user_ord` of `user_id`) is
                    // the inverse order (`_oifk`); the other one is `_ofk`.
                    name = order.hasPrefix(link.column.replacingOccurrences(of: "_id", with: "_")) ? "\(t)_oifk" : "\(t)_ofk"
                } else {
                    name = i == 0 ? "\(t)_order_fk" : "\(t)_order_inv_fk"
                }
                sql.append("CREATE INDEX \(name) ON public.\(t) USING btree (\(v5 ? v5Renamed(order) : order))")
            }
            sql.append(
                "ALTER TABLE public.\(t) ADD CONSTRAINT \(t)_fk FOREIGN KEY (\(link.column)) "
                    + "REFERENCES public.\(link.target)(id) ON DELETE CASCADE")
            sql.append(
                "ALTER TABLE public.\(t) ADD CONSTRAINT \(t)_\(inverseFK) FOREIGN KEY (\(link.inverseColumn)) "
                    + "REFERENCES public.\(link.inverseTarget)(id) ON DELETE CASCADE")
        }
        // Component link tables: v5 names their indexes from the collection name
        // (`<collection>_field_idx`, …, `<collection>_uq`; @strapi/core's content-types-to-models).
        for (t, entity) in [("offres_de_stage_components", "offres_de_stage"),
                            ("annonces_de_logement_components", "annonces_de_logement")] {
            let (table, prefix) = v5 ? (v5Renamed(t), entity) : (t, t)
            let (index, unique, component) = v5 ? ("idx", "uq", "cmp_id") : ("index", "unique", "component_id")
            sql.append("CREATE INDEX \(prefix)_field_\(index) ON public.\(table) USING btree (field)")
            sql.append("CREATE INDEX \(prefix)_component_type_\(index) ON public.\(table) USING btree (component_type)")
            sql.append("CREATE INDEX \(prefix)_entity_fk ON public.\(table) USING btree (entity_id)")
            sql.append(
                "ALTER TABLE public.\(table) ADD CONSTRAINT \(prefix)_\(unique) UNIQUE (entity_id, \(component), field, component_type)")
            sql.append(
                "ALTER TABLE public.\(table) ADD CONSTRAINT \(prefix)_entity_fk FOREIGN KEY (entity_id) "
                    + "REFERENCES public.\(entity)(id) ON DELETE CASCADE")
        }
        // Unique slugs (not on v5: a document's draft and published rows share the value, and
        // Strapi checks it itself), plus the upload plugin's own indexes.
        if !v5 {
            sql.append("ALTER TABLE public.offres_de_stage ADD CONSTRAINT offres_de_stage_slug_unique UNIQUE (slug)")
            sql.append("ALTER TABLE public.annonces_de_logement ADD CONSTRAINT annonces_de_logement_slug_unique UNIQUE (slug)")
        }
        for column in ["folder_path", "created_at", "updated_at", "name", "size", "ext"] {
            sql.append("CREATE INDEX upload_files_\(column)_index ON public.files USING btree (\(column))")
        }
        sql.append("ALTER TABLE public.i18n_locale ADD CONSTRAINT i18n_locale_code_unique UNIQUE (code)")
        sql.append("ALTER TABLE public.admin_roles ADD CONSTRAINT admin_roles_code_unique UNIQUE (code)")
        sql.append("ALTER TABLE public.up_users ADD CONSTRAINT up_users_email_unique UNIQUE (email)")
        return sql
    }

    /// `strapi_database_schema`'s single row: a Strapi-like description of the tables,
    /// built from the catalog once every index and foreign key exists (deterministic order).
    private static func databaseSchemaInsert(_ tables: [Table]) -> String {
        let names = textArray(tables.map(\.name))
        return """
            INSERT INTO public.strapi_database_schema (id, schema, time, hash)
            SELECT 1, x.schema, \(timestamp(minutes: 1_051_200)), md5(x.schema::text)
            FROM (
              SELECT jsonb_build_object('tables', jsonb_agg(jsonb_build_object(
                'name', c.relname,
                'columns', (
                  SELECT jsonb_agg(jsonb_build_object(
                    'name', a.attname,
                    'type', CASE WHEN a.attname = 'id' THEN 'increments'
                                 ELSE CASE format_type(a.atttypid, NULL)
                                   WHEN 'character varying' THEN 'string'
                                   WHEN 'text' THEN 'text'
                                   WHEN 'integer' THEN 'integer'
                                   WHEN 'bigint' THEN 'bigInteger'
                                   WHEN 'numeric' THEN 'decimal'
                                   WHEN 'double precision' THEN 'double'
                                   WHEN 'boolean' THEN 'boolean'
                                   WHEN 'date' THEN 'date'
                                   WHEN 'timestamp with time zone' THEN 'datetime'
                                   WHEN 'jsonb' THEN 'jsonb'
                                   ELSE format_type(a.atttypid, NULL) END END,
                    'args', CASE WHEN a.attname = 'id' THEN '[{"primary": true, "primaryKey": true}]'::jsonb
                                 ELSE '[]'::jsonb END,
                    'defaultTo', NULL,
                    'notNullable', a.attnotnull,
                    'unsigned', false) ORDER BY a.attnum)
                  FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
                'indexes', (
                  SELECT COALESCE(jsonb_agg(jsonb_build_object(
                    'name', ic.relname,
                    'columns', (
                      SELECT jsonb_agg(ia.attname ORDER BY k.ord)
                      FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_catalog.pg_attribute ia ON ia.attrelid = c.oid AND ia.attnum = k.attnum))
                    || CASE WHEN i.indisunique THEN '{"type": "unique"}'::jsonb ELSE '{}'::jsonb END
                    ORDER BY ic.relname), '[]'::jsonb)
                  FROM pg_catalog.pg_index i
                  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
                  WHERE i.indrelid = c.oid AND NOT i.indisprimary),
                'foreignKeys', (
                  SELECT COALESCE(jsonb_agg(jsonb_build_object(
                    'name', f.conname,
                    'columns', (
                      SELECT jsonb_agg(fa.attname ORDER BY k.ord)
                      FROM unnest(f.conkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_catalog.pg_attribute fa ON fa.attrelid = f.conrelid AND fa.attnum = k.attnum),
                    'referencedTable', (SELECT rc.relname FROM pg_catalog.pg_class rc WHERE rc.oid = f.confrelid),
                    'referencedColumns', (
                      SELECT jsonb_agg(ra.attname ORDER BY k.ord)
                      FROM unnest(f.confkey) WITH ORDINALITY AS k(attnum, ord)
                      JOIN pg_catalog.pg_attribute ra ON ra.attrelid = f.confrelid AND ra.attnum = k.attnum),
                    'onDelete', CASE f.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' END)
                    ORDER BY f.conname), '[]'::jsonb)
                  FROM pg_catalog.pg_constraint f
                  WHERE f.conrelid = c.oid AND f.contype = 'f')
              ) ORDER BY c.relname)) AS schema
              FROM pg_catalog.pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname = ANY (\(names))
            ) AS x
            """
    }

    // MARK: - Small tables (admin, users-permissions, upload, core store)

    private struct AdminUser: Sendable {
        let firstname: String, lastname: String, role: Int
    }

    private static let adminUsers: [AdminUser] = [
        AdminUser(firstname: "Camille", lastname: "Martin", role: 1),
        AdminUser(firstname: "Louis", lastname: "Bernard", role: 2),
        AdminUser(firstname: "Chloé", lastname: "Dubois", role: 2),
        AdminUser(firstname: "Hugo", lastname: "Thomas", role: 3),
        AdminUser(firstname: "Léa", lastname: "Robert", role: 3),
    ]

    private static let adminRoles: [(name: String, code: String, description: String)] = [
        ("Super Admin", "strapi-super-admin", "Super Admins can access and manage all features and settings."),
        ("Editor", "strapi-editor", "Editors can manage and publish contents including those of other users."),
        ("Author", "strapi-author", "Authors can manage the content they have created."),
    ]

    private struct Permission: Sendable {
        let action: String, subject: String?, properties: String, conditions: String, role: Int
    }

    private static let offerSubject = "api::offre-de-stage.offre-de-stage"
    private static let housingSubject = "api::annonce-de-logement.annonce-de-logement"
    private static let userSubject = "plugin::users-permissions.user"

    private static let adminPermissions: [Permission] = {
        let offerFields = #"{"fields": ["title", "description", "domaine", "duree_en_mois", "remuneration", "date_de_debut", "slug", "localisation.ville", "localisation.code_postal", "localisation.departement", "localisation.region", "localisation.coordonnees", "entreprise.nom", "entreprise.siret", "entreprise.secteur"]}"#
        let housingFields = #"{"fields": ["titre", "description", "type_de_logement", "surface", "loyer", "meuble", "slug", "localisation.ville", "localisation.code_postal", "localisation.departement", "localisation.region", "localisation.coordonnees"]}"#
        let userFields = #"{"fields": ["username", "email", "provider", "password", "resetPasswordToken", "confirmationToken", "confirmed", "blocked", "role"]}"#
        let contentManager = "plugin::content-manager.explorer."
        var list: [Permission] = []
        func contentPermissions(role: Int, conditions: String, actions: [String]) {
            for (subject, fields, publishable) in [(offerSubject, offerFields, true), (housingSubject, housingFields, true),
                                                    (userSubject, userFields, false)] {
                if role == 3 && subject == userSubject { continue }
                for action in actions where publishable || action != "publish" {
                    let withFields = ["create", "read", "update"].contains(action)
                    list.append(Permission(action: contentManager + action, subject: subject,
                                           properties: withFields ? fields : "{}", conditions: conditions, role: role))
                }
            }
        }
        contentPermissions(role: 1, conditions: "[]", actions: ["create", "read", "update", "delete", "publish"])
        for action in [
            "admin::marketplace.read", "admin::webhooks.create", "admin::webhooks.read", "admin::webhooks.update",
            "admin::webhooks.delete", "admin::users.create", "admin::users.read", "admin::users.update",
            "admin::users.delete", "admin::roles.read", "admin::api-tokens.read", "admin::api-tokens.create",
            "plugin::upload.read", "plugin::upload.assets.create", "plugin::upload.assets.update",
            "plugin::upload.assets.download", "plugin::content-type-builder.read", "plugin::i18n.locale.read",
        ] {
            list.append(Permission(action: action, subject: nil, properties: "{}", conditions: "[]", role: 1))
        }
        contentPermissions(role: 2, conditions: "[]", actions: ["create", "read", "update", "delete", "publish"])
        list.append(Permission(action: "plugin::upload.read", subject: nil, properties: "{}", conditions: "[]", role: 2))
        list.append(Permission(action: "plugin::upload.assets.create", subject: nil, properties: "{}", conditions: "[]", role: 2))
        contentPermissions(role: 3, conditions: #"["admin::is-creator"]"#, actions: ["create", "read", "update", "delete"])
        return list
    }()

    private static let upRoles: [(name: String, description: String, type: String)] = [
        ("Authenticated", "Default role given to authenticated user.", "authenticated"),
        ("Public", "Default role given to unauthenticated user.", "public"),
    ]

    private static let upPermissions: [(action: String, role: Int)] = [
        ("plugin::users-permissions.user.me", 1),
        ("plugin::users-permissions.auth.changePassword", 1),
        ("api::offre-de-stage.offre-de-stage.find", 1),
        ("api::offre-de-stage.offre-de-stage.findOne", 1),
        ("api::annonce-de-logement.annonce-de-logement.find", 1),
        ("api::annonce-de-logement.annonce-de-logement.findOne", 1),
        ("plugin::users-permissions.auth.callback", 2),
        ("plugin::users-permissions.auth.connect", 2),
        ("plugin::users-permissions.auth.register", 2),
        ("plugin::users-permissions.auth.forgotPassword", 2),
        ("plugin::users-permissions.auth.resetPassword", 2),
        ("plugin::users-permissions.auth.emailConfirmation", 2),
        ("plugin::users-permissions.auth.sendEmailConfirmation", 2),
        ("api::offre-de-stage.offre-de-stage.find", 2),
        ("api::offre-de-stage.offre-de-stage.findOne", 2),
        ("api::annonce-de-logement.annonce-de-logement.find", 2),
        ("api::annonce-de-logement.annonce-de-logement.findOne", 2),
    ]

    private static let upUserCount = 8
    private static let fileCount = 24
    private static let apiTokenCount = 2

    private static let migrations = ["2023-02-14-add-slug-to-offres-de-stage", "2023-06-01-backfill-localisations"]

    /// The "staging" Meilisearch the sample's plugin store points at, and its key: a copy made
    /// local must hold neither, and no output may show the key.
    public static let stagingMeilisearchHost = "https://meilisearch-recette.osc-fr1.example.invalid"
    public static let stagingMeilisearchKey = "staging-meili-master-key-0f9e8d7c6b5a"
    /// Staging's webhooks: two enabled, one already disabled.
    static let webhooks: [(name: String, url: String, enabled: Bool)] = [
        ("Rebuild front (recette)", "https://front-recette.example.invalid/api/revalidate", true),
        ("Slack #contenus", "https://hooks.example.invalid/services/T000/B000", true),
        ("Old preview", "https://preview.example.invalid/hook", false),
    ]

    private static let coreStoreSettings: [(key: String, value: String, type: String)] = [
        ("strapi_content_types_schema",
         #"{"api::offre-de-stage.offre-de-stage":{"kind":"collectionType","collectionName":"offres_de_stage","info":{"singularName":"offre-de-stage","pluralName":"offres-de-stage","displayName":"Offre de stage"},"options":{"draftAndPublish":true},"attributes":{"title":{"type":"string","required":true},"description":{"type":"text"},"domaine":{"type":"string"},"duree_en_mois":{"type":"integer"},"remuneration":{"type":"decimal"},"date_de_debut":{"type":"date"},"slug":{"type":"uid","targetField":"title"},"localisation":{"type":"component","repeatable":false,"component":"localisation.localisation"},"entreprise":{"type":"component","repeatable":false,"component":"entreprise.entreprise"}}},"api::annonce-de-logement.annonce-de-logement":{"kind":"collectionType","collectionName":"annonces_de_logement","info":{"singularName":"annonce-de-logement","pluralName":"annonces-de-logement","displayName":"Annonce de logement"},"options":{"draftAndPublish":true},"attributes":{"titre":{"type":"string","required":true},"description":{"type":"text"},"type_de_logement":{"type":"string"},"surface":{"type":"decimal"},"loyer":{"type":"decimal"},"meuble":{"type":"boolean"},"slug":{"type":"uid","targetField":"titre"},"localisation":{"type":"component","repeatable":false,"component":"localisation.localisation"}}}}"#,
         "object"),
        ("plugin_content_manager_configuration_content_types::api::offre-de-stage.offre-de-stage",
         #"{"uid":"api::offre-de-stage.offre-de-stage","settings":{"bulkable":true,"filterable":true,"searchable":true,"pageSize":10,"mainField":"title","defaultSortBy":"title","defaultSortOrder":"ASC"},"layouts":{"list":["id","title","domaine","published_at"]}}"#,
         "object"),
        ("plugin_content_manager_configuration_content_types::api::annonce-de-logement.annonce-de-logement",
         #"{"uid":"api::annonce-de-logement.annonce-de-logement","settings":{"bulkable":true,"filterable":true,"searchable":true,"pageSize":10,"mainField":"titre","defaultSortBy":"titre","defaultSortOrder":"ASC"},"layouts":{"list":["id","titre","loyer","published_at"]}}"#,
         "object"),
        ("plugin_content_manager_configuration_components::localisation.localisation",
         #"{"uid":"localisation.localisation","isComponent":true,"settings":{"mainField":"ville","pageSize":10},"layouts":{"list":["id","ville","code_postal","region"]}}"#,
         "object"),
        ("plugin_content_manager_configuration_components::entreprise.entreprise",
         #"{"uid":"entreprise.entreprise","isComponent":true,"settings":{"mainField":"nom","pageSize":10},"layouts":{"list":["id","nom","siret","secteur"]}}"#,
         "object"),
        ("plugin_upload_settings", #"{"sizeOptimization":true,"responsiveDimensions":true,"autoOrientation":false}"#, "object"),
        ("plugin_upload_view_configuration", #"{"pageSize":10,"sort":"createdAt:DESC"}"#, "object"),
        ("plugin_upload_metrics", #"{"weeklySchedule":"12 3 4 * * 1","lastWeeklyUpdate":1725264000000}"#, "object"),
        ("plugin_i18n_default_locale", #""fr""#, "string"),
        ("plugin_users-permissions_grant", #"{"email":{"enabled":true,"icon":"envelope"},"google":{"enabled":false,"icon":"google","key":"","secret":"","callback":"api/auth/google/callback","scope":["email"]}}"#, "object"),
        ("plugin_users-permissions_email", #"{"reset_password":{"display":"Email.template.reset_password","options":{"from":{"name":"Recette","email":"no-reply@recette.example"},"object":"Réinitialisation du mot de passe"}},"email_confirmation":{"display":"Email.template.email_confirmation","options":{"from":{"name":"Recette","email":"no-reply@recette.example"},"object":"Confirmation de votre adresse e-mail"}}}"#, "object"),
        ("plugin_users-permissions_advanced", #"{"unique_email":true,"allow_register":true,"email_confirmation":false,"email_reset_password":null,"email_confirmation_redirection":null,"default_role":"authenticated"}"#, "object"),
        ("core_admin_auth", #"{"providers":{"autoRegister":false,"defaultRole":null}}"#, "object"),
        // Staging's wiring, as a restored recette backup carries it (the prepare phase cuts it).
        ("plugin_meilisearch_meilisearch_api_key", "\"\(stagingMeilisearchKey)\"", "string"),
        ("plugin_meilisearch_meilisearch_host", "\"\(stagingMeilisearchHost)\"", "string"),
        // The plugin's store: `strapi.store({type: 'plugin', name: 'meilisearch'})` prefixes its
        // keys (`meilisearch_indexed_content_types`) with `plugin_meilisearch_`.
        ("plugin_meilisearch_meilisearch_listened_content_types", #"["api::offre-de-stage.offre-de-stage","api::annonce-de-logement.annonce-de-logement"]"#, "object"),
        ("plugin_meilisearch_meilisearch_indexed_content_types", #"["api::offre-de-stage.offre-de-stage","api::annonce-de-logement.annonce-de-logement"]"#, "object"),
    ]

    /// Deterministic bcrypt-looking string (60 chars) from a seed expression.
    private static func passwordHash(_ seed: String) -> String {
        "'$2a$10$' || substr(md5(\(seed)) || md5('salt' || \(seed)), 1, 53)"
    }

    private var smallTableInserts: [String] {
        let t = Self.timestamp
        var sql: [String] = []

        let users = Self.adminUsers.enumerated().map { index, user -> String in
            let id = index + 1
            let email = "\(Self.asciiSlug(user.firstname)).\(Self.asciiSlug(user.lastname))@recette.example"
            return "(\(id), \(Self.literal(user.firstname)), \(Self.literal(user.lastname)), NULL, \(Self.literal(email)), "
                + "\(Self.passwordHash(Self.literal(email))), NULL, NULL, true, false, 'fr', "
                + "\(t(index * 1_440)), \(t(index * 1_440 + 30)), NULL, NULL)"
        }
        sql.append("""
            INSERT INTO public.admin_users (id, firstname, lastname, username, email, password, reset_password_token, \
            registration_token, is_active, blocked, prefered_language, created_at, updated_at, created_by_id, updated_by_id) VALUES
            \(users.joined(separator: ",\n"))
            """)

        let roles = Self.adminRoles.enumerated().map { index, role in
            "(\(index + 1), \(Self.literal(role.name)), \(Self.literal(role.code)), \(Self.literal(role.description)), "
                + "\(t(index)), \(t(index)), NULL, NULL)"
        }
        sql.append("""
            INSERT INTO public.admin_roles (id, name, code, description, created_at, updated_at, created_by_id, updated_by_id) VALUES
            \(roles.joined(separator: ",\n"))
            """)

        let permissions = Self.adminPermissions.enumerated().map { index, p in
            "(\(index + 1), \(Self.literal(p.action)), '{}'::jsonb, \(Self.literal(p.subject)), "
                + "\(Self.literal(p.properties))::jsonb, \(Self.literal(p.conditions))::jsonb, "
                + "\(t(10 + index)), \(t(10 + index)), NULL, NULL)"
        }
        sql.append("""
            INSERT INTO public.admin_permissions (id, action, action_parameters, subject, properties, conditions, \
            created_at, updated_at, created_by_id, updated_by_id) VALUES
            \(permissions.joined(separator: ",\n"))
            """)

        var roleUserOrder: [Int: Int] = [:]
        let userRoles = Self.adminUsers.enumerated().map { index, user -> String in
            roleUserOrder[user.role, default: 0] += 1
            return "(\(index + 1), \(index + 1), \(user.role), 1, \(roleUserOrder[user.role]!))"
        }
        sql.append("""
            INSERT INTO public.admin_users_roles_links (id, user_id, role_id, role_order, user_order) VALUES
            \(userRoles.joined(separator: ",\n"))
            """)

        var rolePermissionOrder: [Int: Int] = [:]
        let permissionRoles = Self.adminPermissions.enumerated().map { index, p -> String in
            rolePermissionOrder[p.role, default: 0] += 1
            return "(\(index + 1), \(index + 1), \(p.role), \(rolePermissionOrder[p.role]!))"
        }
        sql.append("""
            INSERT INTO public.admin_permissions_role_links (id, permission_id, role_id, permission_order) VALUES
            \(permissionRoles.joined(separator: ",\n"))
            """)

        sql.append("""
            INSERT INTO public.strapi_api_tokens (id, name, description, type, access_key, last_used_at, expires_at, \
            lifespan, created_at, updated_at, created_by_id, updated_by_id) VALUES
            (1, 'Réindexation Meilisearch', 'Jeton utilisé par le job de réindexation nocturne.', 'full-access', \
            md5('token-1') || md5('token-1-bis') || md5('token-1-ter') || md5('token-1-quater'), \(t(700_000)), NULL, NULL, \
            \(t(20_000)), \(t(20_000)), 1, 1),
            (2, 'Front Next.js', 'Lecture seule pour le site public.', 'read-only', \
            md5('token-2') || md5('token-2-bis') || md5('token-2-ter') || md5('token-2-quater'), NULL, \
            \(t(1_100_000)), 7776000000, \(t(21_000)), \(t(21_000)), 1, 2)
            """)

        let settings = Self.coreStoreSettings.enumerated().map { index, s in
            "(\(index + 1), \(Self.literal(s.key)), \(Self.literal(s.value)), \(Self.literal(s.type)), NULL, NULL)"
        }
        sql.append("""
            INSERT INTO public.strapi_core_store_settings (id, key, value, type, environment, tag) VALUES
            \(settings.joined(separator: ",\n"))
            """)

        let hooks = Self.webhooks.enumerated().map { index, hook in
            "(\(index + 1), \(Self.literal(hook.name)), \(Self.literal(hook.url)), '{}', '[\"entry.create\",\"entry.update\",\"entry.publish\"]', \(hook.enabled))"
        }
        sql.append("INSERT INTO public.strapi_webhooks (id, name, url, headers, events, enabled) VALUES\n" + hooks.joined(separator: ",\n"))

        let migrations = Self.migrations.enumerated().map { index, name in
            "(\(index + 1), \(Self.literal(name)), \(t(240_000 + index * 160_000)))"
        }
        sql.append("INSERT INTO public.strapi_migrations (id, name, time) VALUES\n" + migrations.joined(separator: ",\n"))

        sql.append("""
            INSERT INTO public.i18n_locale (id, name, code, created_at, updated_at, created_by_id, updated_by_id) VALUES
            (1, 'French (fr)', 'fr', \(t(5)), \(t(5)), NULL, NULL)
            """)

        // Media library: mostly JPEG photos with responsive formats, every sixth a PDF.
        sql.append("""
            INSERT INTO public.files (id, name, alternative_text, caption, width, height, formats, hash, ext, mime, size, \
            url, preview_url, provider, provider_metadata, folder_path, created_at, updated_at, created_by_id, updated_by_id)
            SELECT g, f.name || f.ext, CASE WHEN f.pdf THEN NULL ELSE 'Photo : ' || f.base END, NULL,
              CASE WHEN f.pdf THEN NULL ELSE f.w END, CASE WHEN f.pdf THEN NULL ELSE f.h END,
              CASE WHEN f.pdf THEN NULL ELSE jsonb_build_object(
                'thumbnail', jsonb_build_object('name', 'thumbnail_' || f.name || f.ext, 'hash', 'thumbnail_' || f.hash,
                  'ext', f.ext, 'mime', 'image/jpeg', 'width', 234, 'height', round(234.0 * f.h / f.w),
                  'size', round(f.size / 20, 2), 'url', '/uploads/thumbnail_' || f.hash || f.ext, 'path', NULL),
                'small', jsonb_build_object('name', 'small_' || f.name || f.ext, 'hash', 'small_' || f.hash,
                  'ext', f.ext, 'mime', 'image/jpeg', 'width', 500, 'height', round(500.0 * f.h / f.w),
                  'size', round(f.size / 6, 2), 'url', '/uploads/small_' || f.hash || f.ext, 'path', NULL)) END,
              f.hash, f.ext, CASE WHEN f.pdf THEN 'application/pdf' ELSE 'image/jpeg' END, f.size,
              '/uploads/' || f.hash || f.ext, NULL, 'local', NULL, '/' || (1 + g % 3),
              \(t(30_000)) + g * interval '24 hours', \(t(30_000)) + g * interval '24 hours' + interval '5 minutes',
              1 + g % \(Self.adminUsers.count), 1 + g % \(Self.adminUsers.count)
            FROM generate_series(1, \(Self.fileCount)) AS g
            CROSS JOIN LATERAL (
              SELECT v.base, v.name, v.pdf, CASE WHEN v.pdf THEN '.pdf' ELSE '.jpg' END AS ext,
                replace(v.name, '-', '_') || '_' || substr(md5('file-' || g), 1, 10) AS hash,
                1200 + (g * 160) % 1400 AS w, 800 + (g * 90) % 800 AS h,
                round((180000 + (g * 7919) % 2400000) / 1000.0, 2) AS size
              FROM (SELECT CASE WHEN g % 6 = 0 THEN 'convention de stage ' || g ELSE 'logement ' || g END AS base,
                           CASE WHEN g % 6 = 0 THEN 'convention-de-stage-' || g ELSE 'photo-logement-' || g END AS name,
                           g % 6 = 0 AS pdf) AS v
            ) AS f
            """)

        let upRoles = Self.upRoles.enumerated().map { index, r in
            "(\(index + 1), \(Self.literal(r.name)), \(Self.literal(r.description)), \(Self.literal(r.type)), "
                + "\(t(index)), \(t(index)), NULL, NULL)"
        }
        sql.append("""
            INSERT INTO public.up_roles (id, name, description, type, created_at, updated_at, created_by_id, updated_by_id) VALUES
            \(upRoles.joined(separator: ",\n"))
            """)

        let upPermissions = Self.upPermissions.enumerated().map { index, p in
            "(\(index + 1), \(Self.literal(p.action)), \(t(100 + index)), \(t(100 + index)), NULL, NULL)"
        }
        sql.append("""
            INSERT INTO public.up_permissions (id, action, created_at, updated_at, created_by_id, updated_by_id) VALUES
            \(upPermissions.joined(separator: ",\n"))
            """)
        var upOrder: [Int: Int] = [:]
        let upPermissionRoles = Self.upPermissions.enumerated().map { index, p -> String in
            upOrder[p.role, default: 0] += 1
            return "(\(index + 1), \(index + 1), \(p.role), \(upOrder[p.role]!))"
        }
        sql.append("""
            INSERT INTO public.up_permissions_role_links (id, permission_id, role_id, permission_order) VALUES
            \(upPermissionRoles.joined(separator: ",\n"))
            """)

        sql.append("""
            INSERT INTO public.up_users (id, username, email, provider, password, reset_password_token, confirmation_token, \
            confirmed, blocked, created_at, updated_at, created_by_id, updated_by_id)
            SELECT g, u.prenom || '.' || u.nom || g, u.prenom || '.' || u.nom || g || '@etudiant.example', 'local',
              \(Self.passwordHash("'up-user-' || g")), NULL, NULL, g % 4 <> 0, g = \(Self.upUserCount),
              \(t(50_000)) + g * interval '72 hours', \(t(50_000)) + g * interval '72 hours' + interval '2 hours', NULL, NULL
            FROM generate_series(1, \(Self.upUserCount)) AS g
            CROSS JOIN LATERAL (SELECT (ARRAY['manon', 'jules', 'ines', 'adam', 'sarah', 'nathan', 'emma', 'lucas'])[1 + (g - 1) % 8] AS prenom,
                                       (ARRAY['petit', 'durand', 'leroy', 'moreau', 'simon', 'laurent', 'lefebvre', 'michel'])[1 + (g * 3) % 8] AS nom) AS u
            """)
        sql.append("""
            INSERT INTO public.up_users_role_links (id, user_id, role_id, user_order)
            SELECT g, g, 1, g FROM generate_series(1, \(Self.upUserCount)) AS g
            """)
        return sql
    }

    /// Lower-case ASCII slug of a French name (computed here, not in SQL, so that the result
    /// does not depend on the database's encoding or collation).
    private static func asciiSlug(_ text: String) -> String {
        let map: [Character: String] = ["é": "e", "è": "e", "ê": "e", "ë": "e", "à": "a", "â": "a", "î": "i", "ï": "i",
                                         "ô": "o", "ù": "u", "û": "u", "ç": "c", "É": "e", "È": "e", "Î": "i",
                                         " ": "-", "'": "-"]
        return text.map { map[$0] ?? $0.lowercased() }.joined()
    }

    // MARK: - Word lists

    private struct City: Sendable {
        let name: String, postalCode: String, department: String, region: String
        let lat: String, lon: String, rentFactor: String
    }

    private static let cities: [City] = [
        City(name: "Paris", postalCode: "75011", department: "Paris", region: "Île-de-France", lat: "48.8566", lon: "2.3522", rentFactor: "1.65"),
        City(name: "Marseille", postalCode: "13001", department: "Bouches-du-Rhône", region: "Provence-Alpes-Côte d'Azur", lat: "43.2965", lon: "5.3698", rentFactor: "1.05"),
        City(name: "Lyon", postalCode: "69003", department: "Rhône", region: "Auvergne-Rhône-Alpes", lat: "45.7640", lon: "4.8357", rentFactor: "1.25"),
        City(name: "Toulouse", postalCode: "31000", department: "Haute-Garonne", region: "Occitanie", lat: "43.6047", lon: "1.4442", rentFactor: "1.10"),
        City(name: "Nice", postalCode: "06000", department: "Alpes-Maritimes", region: "Provence-Alpes-Côte d'Azur", lat: "43.7102", lon: "7.2620", rentFactor: "1.30"),
        City(name: "Nantes", postalCode: "44000", department: "Loire-Atlantique", region: "Pays de la Loire", lat: "47.2184", lon: "-1.5536", rentFactor: "1.10"),
        City(name: "Montpellier", postalCode: "34000", department: "Hérault", region: "Occitanie", lat: "43.6108", lon: "3.8767", rentFactor: "1.10"),
        City(name: "Strasbourg", postalCode: "67000", department: "Bas-Rhin", region: "Grand Est", lat: "48.5734", lon: "7.7521", rentFactor: "1.05"),
        City(name: "Bordeaux", postalCode: "33000", department: "Gironde", region: "Nouvelle-Aquitaine", lat: "44.8378", lon: "-0.5792", rentFactor: "1.20"),
        City(name: "Lille", postalCode: "59000", department: "Nord", region: "Hauts-de-France", lat: "50.6292", lon: "3.0573", rentFactor: "1.10"),
        City(name: "Rennes", postalCode: "35000", department: "Ille-et-Vilaine", region: "Bretagne", lat: "48.1173", lon: "-1.6778", rentFactor: "1.05"),
        City(name: "Reims", postalCode: "51100", department: "Marne", region: "Grand Est", lat: "49.2583", lon: "4.0317", rentFactor: "0.90"),
        City(name: "Toulon", postalCode: "83000", department: "Var", region: "Provence-Alpes-Côte d'Azur", lat: "43.1242", lon: "5.9280", rentFactor: "0.95"),
        City(name: "Saint-Étienne", postalCode: "42000", department: "Loire", region: "Auvergne-Rhône-Alpes", lat: "45.4397", lon: "4.3872", rentFactor: "0.75"),
        City(name: "Le Havre", postalCode: "76600", department: "Seine-Maritime", region: "Normandie", lat: "49.4944", lon: "0.1079", rentFactor: "0.85"),
        City(name: "Grenoble", postalCode: "38000", department: "Isère", region: "Auvergne-Rhône-Alpes", lat: "45.1885", lon: "5.7245", rentFactor: "1.00"),
        City(name: "Dijon", postalCode: "21000", department: "Côte-d'Or", region: "Bourgogne-Franche-Comté", lat: "47.3220", lon: "5.0415", rentFactor: "0.90"),
        City(name: "Angers", postalCode: "49000", department: "Maine-et-Loire", region: "Pays de la Loire", lat: "47.4784", lon: "-0.5632", rentFactor: "0.90"),
        City(name: "Nîmes", postalCode: "30000", department: "Gard", region: "Occitanie", lat: "43.8367", lon: "4.3601", rentFactor: "0.85"),
        City(name: "Villeurbanne", postalCode: "69100", department: "Rhône", region: "Auvergne-Rhône-Alpes", lat: "45.7719", lon: "4.8902", rentFactor: "1.15"),
        City(name: "Clermont-Ferrand", postalCode: "63000", department: "Puy-de-Dôme", region: "Auvergne-Rhône-Alpes", lat: "45.7772", lon: "3.0870", rentFactor: "0.85"),
        City(name: "Le Mans", postalCode: "72000", department: "Sarthe", region: "Pays de la Loire", lat: "48.0061", lon: "0.1996", rentFactor: "0.80"),
        City(name: "Aix-en-Provence", postalCode: "13100", department: "Bouches-du-Rhône", region: "Provence-Alpes-Côte d'Azur", lat: "43.5297", lon: "5.4474", rentFactor: "1.25"),
        City(name: "Brest", postalCode: "29200", department: "Finistère", region: "Bretagne", lat: "48.3904", lon: "-4.4861", rentFactor: "0.80"),
        City(name: "Tours", postalCode: "37000", department: "Indre-et-Loire", region: "Centre-Val de Loire", lat: "47.3941", lon: "0.6848", rentFactor: "0.90"),
        City(name: "Amiens", postalCode: "80000", department: "Somme", region: "Hauts-de-France", lat: "49.8941", lon: "2.2958", rentFactor: "0.85"),
        City(name: "Limoges", postalCode: "87000", department: "Haute-Vienne", region: "Nouvelle-Aquitaine", lat: "45.8336", lon: "1.2611", rentFactor: "0.75"),
        City(name: "Annecy", postalCode: "74000", department: "Haute-Savoie", region: "Auvergne-Rhône-Alpes", lat: "45.8992", lon: "6.1294", rentFactor: "1.25"),
        City(name: "Perpignan", postalCode: "66000", department: "Pyrénées-Orientales", region: "Occitanie", lat: "42.6887", lon: "2.8948", rentFactor: "0.80"),
        City(name: "Metz", postalCode: "57000", department: "Moselle", region: "Grand Est", lat: "49.1193", lon: "6.1757", rentFactor: "0.85"),
        City(name: "Besançon", postalCode: "25000", department: "Doubs", region: "Bourgogne-Franche-Comté", lat: "47.2378", lon: "6.0241", rentFactor: "0.85"),
        City(name: "Orléans", postalCode: "45000", department: "Loiret", region: "Centre-Val de Loire", lat: "47.9030", lon: "1.9093", rentFactor: "0.90"),
        City(name: "Rouen", postalCode: "76000", department: "Seine-Maritime", region: "Normandie", lat: "49.4432", lon: "1.0999", rentFactor: "0.95"),
        City(name: "Caen", postalCode: "14000", department: "Calvados", region: "Normandie", lat: "49.1829", lon: "-0.3707", rentFactor: "0.90"),
        City(name: "Nancy", postalCode: "54000", department: "Meurthe-et-Moselle", region: "Grand Est", lat: "48.6921", lon: "6.1844", rentFactor: "0.85"),
        City(name: "Pau", postalCode: "64000", department: "Pyrénées-Atlantiques", region: "Nouvelle-Aquitaine", lat: "43.2951", lon: "-0.3708", rentFactor: "0.80"),
        City(name: "La Rochelle", postalCode: "17000", department: "Charente-Maritime", region: "Nouvelle-Aquitaine", lat: "46.1603", lon: "-1.1511", rentFactor: "1.05"),
        City(name: "Poitiers", postalCode: "86000", department: "Vienne", region: "Nouvelle-Aquitaine", lat: "46.5802", lon: "0.3404", rentFactor: "0.80"),
        City(name: "Ajaccio", postalCode: "20000", department: "Corse-du-Sud", region: "Corse", lat: "41.9192", lon: "8.7386", rentFactor: "1.00"),
        City(name: "Cergy", postalCode: "95000", department: "Val-d'Oise", region: "Île-de-France", lat: "49.0364", lon: "2.0761", rentFactor: "1.15"),
    ]

    /// Two job titles per domain: title k belongs to domain (k + 1) / 2 (1-based).
    private static let domains = [
        "Informatique", "Marketing digital", "Finance", "Ressources humaines", "Communication",
        "Ingénierie mécanique", "Juridique", "Logistique", "Design UX/UI", "Data science",
        "Commerce international", "Environnement",
    ]
    private static let jobs: [(title: String, slug: String)] = [
        ("Développeur·se web full-stack", "developpeur-web-full-stack"),
        ("Administrateur·rice systèmes et réseaux", "administrateur-systemes-et-reseaux"),
        ("Chargé·e de marketing digital", "charge-de-marketing-digital"),
        ("Assistant·e SEO/SEA", "assistant-seo-sea"),
        ("Analyste financier·ère", "analyste-financier"),
        ("Assistant·e contrôle de gestion", "assistant-controle-de-gestion"),
        ("Chargé·e de recrutement", "charge-de-recrutement"),
        ("Assistant·e ressources humaines", "assistant-ressources-humaines"),
        ("Chargé·e de communication", "charge-de-communication"),
        ("Community manager", "community-manager"),
        ("Ingénieur·e conception mécanique", "ingenieur-conception-mecanique"),
        ("Technicien·ne méthodes", "technicien-methodes"),
        ("Juriste droit des affaires", "juriste-droit-des-affaires"),
        ("Assistant·e juridique", "assistant-juridique"),
        ("Coordinateur·rice supply chain", "coordinateur-supply-chain"),
        ("Assistant·e logistique", "assistant-logistique"),
        ("Designer UX/UI", "designer-ux-ui"),
        ("Designer graphique", "designer-graphique"),
        ("Data analyst", "data-analyst"),
        ("Data scientist", "data-scientist"),
        ("Assistant·e export", "assistant-export"),
        ("Business developer junior", "business-developer-junior"),
        ("Chargé·e de mission RSE", "charge-de-mission-rse"),
        ("Assistant·e QHSE", "assistant-qhse"),
    ]

    private static let companyPrefixes = ["Atelier", "Groupe", "Société", "Cabinet", "Studio", "Laboratoire", "Maison", "Compagnie"]
    private static let companySuffixes = [
        "Dupont", "Lumière", "Horizon", "Vauban", "Bellevue", "Mistral", "Garonne", "Armor",
        "Alpes Numérique", "Rivage", "Éclat", "Cévennes", "Loire Conseil", "Océane", "Brocéliande", "Montmartre",
    ]
    /// Sector names, and the form used inside a sentence.
    private static let sectors: [(name: String, phrase: String)] = [
        ("Numérique", "numérique"), ("Industrie", "industrie"), ("Banque et assurance", "banque et assurance"),
        ("Conseil", "conseil"), ("Commerce", "commerce"), ("Santé", "santé"), ("Énergie", "énergie"),
        ("Transport", "transport"), ("Agroalimentaire", "agroalimentaire"), ("Culture et médias", "culture et médias"),
        ("BTP", "BTP"), ("Économie sociale et solidaire", "économie sociale et solidaire"),
    ]

    private static let missions = [
        "Vous participerez à l'analyse des besoins des équipes métier et à la rédaction des spécifications fonctionnelles des nouveaux projets.",
        "Vous contribuerez au suivi quotidien des indicateurs de performance et à la préparation des reportings mensuels présentés à la direction.",
        "Vous prendrez part à la conception et au déploiement d'outils internes destinés à simplifier le travail de nos équipes sur le terrain.",
        "Vous accompagnerez votre tuteur dans la coordination des prestataires externes et le respect du planning des chantiers en cours.",
        "Vous serez associé·e à la veille concurrentielle et réglementaire, et proposerez des pistes d'amélioration concrètes à partir de vos analyses.",
        "Vous aiderez à l'organisation d'ateliers avec nos clients afin de recueillir leurs retours et de prioriser les évolutions de nos services.",
        "Vous interviendrez sur la mise à jour de la documentation, la formation des nouveaux utilisateurs et l'animation de la base de connaissances.",
        "Vous mènerez un projet de fond en autonomie, présenté en fin de stage devant l'équipe de direction, avec un point hebdomadaire avec votre tuteur.",
    ]
    private static let profiles = [
        "Étudiant·e en école d'ingénieurs, de commerce ou à l'université (bac +3 à bac +5), vous faites preuve de rigueur et d'une bonne capacité d'analyse.",
        "Vous êtes curieux·se, autonome et à l'aise à l'oral comme à l'écrit ; une première expérience en entreprise, même courte, sera appréciée.",
        "La maîtrise des outils bureautiques est indispensable et un bon niveau d'anglais constitue un véritable atout pour échanger avec nos filiales.",
        "Vous aimez travailler en équipe, savez gérer vos priorités et n'hésitez pas à proposer de nouvelles idées pour faire avancer les projets.",
        "Une convention de stage est obligatoire ; le stage peut s'inscrire dans le cadre d'une année de césure ou d'un stage de fin d'études.",
        "Votre sens de l'organisation, votre esprit d'initiative et votre goût pour le travail bien fait seront les clés de votre réussite parmi nous.",
        "Vous êtes sensible aux enjeux de la transition écologique et souhaitez mettre vos compétences au service d'une entreprise engagée sur son territoire.",
        "Des connaissances de base en gestion de projet et en analyse de données sont un plus, mais votre motivation comptera avant tout dans notre choix.",
    ]
    private static let perks = [
        "Gratification selon la réglementation en vigueur, prise en charge de 50 % du titre de transport et accès au restaurant d'entreprise.",
        "Télétravail possible jusqu'à deux jours par semaine après la période d'intégration, avec un ordinateur portable fourni dès votre arrivée.",
        "Vous bénéficierez de tickets restaurant, d'horaires flexibles et d'un accompagnement personnalisé tout au long de votre stage.",
        "Nos locaux, facilement accessibles en transports en commun, disposent d'espaces de travail lumineux, d'une cafétéria et d'un parking vélos.",
        "Une embauche en CDI ou en alternance peut être envisagée à l'issue du stage en fonction de vos résultats et de vos souhaits d'évolution.",
        "Des afterworks, un séminaire annuel et des actions solidaires ponctuent la vie de l'équipe et favorisent les échanges entre les services.",
        "Un parcours d'intégration d'une semaine vous permettra de découvrir nos métiers, nos clients et les équipes avec lesquelles vous travaillerez.",
        "Vous aurez accès à notre plateforme de formation en ligne ainsi qu'à des conférences internes animées par nos experts chaque mois.",
    ]
    private static let recruitment = [
        "Le processus de recrutement comprend un premier échange téléphonique, puis un entretien avec votre futur tuteur et un membre de l'équipe.",
        "Merci d'adresser votre CV et quelques lignes sur vos motivations ; chaque candidature reçoit une réponse sous quinze jours ouvrés.",
        "Les entretiens peuvent se dérouler à distance ; n'hésitez pas à préciser vos disponibilités et la durée de stage prévue par votre école.",
        "Nous étudions toutes les candidatures avec attention et nous engageons à garantir l'égalité des chances à chaque étape du recrutement.",
    ]

    /// Housing types with a base surface (m²) and a base monthly rent (€).
    /// Housing types: name, in-sentence form, slug, base surface (m²), base rent (€), and
    /// whether the noun is feminine ("chambre meublée").
    private static let housingTypes: [(name: String, phrase: String, slug: String, surface: String, rent: String, feminine: Bool)] = [
        ("Studio", "studio", "studio", "18", "430", false),
        ("T1", "T1", "t1", "24", "480", false),
        ("T1 bis", "T1 bis", "t1-bis", "30", "520", false),
        ("T2", "T2", "t2", "42", "620", false),
        ("T3", "T3", "t3", "62", "780", false),
        ("Chambre en colocation", "chambre en colocation", "colocation", "14", "420", true),
        ("Chambre chez l'habitant", "chambre chez l'habitant", "chambre-chez-l-habitant", "12", "350", true),
        ("Chambre en résidence étudiante", "chambre en résidence étudiante", "residence-etudiante", "19", "460", true),
    ]
    private static let dwellings = [
        "Le logement se compose d'une pièce de vie lumineuse, d'une cuisine équipée avec plaques, four et réfrigérateur, et d'une salle d'eau avec douche.",
        "Entièrement rénové l'an dernier, il bénéficie d'un double vitrage, d'un chauffage individuel électrique et d'une bonne isolation phonique.",
        "Il se situe au troisième étage avec ascenseur d'un immeuble calme et bien entretenu, avec digicode, interphone et local à vélos sécurisé.",
        "La chambre dispose d'un lit double, d'un bureau, de rangements intégrés et d'une fenêtre donnant sur une cour intérieure arborée et calme.",
        "La cuisine ouverte sur le séjour offre un coin repas agréable, et la salle de bains avec baignoire comprend un emplacement pour lave-linge.",
        "Le logement est traversant et très lumineux, avec un petit balcon exposé sud-ouest et une cave privative accessible au sous-sol de l'immeuble.",
        "Les parties communes de la résidence comprennent une laverie, une salle de travail et un espace détente ouvert à tous les résidents.",
        "Le parquet ancien, les moulures et la hauteur sous plafond donnent beaucoup de cachet à ce logement situé dans un immeuble de caractère.",
    ]
    private static let neighbourhoods = [
        "Le quartier est très animé, avec commerces de proximité, marché deux fois par semaine, boulangeries et nombreux restaurants à deux pas.",
        "Vous serez à moins de dix minutes à pied des transports en commun et à un quart d'heure des principaux campus universitaires de la ville.",
        "Un supermarché, une pharmacie et une bibliothèque municipale se trouvent dans la rue, ainsi qu'un grand parc idéal pour courir ou se détendre.",
        "L'arrêt de tramway le plus proche est à trois minutes, ce qui permet de rejoindre le centre-ville et la gare en moins de quinze minutes.",
        "Le secteur, résidentiel et calme, reste proche des pistes cyclables et des équipements sportifs, dont une piscine et plusieurs gymnases.",
        "Idéalement placé entre le centre historique et les zones d'activité, le logement convient aussi bien aux étudiants qu'aux jeunes actifs.",
        "Les écoles d'ingénieurs et de commerce de l'agglomération sont accessibles en bus direct, avec une fréquence de passage élevée en journée.",
        "Le quartier offre une vie culturelle riche, avec un cinéma d'art et d'essai, une salle de concert et plusieurs cafés associatifs.",
    ]
    private static let leaseTerms = [
        "Dépôt de garantie équivalent à un mois de loyer hors charges ; le logement est éligible aux aides au logement de la CAF (APL ou ALS).",
        "Un garant ou une caution Visale est demandé ; le bail est d'un an renouvelable, ou de neuf mois pour les étudiants en logement meublé.",
        "Les charges comprennent l'eau froide, l'entretien des parties communes et la taxe d'ordures ménagères ; l'électricité reste à votre charge.",
        "Disponible dès le début du mois prochain ; une visite virtuelle peut être organisée pour les candidats qui ne résident pas encore en ville.",
        "Le dossier de location doit comprendre une pièce d'identité, un justificatif de situation et les trois derniers justificatifs de revenus.",
        "Aucuns frais d'agence : la location se fait directement auprès du propriétaire, qui répond rapidement aux demandes par message.",
        "Internet haut débit par la fibre est inclus dans les charges, ainsi que l'assurance habitation pour toute la durée de la location.",
        "Un état des lieux détaillé avec photos est réalisé à l'entrée et à la sortie ; le préavis est d'un mois pour les logements meublés.",
    ]
    private static let closings = [
        "Contactez-nous via la plateforme pour convenir d'une visite : les créneaux en soirée et le samedi matin sont privilégiés.",
        "Annonce réservée aux étudiants, apprentis et stagiaires ; merci de préciser votre établissement et la durée envisagée de votre séjour.",
        "Les animaux de compagnie ne sont pas acceptés et le logement est non-fumeur, y compris sur le balcon et dans les parties communes.",
        "Premier arrivé, premier servi : le logement sera attribué au premier dossier complet répondant aux critères indiqués ci-dessus.",
    ]

    // MARK: - Per-row derivations (SQL expressions over a bigint id `g`)

    /// 1-based index into `cities` for offer `g` (its localisation component has id `g`).
    private static func offerCity(_ g: String) -> String { "(1 + (\(g) * 7 + \(g) / 41) % \(cities.count))::int" }
    /// 1-based index into `cities` for housing ad `g` (its localisation has id offers + `g`).
    private static func housingCity(_ g: String) -> String { "(1 + (\(g) * 13 + \(g) / 37) % \(cities.count))::int" }
    private static func companyPrefix(_ g: String) -> String { "(1 + \(g) % \(companyPrefixes.count))::int" }
    private static func companySuffix(_ g: String) -> String { "(1 + (\(g) * 5 + \(g) / 8) % \(companySuffixes.count))::int" }
    private static func companySector(_ g: String) -> String { "(1 + (\(g) * 7 + \(g) / 12) % \(sectors.count))::int" }

    /// One-row relation exposing the city lists as arrays (used with CROSS JOIN).
    private static var cityArrays: String {
        """
        SELECT \(textArray(cities.map(\.name))) AS ville,
               \(textArray(cities.map(\.postalCode))) AS cp,
               \(textArray(cities.map(\.department))) AS dep,
               \(textArray(cities.map(\.region))) AS reg,
               \(numericArray(cities.map(\.lat))) AS lat,
               \(numericArray(cities.map(\.lon))) AS lon,
               \(numericArray(cities.map(\.rentFactor))) AS rent_factor,
               \(textArray(cities.map { asciiSlug($0.name) })) AS slug
        """
    }

    private static func localisationInsert(idOffset: Int, count: Int, city: (String) -> String) -> String {
        """
        INSERT INTO public.components_localisation_localisations (id, ville, code_postal, departement, region, coordonnees)
        SELECT \(idOffset) + s.g, v.ville[s.c], v.cp[s.c], v.dep[s.c], v.reg[s.c],
          jsonb_build_object(
            'lat', round(v.lat[s.c] + ((s.g * 37) % 2001 - 1000) / 100000.0, 6),
            'lng', round(v.lon[s.c] + ((s.g * 53) % 2001 - 1000) / 100000.0, 6))
        FROM (SELECT g, \(city("g")) AS c FROM generate_series(1::bigint, \(count)) AS g) AS s
        CROSS JOIN (\(cityArrays)) AS v
        """
    }

    private var componentInserts: [String] {
        [
            Self.localisationInsert(idOffset: 0, count: offerCount, city: Self.offerCity),
            Self.localisationInsert(idOffset: offerCount, count: housingAdCount, city: Self.housingCity),
            """
            INSERT INTO public.components_entreprise_entreprises (id, nom, siret, secteur)
            SELECT s.g, w.pre[s.p] || ' ' || w.suf[s.q],
              (100000000 + (s.g * 7919 + 3) % 900000000)::text || lpad((1 + (s.g * 31) % 99999)::text, 5, '0'),
              w.sec[s.r]
            FROM (SELECT g, \(Self.companyPrefix("g")) AS p, \(Self.companySuffix("g")) AS q, \(Self.companySector("g")) AS r
                  FROM generate_series(1::bigint, \(offerCount)) AS g) AS s
            CROSS JOIN (SELECT \(Self.textArray(Self.companyPrefixes)) AS pre, \(Self.textArray(Self.companySuffixes)) AS suf,
                               \(Self.textArray(Self.sectors.map(\.name))) AS sec) AS w
            """,
        ]
    }

    private var collectionInserts: [String] {
        let offers = offerCount, ads = housingAdCount
        let admins = Self.adminUsers.count
        // Created within two years of the epoch; updated later the same or following weeks;
        // published (when not a draft) between creation and last update.
        let createdAt = "timestamptz '2022-09-01 08:00:00+00' + ((g * 7919) % 1051200) * interval '1 minute'"
        return [
            """
            INSERT INTO public.offres_de_stage (id, title, description, domaine, duree_en_mois, remuneration, date_de_debut, \
            slug, published_at, created_at, updated_at, created_by_id, updated_by_id)
            SELECT s.g,
              'Stage ' || w.job[s.m] || ' – ' || c.ville[s.c],
              concat_ws(' ',
                'Au sein de ' || w.pre[s.p] || ' ' || w.suf[s.q] || ' (' || w.seclow[s.r] || '), vous rejoindrez l''équipe '
                  || w.dom[(s.m + 1) / 2] || ' de notre site de ' || c.ville[s.c] || ' pour un stage de ' || s.d
                  || ' mois à partir du ' || to_char(s.dd, 'DD/MM/YYYY') || '.',
                w.mis[(1 + s.g % 8)::int],
                CASE WHEN s.g % 3 >= 1 THEN w.pro[(1 + (s.g / 8) % 8)::int] END,
                CASE WHEN s.g % 3 >= 2 THEN w.per[(1 + (s.g * 3) % 8)::int] END,
                w.rec[(1 + (s.g / 5) % 4)::int]),
              w.dom[(s.m + 1) / 2],
              s.d,
              round(600 + (s.g * 53) % 900 + ((s.g * 7) % 100) / 100.0, 2),
              s.dd,
              w.slug[s.m] || '-' || s.g,
              CASE WHEN s.draft THEN NULL ELSE s.ca + ((s.g % 60) * 1440 + 30) * interval '1 minute' END,
              s.ca,
              s.ca + ((s.g % 60) * 1440 + 90) * interval '1 minute',
              1 + s.g % \(admins),
              1 + (s.g / 3) % \(admins)
            FROM (
              SELECT g, (1 + (g * 11 + g / 97) % \(Self.jobs.count))::int AS m, \(Self.offerCity("g")) AS c,
                \(Self.companyPrefix("g")) AS p, \(Self.companySuffix("g")) AS q, \(Self.companySector("g")) AS r,
                (2 + g % 5)::int AS d, date '2024-01-08' + ((g * 13) % 540)::int AS dd,
                \(createdAt) AS ca, \(draftPredicate("g")) AS draft
              FROM generate_series(1::bigint, \(offers)) AS g
            ) AS s
            CROSS JOIN (\(Self.cityArrays)) AS c
            CROSS JOIN (
              SELECT \(Self.textArray(Self.jobs.map(\.title))) AS job, \(Self.textArray(Self.jobs.map(\.slug))) AS slug,
                \(Self.textArray(Self.domains)) AS dom,
                \(Self.textArray(Self.companyPrefixes)) AS pre, \(Self.textArray(Self.companySuffixes)) AS suf,
                \(Self.textArray(Self.sectors.map(\.phrase))) AS seclow,
                \(Self.textArray(Self.missions)) AS mis, \(Self.textArray(Self.profiles)) AS pro,
                \(Self.textArray(Self.perks)) AS per, \(Self.textArray(Self.recruitment)) AS rec
            ) AS w
            """,
            // Component links: odd ids → localisation, even ids → entreprise (component id = offer id).
            """
            INSERT INTO public.offres_de_stage_components (id, entity_id, component_id, component_type, field, "order")
            SELECT i, (i + 1) / 2, (i + 1) / 2,
              CASE WHEN i % 2 = 1 THEN 'localisation.localisation' ELSE 'entreprise.entreprise' END,
              CASE WHEN i % 2 = 1 THEN 'localisation' ELSE 'entreprise' END,
              1
            FROM generate_series(1, \(2 * offers)) AS i
            """,
            """
            INSERT INTO public.annonces_de_logement (id, titre, description, type_de_logement, surface, loyer, meuble, slug, \
            published_at, created_at, updated_at, created_by_id, updated_by_id)
            SELECT x.g,
              x.type_name || CASE WHEN x.meuble THEN x.furnished ELSE x.unfurnished END || ' de '
                || replace(x.surface::text, '.', ',') || ' m² – ' || x.ville,
              concat_ws(' ',
                'À louer à ' || x.ville || ' (' || x.cp || ') : ' || x.type_phrase
                  || CASE WHEN x.meuble THEN x.furnished ELSE x.unfurnished END || ' de ' || replace(x.surface::text, '.', ',')
                  || ' m² pour ' || replace(x.loyer::text, '.', ',') || ' € par mois charges comprises, disponible à partir du '
                  || to_char(date '2024-06-01' + ((x.g * 11) % 180)::int, 'DD/MM/YYYY') || '.',
                x.dwe[(1 + x.g % 8)::int],
                CASE WHEN x.g % 3 >= 1 THEN x.nei[(1 + (x.g / 8) % 8)::int] END,
                CASE WHEN x.g % 3 >= 2 THEN x.lea[(1 + (x.g * 3) % 8)::int] END,
                x.clo[(1 + (x.g / 5) % 4)::int]),
              x.type_name, x.surface, x.loyer, x.meuble,
              x.type_slug || '-' || x.city_slug || '-' || x.g,
              CASE WHEN x.draft THEN NULL ELSE x.ca + ((x.g % 45) * 1440 + 20) * interval '1 minute' END,
              x.ca,
              x.ca + ((x.g % 45) * 1440 + 75) * interval '1 minute',
              1 + (x.g / 2) % \(admins),
              1 + (x.g / 5) % \(admins)
            FROM (
              SELECT s.g, s.draft, s.ca, c.ville[s.c] AS ville, c.cp[s.c] AS cp,
                w.tname[s.t] AS type_name, w.tphrase[s.t] AS type_phrase, w.tslug[s.t] AS type_slug,
                w.tfurn[s.t] AS furnished, w.tunfurn[s.t] AS unfurnished,
                c.slug[s.c] AS city_slug,
                round(w.tsurface[s.t] + ((s.g * 13) % 80) / 10.0, 2) AS surface,
                round(w.trent[s.t] * c.rent_factor[s.c] + (s.g * 17) % 60, 2) AS loyer,
                (s.g % 3 <> 0 OR s.t IN (1, 6, 7, 8)) AS meuble,
                w.dwe, w.nei, w.lea, w.clo
              FROM (
                SELECT g, (1 + (g * 5 + g / 11) % \(Self.housingTypes.count))::int AS t, \(Self.housingCity("g")) AS c,
                  \(createdAt) AS ca, \(draftPredicate("g")) AS draft
                FROM generate_series(1::bigint, \(ads)) AS g
              ) AS s
              CROSS JOIN (\(Self.cityArrays)) AS c
              CROSS JOIN (
                SELECT \(Self.textArray(Self.housingTypes.map(\.name))) AS tname,
                  \(Self.textArray(Self.housingTypes.map(\.phrase))) AS tphrase,
                  \(Self.textArray(Self.housingTypes.map(\.slug))) AS tslug,
                  \(Self.textArray(Self.housingTypes.map { $0.feminine ? " meublée" : " meublé" })) AS tfurn,
                  \(Self.textArray(Self.housingTypes.map { $0.feminine ? " non meublée" : " non meublé" })) AS tunfurn,
                  \(Self.numericArray(Self.housingTypes.map(\.surface))) AS tsurface,
                  \(Self.numericArray(Self.housingTypes.map(\.rent))) AS trent,
                  \(Self.textArray(Self.dwellings)) AS dwe, \(Self.textArray(Self.neighbourhoods)) AS nei,
                  \(Self.textArray(Self.leaseTerms)) AS lea, \(Self.textArray(Self.closings)) AS clo
              ) AS w
            ) AS x
            """,
            """
            INSERT INTO public.annonces_de_logement_components (id, entity_id, component_id, component_type, field, "order")
            SELECT g, g, \(offers) + g, 'localisation.localisation', 'localisation', 1
            FROM generate_series(1, \(ads)) AS g
            """,
        ]
    }
}
