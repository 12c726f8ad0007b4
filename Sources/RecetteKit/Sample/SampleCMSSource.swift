import Foundation

/// The Strapi v4 project that goes with the sample database (`recette sample-backup` writes
/// it next to the archive): `package.json` with Strapi 4.25 and strapi-plugin-meilisearch
/// 0.12.0, a `schema.json` per content type and a file per component, shaped as Strapi's
/// content-type builder writes them.
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

    /// Relative path → content.
    public static var files: [String: String] {
        [
            "package.json": """
                {
                  "name": "recette-sample-cms",
                  "private": true,
                  "version": "0.1.0",
                  "description": "The CMS source matching recette's sample backup",
                  "scripts": {"develop": "strapi develop", "start": "strapi start", "build": "strapi build"},
                  "dependencies": {
                    "@strapi/plugin-i18n": "\(strapiVersion)",
                    "@strapi/plugin-users-permissions": "\(strapiVersion)",
                    "@strapi/strapi": "\(strapiVersion)",
                    "pg": "8.11.3",
                    "strapi-plugin-meilisearch": "\(meilisearchPluginVersion)"
                  },
                  "engines": {"node": ">=18.0.0 <=20.x.x", "npm": ">=6.0.0"}
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
        ]
    }

    /// Writes the project into `directory` (created if needed; files of the same names replaced).
    public static func write(into directory: URL) throws {
        for (path, text) in files {
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
