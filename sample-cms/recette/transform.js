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
