import Foundation
import Logging
import RecetteWorld

/// What the CMS's `config/plugins.js` tells strapi-plugin-meilisearch, per content type: read
/// by running the real `node` on it, the way Strapi's config loader does (a module exporting a
/// function of `{ env }`, or an object; `export default` through `__esModule`).
public struct StrapiPluginConfig: Sendable, Equatable {
    /// `meilisearch.config.<content type name>` (the model name, e.g. `offre-de-stage`).
    public struct ContentType: Sendable, Equatable, Decodable {
        public var indexName: String?
        public var transformEntry: Bool
        public var filterEntry: Bool
        /// JSON text, as the config gives them; nil when absent.
        public var entriesQuery: String?
        public var settings: String?
    }

    /// The file read, relative to the CMS source.
    public var file: String
    public var contentTypes: [String: ContentType]

    public init(file: String, contentTypes: [String: ContentType]) {
        self.file = file
        self.contentTypes = contentTypes
    }

    /// How long node may take to load the config: it runs the project's own code.
    public static let timeout: Duration = .seconds(30)

    /// Where the config is, or why it cannot be read.
    public enum Location: Sendable, Equatable {
        case none
        case javascript(relativePath: String)
        /// Only `config/plugins.ts`, never compiled.
        case unreadableTypeScript
    }

    public static func locate(_ project: StrapiProject) -> Location {
        let exists = { FileManager.default.fileExists(atPath: project.directory.appendingPathComponent($0).path) }
        if exists("config/plugins.js") { return .javascript(relativePath: "config/plugins.js") }
        guard exists("config/plugins.ts") else { return .none }
        return exists("dist/config/plugins.js") ? .javascript(relativePath: "dist/config/plugins.js") : .unreadableTypeScript
    }

    static let typeScriptWarning = "the CMS source's config/plugins.ts is TypeScript, which recette does not compile, so the Meilisearch plugin's indexName, settings and transformEntry are not read: "
        + "build the CMS (npm run build writes dist/config/plugins.js), or give the indexes in search.indexes of recette.yml"

    /// The config, nil when the project has none (or only an uncompiled TypeScript one, said
    /// in a warning). A config that throws, or a node that is missing or hangs, is an error.
    public static func read(_ project: StrapiProject, runner: any ProcessRunning, logger: Logger, timeout: Duration = timeout) async throws -> StrapiPluginConfig? {
        let relativePath: String
        switch locate(project) {
        case .none: return nil
        case .unreadableTypeScript:
            logger.warning("\(typeScriptWarning)")
            return nil
        case .javascript(let path): relativePath = path
        }
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("recette-plugin-config-\(UUID().uuidString).cjs")
        try Data(loaderScript.utf8).write(to: script)
        defer { try? FileManager.default.removeItem(at: script) }
        let file = project.directory.appendingPathComponent(relativePath).path
        let command = Command("node", [script.path, file], workingDirectory: project.directory.path)
        let output: Data
        do {
            output = try await withThrowingTaskGroup(of: Data?.self) { group in
                group.addTask { try await runner.run(command).standardOutput }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let data = first else {
                    throw RecetteFailure("node did not finish loading \(relativePath) of the CMS source within \(Int(timeout.seconds)) s (it runs the project's code): fix what it waits for, or give the indexes in search.indexes of recette.yml")
                }
                return data
            }
        } catch let error as ProcessError {
            switch error {
            case .notFound:
                throw RecetteFailure("node is not on PATH, and it reads the CMS source's \(relativePath) (the Meilisearch plugin's indexName, settings, transformEntry): install Node.js, or give the indexes in search.indexes of recette.yml")
            default:
                let message = error.standardErrorTail.last { !$0.trimmingCharacters(in: .whitespaces).isEmpty } ?? error.description
                throw RecetteFailure("the CMS source's \(relativePath) cannot be loaded: \(message) — fix it (Strapi would not start either), or give the indexes in search.indexes of recette.yml")
            }
        }
        struct Reply: Decodable { var contentTypes: [String: ContentType] }
        guard let reply = try? JSONDecoder().decode(Reply.self, from: output) else {
            throw RecetteFailure("node printed something recette cannot read while loading \(relativePath) of the CMS source (does the config print to standard output?): \(String(decoding: output.prefix(120), as: UTF8.self))")
        }
        return StrapiPluginConfig(file: relativePath, contentTypes: reply.contentTypes)
    }

    /// Loads the config as Strapi's loader does (`@strapi/utils`' `env` and `importDefault`,
    /// v4 and v5 alike) and prints, per content type under `meilisearch.config`, what recette
    /// uses. The config's own output goes to standard error, so that standard output carries
    /// only the reply.
    static let loaderScript = #"""
        'use strict';
        const reply = process.stdout.write.bind(process.stdout);
        process.stdout.write = process.stderr.write.bind(process.stderr);
        const has = (key) => Object.prototype.hasOwnProperty.call(process.env, key);
        const env = (key, fallback) => (has(key) ? process.env[key] : fallback);
        env.int = (key, fallback) => (has(key) ? parseInt(process.env[key], 10) : fallback);
        env.float = (key, fallback) => (has(key) ? parseFloat(process.env[key]) : fallback);
        env.bool = (key, fallback) => (has(key) ? process.env[key] === 'true' : fallback);
        env.json = (key, fallback) => {
          if (!has(key)) return fallback;
          try { return JSON.parse(process.env[key]); } catch (error) { throw new Error(`Invalid json environment variable ${key}: ${error.message}`); }
        };
        env.array = (key, fallback) => {
          if (!has(key)) return fallback;
          let value = process.env[key];
          if (value.startsWith('[') && value.endsWith(']')) value = value.substring(1, value.length - 1);
          return value.split(',').map((item) => item.replace(/^ +| +$/g, '').replace(/^"+|"+$/g, ''));
        };
        env.date = (key, fallback) => (has(key) ? new Date(process.env[key]) : fallback);
        env.oneOf = (key, expected, fallback) => {
          if (!expected) throw new Error('env.oneOf requires expectedValues');
          const value = env(key, fallback);
          return expected.includes(value) ? value : fallback;
        };
        try {
          const loaded = require(process.argv[2]);
          const exported = loaded && loaded.__esModule ? loaded.default : loaded;
          const plugins = typeof exported === 'function' ? exported({ env }) : exported;
          const config = (plugins && plugins.meilisearch && plugins.meilisearch.config) || {};
          const contentTypes = {};
          for (const [name, entry] of Object.entries(config)) {
            if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) continue;
            const json = (value) => (value === undefined ? null : JSON.stringify(value));
            contentTypes[name] = {
              indexName: typeof entry.indexName === 'string' ? entry.indexName : null,
              transformEntry: typeof entry.transformEntry === 'function',
              filterEntry: typeof entry.filterEntry === 'function',
              entriesQuery: json(entry.entriesQuery),
              settings: json(entry.settings),
            };
          }
          reply(JSON.stringify({ contentTypes }));
        } catch (error) {
          process.stderr.write(`${String(error && error.message ? error.message : error).split('\n')[0]}\n`);
          process.exitCode = 1;
        }
        """#

    // MARK: Using it

    /// What recette does not reproduce of the config for this index: a transformEntry or
    /// filterEntry without a `transform` command, an entriesQuery beyond its limits.
    public func warnings(contentType name: String, index: SearchIndexDefinition) -> [String] {
        guard let entry = contentTypes[name] else { return [] }
        var warnings: [String] = []
        let functions = [entry.transformEntry ? "transformEntry" : nil, entry.filterEntry ? "filterEntry" : nil].compactMap { $0 }
        if !functions.isEmpty, index.transform == nil {
            let lacking = [entry.transformEntry ? "transform" : nil, entry.filterEntry ? "filter" : nil].compactMap { $0 }.joined(separator: " and ")
            warnings.append("index \(index.uid): \(file) gives \(name) a \(functions.joined(separator: " and ")), which recette does not run: its documents will lack the project's \(lacking); "
                + "give the index a transform command in search.indexes of recette.yml (README: \"A project's own transform\")")
        }
        if let query = entry.entriesQuery, let object = try? JSONSerialization.jsonObject(with: Data(query.utf8)) as? [String: Any] {
            let ignored = object.keys.filter { !["limit", "start"].contains($0) }.sorted()
            if !ignored.isEmpty {
                warnings.append("index \(index.uid): \(file) gives \(name) an entriesQuery with \(ignored.joined(separator: ", ")), which recette's generated query does not apply (it reads fields '*' and populate '*'): "
                    + "give the index a query in search.indexes of recette.yml")
            }
        }
        return warnings
    }

    /// The index with the config's settings when recette.yml gives it none; what recette does
    /// not reproduce of the config is said in warnings.
    public func applied(to definition: SearchIndexDefinition, contentType name: String, logger: Logger) -> SearchIndexDefinition {
        warnings(contentType: name, index: definition).forEach { logger.warning("\($0)") }
        var definition = definition
        if definition.settingsJSON == nil, let settings = settings(contentType: name) {
            definition.settingsJSON = settings
            definition.settingsOrigin = file
        }
        return definition
    }

    /// The index's settings as the config gives them (a JSON object), when it gives some.
    public func settings(contentType name: String) -> Data? {
        guard let text = contentTypes[name]?.settings, text.hasPrefix("{") else { return nil }
        return Data(text.utf8)
    }
}
