import Foundation

/// The Strapi project that goes with the sample database (`recette sample-backup` writes it
/// next to the archive): `package.json` with Strapi 4.25 and strapi-plugin-meilisearch 0.12.0
/// (`--strapi 5`: Strapi 5.12 and the plugin 0.16.5), a `schema.json` per content type and a
/// file per component, shaped as Strapi's content-type builder writes them (the same in v4
/// and v5), and the transform example (`recette/`, see `transformExample`).
///
/// It is the source of a branch that moved on from staging, so the schema guard has
/// something to find: it declares one content type the database lacks (`plantedAddition`,
/// which Strapi's boot sync would create) and lacks one attribute the database has
/// (`plantedDrop`, which the sync would drop).
public enum SampleCMSSource {
    /// The table the source declares and the sample database lacks.
    public static let plantedAddition = "evenements"
    /// The `table.column` the sample database has and the source no longer declares.
    public static let plantedDrop = "annonces_de_logement.slug"

    public static let strapiVersion = "4.25.12"
    public static let meilisearchPluginVersion = "0.12.0"
    public static let strapi5Version = "5.12.3"
    /// The plugin for the v5 sample: 0.16, the newest id scheme (`<model>-<documentId>`, and
    /// `-<locale>` only for an entry that has one, which the sample's, not localized, have not).
    public static let strapi5MeilisearchPluginVersion = "0.16.5"

    /// Relative path → content: the Strapi v4 project.
    public static var files: [String: String] { files(strapiMajor: 4) }

    /// Relative path → content, for Strapi `strapiMajor` (4 or 5).
    public static func files(strapiMajor: Int) -> [String: String] {
        // v5 ships i18n in its core: no @strapi/plugin-i18n.
        let (strapi, plugin, i18n, pg, node) = strapiMajor >= 5
            ? (strapi5Version, strapi5MeilisearchPluginVersion, "", "8.13.1", "<=22.x.x")
            : (strapiVersion, meilisearchPluginVersion, "\n    \"@strapi/plugin-i18n\": \"\(strapiVersion)\",", "8.11.3", "<=20.x.x")
        return transformExample.merging([
            "package.json": """
                {
                  "name": "recette-sample-cms",
                  "private": true,
                  "version": "0.1.0",
                  "description": "The CMS source matching recette's sample backup",
                  "scripts": {"develop": "strapi develop", "start": "strapi start", "build": "strapi build"},
                  "dependencies": {\(i18n)
                    "@strapi/plugin-users-permissions": "\(strapi)",
                    "@strapi/strapi": "\(strapi)",
                    "pg": "\(pg)",
                    "strapi-plugin-meilisearch": "\(plugin)"
                  },
                  "engines": {"node": ">=18.0.0 \(node)", "npm": ">=6.0.0"}
                }

                """,
            contentTypePath("offre-de-stage"): contentType(
                collection: "offres_de_stage", singular: "offre-de-stage", plural: "offres-de-stage", display: "Offre de stage",
                attributes: [
                    #""title": {"type": "string", "required": true}"#,
                    #""description": {"type": "text"}"#,
                    #""domaine": {"type": "string"}"#,
                    #""duree_en_mois": {"type": "integer"}"#,
                    #""remuneration": {"type": "decimal"}"#,
                    #""date_de_debut": {"type": "date"}"#,
                    #""slug": {"type": "uid", "targetField": "title"}"#,
                    #""localisation": {"type": "component", "repeatable": false, "component": "localisation.localisation"}"#,
                    #""entreprise": {"type": "component", "repeatable": false, "component": "entreprise.entreprise"}"#,
                ]),
            // No `slug` here: the branch dropped it (plantedDrop).
            contentTypePath("annonce-de-logement"): contentType(
                collection: "annonces_de_logement", singular: "annonce-de-logement", plural: "annonces-de-logement", display: "Annonce de logement",
                attributes: [
                    #""titre": {"type": "string", "required": true}"#,
                    #""description": {"type": "text"}"#,
                    #""type_de_logement": {"type": "string"}"#,
                    #""surface": {"type": "decimal"}"#,
                    #""loyer": {"type": "decimal"}"#,
                    #""meuble": {"type": "boolean"}"#,
                    #""localisation": {"type": "component", "repeatable": false, "component": "localisation.localisation"}"#,
                ]),
            // New on the branch, not yet on staging (plantedAddition).
            contentTypePath("evenement"): contentType(
                collection: plantedAddition, singular: "evenement", plural: "evenements", display: "Événement",
                attributes: [
                    #""titre": {"type": "string", "required": true}"#,
                    #""date_de_debut": {"type": "date"}"#,
                    #""lieu": {"type": "string"}"#,
                ]),
            "src/components/localisation/localisation.json": component(
                collection: "components_localisation_localisations", display: "Localisation", icon: "pinMap",
                attributes: [
                    #""ville": {"type": "string"}"#,
                    #""code_postal": {"type": "string"}"#,
                    #""departement": {"type": "string"}"#,
                    #""region": {"type": "string"}"#,
                    #""coordonnees": {"type": "json"}"#,
                ]),
            "src/components/entreprise/entreprise.json": component(
                collection: "components_entreprise_entreprises", display: "Entreprise", icon: "briefcase",
                attributes: [
                    #""nom": {"type": "string"}"#,
                    #""siret": {"type": "string"}"#,
                    #""secteur": {"type": "string"}"#,
                ]),
        ]) { $1 }
    }

    /// The index the transform example's `transformEntry` is for, and what it adds.
    public static let transformExampleIndex = "offre-de-stage"
    public static let transformExampleField = "label"

    /// The transform example: `recette/transform.js`, the wrapper that runs a content type's
    /// `transformEntry`/`filterEntry` from the Meilisearch plugin's config for recette (README,
    /// "A project's own transform"), and `recette/plugins.example.js`, a plugin config whose
    /// offre-de-stage `transformEntry` adds a computed `label`. The example is not the source's
    /// `config/plugins.js`: recette reads that file, and an index without `search.indexes` (as in
    /// this repository's recette.yml) cannot run a transform, so it would warn on every run
    /// that the transformEntry is not applied. To try it, give the index a `transform` in
    /// `search.indexes` with `STRAPI_PLUGINS_JS=<source>/recette/plugins.example.js`.
    public static let transformExample: [String: String] = [
        "recette/transform.js": #"""
            // node recette/transform.js <content type>: recette's entries in, the plugin's documents out
            // (README, "A project's own transform"). The config is STRAPI_PLUGINS_JS when set (TypeScript:
            // the build's dist/config/plugins.js), else this CMS source's config/plugins.js.
            const path = require('node:path');
            const readline = require('node:readline');
            const { once } = require('node:events');
            const env = Object.assign((key, fallback) => process.env[key] ?? fallback,
              { int: (key, fallback) => Number(process.env[key] ?? fallback), bool: (key, fallback) => String(process.env[key] ?? fallback) === 'true' });
            const exported = require(process.env.STRAPI_PLUGINS_JS ? path.resolve(process.env.STRAPI_PLUGINS_JS) : path.join(__dirname, '..', 'config', 'plugins.js'));
            const plugins = typeof (exported.default ?? exported) === 'function' ? (exported.default ?? exported)({ env }) : (exported.default ?? exported);
            const { transformEntry = ({ entry }) => entry, filterEntry = () => true } = plugins.meilisearch?.config?.[process.argv[2]] ?? {};
            (async () => {
              for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
                const entry = JSON.parse(line);
                const document = (await filterEntry({ entry })) ? await transformEntry({ entry }) : null;
                if (!process.stdout.write(JSON.stringify(document ?? null) + '\n')) await once(process.stdout, 'drain');
              }
            })();

            """#,
        "recette/plugins.example.js": #"""
            // An example of the Meilisearch plugin's config with a transformEntry (Strapi's config/plugins.js
            // shape), for recette/transform.js: STRAPI_PLUGINS_JS=recette/plugins.example.js.
            module.exports = ({ env }) => ({
              meilisearch: {
                config: {
                  host: env('MEILI_HOST', 'http://127.0.0.1:7700'),
                  apiKey: env('MEILI_MASTER_KEY', ''),
                  'offre-de-stage': {
                    // The label the front shows in a result: the offer, its company and its city.
                    transformEntry({ entry }) {
                      return { ...entry, label: [entry.title, entry.entreprise?.nom, entry.localisation?.ville].filter(Boolean).join(' · ') };
                    },
                  },
                },
              },
            });

            """#,
    ]

    /// Writes the project into `directory` (created if needed; files of the same names replaced).
    public static func write(into directory: URL, strapiMajor: Int = 4) throws {
        for (path, text) in files(strapiMajor: strapiMajor) {
            let file = directory.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file, options: .atomic)
        }
    }

    private static func contentTypePath(_ name: String) -> String { "src/api/\(name)/content-types/\(name)/schema.json" }

    private static func contentType(collection: String, singular: String, plural: String, display: String, attributes: [String]) -> String {
        """
        {
          "kind": "collectionType",
          "collectionName": "\(collection)",
          "info": {"singularName": "\(singular)", "pluralName": "\(plural)", "displayName": "\(display)"},
          "options": {"draftAndPublish": true},
          "pluginOptions": {},
          "attributes": {
            \(attributes.joined(separator: ",\n    "))
          }
        }

        """
    }

    private static func component(collection: String, display: String, icon: String, attributes: [String]) -> String {
        """
        {
          "collectionName": "\(collection)",
          "info": {"displayName": "\(display)", "icon": "\(icon)"},
          "options": {},
          "attributes": {
            \(attributes.joined(separator: ",\n    "))
          }
        }

        """
    }
}
