// The Strapi-v5-shaped sample (`recette sample-backup --strapi 5`), derived from the v4 one:
// the same tables and rows under v5's names, then v5's document versions. What recette found
// in Strapi v5 (`@strapi/database`'s identifiers, `@strapi/core`'s content types), in its own
// words, is in the README ("The v5 sample"); in short:
// - every content type's table has `document_id` (24 lowercase letters and digits, as Strapi's
//   cuid2 ids), `published_at` and i18n's `locale` (null: not localized);
// - a document of a type with draft & publish is a draft row and, once published, a published
//   row with components of its own; one never published is its draft row alone; a type
//   without draft & publish has one row, published when created;
// - link tables end in `_lnk`, their order columns in `_ord`, component join tables in
//   `_cmps` with `cmp_id`; index suffixes are v5's short ones (`_ifk`, `_uq`, `_idx`, …).

extension SampleDatabaseSQL {
    /// v4 identifier → v5's, for the tables and columns the sample's statements name.
    static let v5Names: [(v4: String, v5: String)] = [
        ("admin_users_roles_links", "admin_users_roles_lnk"),
        ("admin_permissions_role_links", "admin_permissions_role_lnk"),
        ("up_permissions_role_links", "up_permissions_role_lnk"),
        ("up_users_role_links", "up_users_role_lnk"),
        ("offres_de_stage_components", "offres_de_stage_cmps"),
        ("annonces_de_logement_components", "annonces_de_logement_cmps"),
        ("component_id", "cmp_id"),
        ("role_order", "role_ord"),
        ("user_order", "user_ord"),
        ("permission_order", "permission_ord"),
    ]

    /// `text` with each whole v4 identifier replaced by v5's (a word boundary on both sides, so
    /// that `plugin_content_manager_configuration_components::…` in the core store is left alone).
    static func v5Renamed(_ text: String) -> String {
        var text = text
        for (v4, v5) in v5Names { text = replacingWord(v4, with: v5, in: text) }
        return text
    }

    /// `text` with `word` replaced where no letter, digit or `_` touches it on either side.
    private static func replacingWord(_ word: String, with replacement: String, in text: String) -> String {
        func isIdentifier(_ character: Character?) -> Bool { character.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
        var result = ""
        var rest = text[...]
        while let found = rest.range(of: word) {
            let before = found.lowerBound > text.startIndex ? text[text.index(before: found.lowerBound)] : nil
            let after = found.upperBound < text.endIndex ? text[found.upperBound] : nil
            result += rest[..<found.lowerBound]
            result += isIdentifier(before) || isIdentifier(after) ? String(rest[found]) : replacement
            rest = rest[found.upperBound...]
        }
        return result + rest
    }

    /// The v4 tables renamed, content types given v5's `document_id`, `published_at`, `locale`.
    static var v5Tables: [Table] {
        let tail = ["created_at", "updated_at", "published_at", "created_by_id", "updated_by_id", "locale"]
        return tables.map { table in
            let columns = table.columns.map(v5Renamed)
            guard auditedTables.contains(table.name) else { return Table(name: v5Renamed(table.name), columns: columns) }
            let own = columns.filter { column in !tail.contains(where: { column.hasPrefix($0 + " ") }) }
            let typed = ["created_at timestamp(6) with time zone", "updated_at timestamp(6) with time zone",
                         "published_at timestamp(6) with time zone", "created_by_id integer", "updated_by_id integer",
                         "locale character varying(255)"]
            return Table(name: table.name, columns: [own[0], "document_id character varying(255)"] + own.dropFirst() + typed)
        }
    }

    /// A deterministic document id of 24 lowercase letters and digits starting with a letter,
    /// as cuid2's are, from the row id expression `id` and a per-table seed.
    static func documentID(seed: String, _ id: String) -> String {
        "chr(97 + ((\(id) * 7) % 26)::int) || substr(md5(\(literal(seed + "-")) || \(id)), 1, 23)"
    }

    /// Run after the v4 rows are in (renamed): document ids, the published rows and their
    /// components. Published documents are those the v4 sample publishes (`draftPredicate`).
    var v5DocumentVersions: [String] {
        let offers = offerCount, ads = housingAdCount
        let localisations = offers + ads
        var sql: [String] = []
        // Without draft & publish (admin, users-permissions, upload, i18n): one row per
        // document, published when created (v5 sets publishedAt on every content type).
        for table in Self.auditedTables where !["offres_de_stage", "annonces_de_logement"].contains(table) {
            sql.append("UPDATE public.\(table) SET document_id = \(Self.documentID(seed: table, "id")), published_at = created_at")
        }
        let tables = Self.v5Tables
        for (table, seed, title, count) in [("offres_de_stage", "offre-de-stage", "title", offers), ("annonces_de_logement", "annonce-de-logement", "titre", ads)] {
            let columns = (tables.first { $0.name == table }?.columns ?? []).compactMap { $0.split(separator: " ").first.map(String.init) }.filter { $0 != "id" }
            sql.append("UPDATE public.\(table) SET document_id = \(Self.documentID(seed: seed, "id"))")
            // The published row: a copy of the draft, made when it was published (a later id).
            sql.append("""
                INSERT INTO public.\(table) (id, \(columns.joined(separator: ", ")))
                SELECT id + \(count), \(columns.joined(separator: ", ")) FROM public.\(table) WHERE published_at IS NOT NULL
                """)
            // The draft rows; one in ten edited since it was published, so a draft read in place
            // of the published row shows.
            sql.append("""
                UPDATE public.\(table) SET published_at = NULL,
                  \(title) = CASE WHEN id % 10 = 3 THEN \(title) || ' (brouillon modifié)' ELSE \(title) END,
                  updated_at = CASE WHEN id % 10 = 3 THEN updated_at + interval '2 days' ELSE updated_at END
                WHERE id <= \(count)
                """)
        }
        // The published rows' own components: an offer's localisation and entreprise, an ad's
        // localisation, copied at fixed offsets past the drafts' (offer g: localisation
        // localisations + g, entreprise offers + g; ad g: localisation localisations + offers + g).
        sql.append("""
            INSERT INTO public.components_localisation_localisations (id, ville, code_postal, departement, region, coordonnees)
            SELECT id + \(localisations), ville, code_postal, departement, region, coordonnees
            FROM public.components_localisation_localisations
            WHERE NOT \(draftPredicate("CASE WHEN id <= \(offers) THEN id ELSE id - \(offers) END"))
            """)
        sql.append("""
            INSERT INTO public.components_entreprise_entreprises (id, nom, siret, secteur)
            SELECT id + \(offers), nom, siret, secteur FROM public.components_entreprise_entreprises WHERE NOT \(draftPredicate("id"))
            """)
        sql.append("""
            INSERT INTO public.offres_de_stage_cmps (id, entity_id, cmp_id, component_type, field, "order")
            SELECT id + \(2 * offers), entity_id + \(offers), cmp_id + CASE WHEN field = 'localisation' THEN \(localisations) ELSE \(offers) END,
              component_type, field, "order"
            FROM public.offres_de_stage_cmps WHERE NOT \(draftPredicate("entity_id"))
            """)
        sql.append("""
            INSERT INTO public.annonces_de_logement_cmps (id, entity_id, cmp_id, component_type, field, "order")
            SELECT id + \(ads), entity_id + \(ads), cmp_id + \(localisations), component_type, field, "order"
            FROM public.annonces_de_logement_cmps WHERE NOT \(draftPredicate("entity_id"))
            """)
        return sql
    }

    /// The v4 counts under v5's names, plus the published rows and their components.
    func v5RowCounts(_ v4: [String: Int]) -> [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: v4.map { (Self.v5Renamed($0.key), $0.value) })
        let publishedOffers = offerCount - Self.draftCount(rows: offerCount, percent: percent)
        let publishedAds = housingAdCount - Self.draftCount(rows: housingAdCount, percent: percent)
        counts["offres_de_stage", default: 0] += publishedOffers
        counts["offres_de_stage_cmps", default: 0] += 2 * publishedOffers
        counts["annonces_de_logement", default: 0] += publishedAds
        counts["annonces_de_logement_cmps", default: 0] += publishedAds
        counts["components_localisation_localisations", default: 0] += publishedOffers + publishedAds
        counts["components_entreprise_entreprises", default: 0] += publishedOffers
        return counts
    }
}
