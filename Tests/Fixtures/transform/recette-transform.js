// node scripts/recette-transform.js <content type>: recette's entries in, the plugin's documents out
const readline = require('node:readline');
const { once } = require('node:events');
const env = Object.assign((key, fallback) => process.env[key] ?? fallback,
  { int: (key, fallback) => Number(process.env[key] ?? fallback), bool: (key, fallback) => String(process.env[key] ?? fallback) === 'true' });
const exported = require(process.env.STRAPI_PLUGINS_JS ?? `${process.cwd()}/config/plugins.js`); // TypeScript: dist/config/plugins.js
const plugins = typeof (exported.default ?? exported) === 'function' ? (exported.default ?? exported)({ env }) : (exported.default ?? exported);
const { transformEntry = ({ entry }) => entry, filterEntry = () => true } = plugins.meilisearch?.config?.[process.argv[2]] ?? {};
(async () => {
  for await (const line of readline.createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const entry = JSON.parse(line);
    const document = (await filterEntry({ entry })) ? await transformEntry({ entry }) : null;
    if (!process.stdout.write(JSON.stringify(document ?? null) + '\n')) await once(process.stdout, 'drain');
  }
})();
