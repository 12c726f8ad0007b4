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
