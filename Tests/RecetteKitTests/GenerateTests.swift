import Foundation
import RecetteTemplates
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// `recette generate`: the templates, their escaping, the committed files kept in sync, and
/// the generated script's own behaviour where no Docker is needed (settings, .env, reindex).
@Suite struct GenerateTests {
    /// Values that break naive shell: quotes, command substitution, backquotes, newlines,
    /// spaces, globs, a leading dash, parameter expansion, non-ASCII.
    static let hostile = [
        "it's", #"say "hi""#, "$(touch PWNED-subst)", "`touch PWNED-backquote`", "first\nsecond", "  two  spaces  ", "*",
        "-n", "${HOME}", #"back\slash\"#, "'; touch PWNED-break; echo '", "tab\there", "é ✓ 東京",
    ]

    // MARK: Escaping

    @Test func shellQuotingKeepsEveryHostileValueIntact() async throws {
        let template = BundledTemplate(name: "test.sh.mustache",
                                       text: "{{% CONTENT_TYPE: SHELL }}\nprintf '%s\\0' {{#values}}{{.}} {{/values}}\n")
        struct Values { let values: [String] }
        let script = try ProjectTemplates.render(template, Values(values: Self.hostile + [""]))
        let directory = TestEnvironment.newProjectDirectory()
        let file = directory.appendingPathComponent("quoting.sh")
        try script.write(to: file, atomically: true, encoding: .utf8)
        let result = try await Bash.run([file.path], currentDirectory: directory)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init) == Self.hostile + [""])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["quoting.sh"], "nothing was executed")
        #expect(ShellQuoting.singleQuoted("it's") == #"'it'\''s'"#)
    }

    @Test func dotEnvQuotingReadsBackThroughDotEnv() throws {
        for value in Self.hostile + ["", "plain-value_1.2:3/4@5", "# not a comment", "x #y"] {
            let parsed = try DotEnv.parse("KEY=\(DotEnvQuoting.quoted(value))\n")
            #expect(parsed.map(\.value) == [value], "\(value)")
        }
        #expect(DotEnvQuoting.quoted("http://127.0.0.1:7700") == "http://127.0.0.1:7700")
    }

    // MARK: Rendering

    @Test func renderingIsDeterministicAndUsesOnlyTheCommittedConfiguration() throws {
        let project = try Self.project(yaml: "postgres:\n  major: 16\nscalingo:\n  app: shop-recette\n",
                                       dotEnv: "RECETTE_PG_MAJOR=13\nSCALINGO_APP=from-dotenv\nSCALINGO_API_TOKEN=tk-us-never-rendered\n")
        let first = try GeneratedFiles(projectDirectory: project, runner: SubprocessRunner()).files
        let second = try ProjectTemplates.render(Configuration.committed(projectDirectory: project))
        #expect(first == second)
        #expect(first.map(\.path) == ["populate-with-recette-data.sh", "compose/compose.yaml", ".env.example"])
        let script = first[0].contents, compose = first[1].contents, envExample = first[2].contents
        #expect(compose.contains("image: ${RECETTE_DB_IMAGE:-postgres:16}"))
        // The CMS is the project's own, built from its source; every service says when it is
        // ready; whatever is published listens on this machine only.
        #expect(compose.contains("    build:\n") && compose.contains("context: ${RECETTE_CMS_CONTEXT:-..}")
                && compose.contains("dockerfile: ${RECETTE_CMS_DOCKERFILE:-Dockerfile}"))
        #expect(!compose.contains("strapi/strapi"))
        #expect(compose.components(separatedBy: "    healthcheck:\n").count - 1 == 3)
        let published = compose.split(separator: "\n").filter { $0.hasPrefix("      - \"") && $0.contains(":") && !$0.contains("/") }
        #expect(published.count == 3 && published.allSatisfy { $0.hasPrefix("      - \"127.0.0.1:") }, "\(published)")
        #expect(compose.contains("  meilisearch-data:\n") && compose.contains("  strapi-uploads:\n"))
        #expect(script.contains("setting SCALINGO_APP 'shop-recette'; scalingo_app=$REPLY"))
        #expect(envExample.contains("# SCALINGO_APP=shop-recette\n"))
        for file in first {
            #expect(file.contents.contains(ProjectTemplates.marker), "\(file.path)")
            #expect(!file.contents.contains("from-dotenv") && !file.contents.contains("tk-us-never-rendered"), "\(file.path)")
            #expect(!file.contents.contains("{{") && !file.contents.contains("}}"), "\(file.path): an unrendered tag")
        }
        #expect(script.hasPrefix("#!/usr/bin/env bash\n"))
        #expect(first[0].isExecutable)
    }

    @Test func composeValuesAreCheckedBecauseTheyCannotBeQuoted() throws {
        for (yaml, setting) in [("postgres:\n  major: \"15; rm\"\n", "RECETTE_PG_MAJOR"),
                                ("compose:\n  db_service: \"db:\\n  evil\"\n", "RECETTE_DB_SERVICE"),
                                ("compose:\n  db_volume: \"../data\"\n", "RECETTE_DB_VOLUME")] {
            let project = try Self.project(yaml: yaml)
            let error = #expect(throws: ConfigurationError.self) { try GeneratedFiles(projectDirectory: project, runner: SubprocessRunner()) }
            #expect(error?.description.hasPrefix(setting) == true, "\(String(describing: error))")
        }
    }

    @Test func envExampleListsEverySettingWithSecretsEmpty() throws {
        let files = try ProjectTemplates.render(Configuration.committed(projectDirectory: TestEnvironment.packageRoot))
        let envExample = try #require(files.first { $0.path == ".env.example" }).contents
        let parsed = try DotEnv.parse(envExample)
        #expect(parsed.map(\.key) == Setting.all.filter(\.isSecret).map(\.environmentName))
        #expect(parsed.allSatisfy { $0.value.isEmpty })
        // Uncommented, every other line gives the project's value back.
        let uncommented = envExample.split(separator: "\n").map { line in
            line.range(of: "^# [A-Z_][A-Z0-9_]*=", options: .regularExpression) != nil ? line.dropFirst(2) : line
        }.joined(separator: "\n")
        let values = Dictionary(try DotEnv.parse(uncommented).map { ($0.key, $0.value) }) { $1 }
        let configuration = try Configuration.committed(projectDirectory: TestEnvironment.packageRoot)
        for setting in Setting.all {
            #expect(envExample.contains("# \(setting.summary)\n"), "\(setting.environmentName)")
            #expect(values[setting.environmentName] == (setting.isSecret ? "" : configuration[setting] ?? ""), "\(setting.environmentName)")
        }
    }

    // MARK: The committed files

    @Test func theCommittedFilesAreWhatGenerateWrites() async throws {
        let result = try await CLI.runInProcess(["generate", "--check", "--project-dir", TestEnvironment.packageRoot.path])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput == "up to date: populate-with-recette-data.sh, compose/compose.yaml, .env.example\n")
        #expect(FileManager.default.isExecutableFile(atPath: TestEnvironment.packageRoot.appendingPathComponent("populate-with-recette-data.sh").path))
    }

    @Test func checkFailsWithADiffThenGenerateWritesAtomically() async throws {
        let project = try Self.project(yaml: "postgres:\n  major: 15\n")
        let first = try await CLI.runInProcess(["generate", "--project-dir", project.path])
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput == "wrote: populate-with-recette-data.sh (new)\nwrote: compose/compose.yaml (new)\nwrote: .env.example (new)\n")
        #expect(try await CLI.runInProcess(["generate", "--check", "--project-dir", project.path]).status == 0)

        // The project's config changes: the compose file is stale.
        try "postgres:\n  major: 17\n".write(to: project.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
        let script = project.appendingPathComponent("populate-with-recette-data.sh")
        let scriptBefore = try Data(contentsOf: script)
        let check = try await CLI.runInProcess(["generate", "--check", "--project-dir", project.path])
        #expect(check.status == 1)
        #expect(check.standardOutput.hasPrefix("--- a/compose/compose.yaml\n+++ b/compose/compose.yaml\n@@ "), "\(check.standardOutput)")
        #expect(check.standardOutput.contains("\n-    image: ${RECETTE_DB_IMAGE:-postgres:15}\n+    image: ${RECETTE_DB_IMAGE:-postgres:17}\n"))
        #expect(check.standardError == "error: compose/compose.yaml, .env.example out of date with templates/ and recette.yml; run recette generate")

        // --dry-run says what it would write and writes nothing.
        let dryRun = try await CLI.runInProcess(["generate", "--dry-run", "--project-dir", project.path])
        #expect(dryRun.standardOutput == "unchanged: populate-with-recette-data.sh\nwould write: compose/compose.yaml (changed)\nwould write: .env.example (changed)\n")
        #expect(try await CLI.runInProcess(["generate", "--check", "--project-dir", project.path]).status == 1)

        // A hand edit of the script, and a lost executable bit.
        try (String(decoding: scriptBefore, as: UTF8.self) + "echo hand edit\n").write(to: script, atomically: true, encoding: .utf8)
        chmod(script.path, 0o644)
        let edited = try await CLI.runInProcess(["generate", "--check", "--project-dir", project.path])
        #expect(edited.status == 1)
        #expect(edited.standardOutput.contains("\n-echo hand edit\n"))
        #expect(edited.standardError.contains("populate-with-recette-data.sh, compose/compose.yaml, .env.example out of date"))

        let written = try await CLI.runInProcess(["generate", "--project-dir", project.path])
        #expect(written.standardOutput == "wrote: populate-with-recette-data.sh (changed)\nwrote: compose/compose.yaml (changed)\nwrote: .env.example (changed)\n")
        #expect(try Data(contentsOf: script) == scriptBefore)
        #expect(FileManager.default.isExecutableFile(atPath: script.path))
        #expect(try String(contentsOf: project.appendingPathComponent("compose/compose.yaml"), encoding: .utf8).contains("postgres:17}"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: project.appendingPathComponent("compose").path) == ["compose.yaml"], "no temporary file left")
        #expect(try await CLI.runInProcess(["generate", "--check", "--project-dir", project.path]).status == 0)

        // Only the mode lost: reported, and fixed.
        chmod(script.path, 0o644)
        let mode = try await CLI.runInProcess(["generate", "--check", "--project-dir", project.path])
        #expect(mode.status == 1)
        #expect(mode.standardOutput.contains("populate-with-recette-data.sh: not executable"))
        #expect(try await CLI.runInProcess(["generate", "--project-dir", project.path]).standardOutput.contains("wrote: populate-with-recette-data.sh (mode)"))
        #expect(FileManager.default.isExecutableFile(atPath: script.path))
    }

    /// The templates are compiled in: a copied binary, far from any checkout or resource
    /// bundle, renders them all.
    @Test func anInstalledBinaryCarriesItsTemplates() async throws {
        let installed = TestEnvironment.newProjectDirectory().appendingPathComponent("bin/recette")
        try FileManager.default.createDirectory(at: installed.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: TestEnvironment.binary, to: installed)
        let project = try Self.project(yaml: "scalingo:\n  app: shop-recette\n")
        let result = try await CLI.collect(Command(installed.path, ["generate"]), currentDirectory: project)
        #expect(result.status == 0, "\(result.standardError)")
        for file in try ProjectTemplates.render(Configuration.committed(projectDirectory: project)) {
            #expect(try String(contentsOf: project.appendingPathComponent(file.path), encoding: .utf8) == file.contents, "\(file.path)")
        }
    }

    @Test func aFileRecetteDidNotGenerateIsReplacedOnlyWithForce() async throws {
        let project = try Self.project()
        let compose = project.appendingPathComponent("compose/compose.yaml")
        try FileManager.default.createDirectory(at: compose.deletingLastPathComponent(), withIntermediateDirectories: true)
        try "services:\n  mine: {}\n".write(to: compose, atomically: true, encoding: .utf8)
        let refused = try await CLI.runInProcess(["generate", "--project-dir", project.path])
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("compose/compose.yaml exists and was not generated by recette"), "\(refused.standardError)")
        #expect(try String(contentsOf: compose, encoding: .utf8) == "services:\n  mine: {}\n")
        #expect(!FileManager.default.fileExists(atPath: project.appendingPathComponent(".env.example").path), "all or nothing")
        let forced = try await CLI.runInProcess(["generate", "--force", "--project-dir", project.path])
        #expect(forced.status == 0, "\(forced.standardError)")
        #expect(try String(contentsOf: compose, encoding: .utf8).contains(ProjectTemplates.marker))
    }

    // MARK: The generated script, without Docker

    /// Skipped only where shellcheck is missing and the run does not require everything
    /// (scripts/test.sh sets RECETTE_REQUIRE_DOCKER=1: there a missing shellcheck fails).
    @Test(.enabled(if: GenerateTests.shellcheck != nil || ProcessInfo.processInfo.environment["RECETTE_REQUIRE_DOCKER"] == "1",
                   "shellcheck is not installed (scripts/install-test-prereqs.sh installs it)"))
    func theGeneratedScriptPassesShellcheck() async throws {
        let shellcheck = try #require(Self.shellcheck, "shellcheck is not installed (scripts/install-test-prereqs.sh installs it)")
        let hostileScript = try Self.renderScript(hostileConfiguration: true)
        for script in [TestEnvironment.packageRoot.appendingPathComponent("populate-with-recette-data.sh"), hostileScript] {
            let result = try await SubprocessRunner().run(Command(shellcheck, ["--external-sources", script.path]), input: nil, output: .collect(),
                                                          onStandardErrorLine: nil, acceptedExitStatuses: Set(0...255))
            #expect(result.exitStatus == 0, "\(script.lastPathComponent): \(result.outputText)")
        }
    }

    @Test func hostileProjectValuesArriveIntact() async throws {
        let script = try Self.renderScript(hostileConfiguration: true)
        let syntax = try await Bash.run(["-n", script.path])
        #expect(syntax.status == 0, "\(syntax.standardError)")
        let directory = script.deletingLastPathComponent()
        let result = try await Bash.run([script.path, "--dry-run", "--project-dir", directory.path], currentDirectory: directory)
        #expect(result.status == 0, "\(result.standardError)")
        for (setting, value) in Self.hostileValues {
            #expect(result.standardOutput.contains("\n  \(setting.environmentName)=\(value)\n"), "\(setting.environmentName): \(result.standardOutput)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("PWNED") } == [])
    }

    /// The script reads `.env` as recette does (DotEnv), runs nothing in it, and lets the
    /// environment win over it.
    @Test func theScriptReadsDotEnvLikeRecetteWithoutRunningIt() async throws {
        let dotEnv = """
            # a comment
            export SCALINGO_APP=$(touch PWNED-dotenv)   # inline comment
            ADDON_NAME = `touch PWNED-backquote`
            SCALINGO_REGION='single $(quoted) "x" # kept'
            RECETTE_COMPOSE_PROJECT="double \\"quoted\\" \\$HOME \\\\ tab\\tnew\\nline"  # comment
            RECETTE_DB_SERVICE=svc#not-a-comment\r
            STRAPI_ADMIN_EMAIL=\(DotEnvQuoting.quoted("it's \"me\" $(x) `y`"))
            SCALINGO_API_TOKEN=tk-us-from-dotenv
            STRAPI_URL=http://from-dotenv

            """
        let script = try Self.renderScript(hostileConfiguration: false)
        let directory = script.deletingLastPathComponent()
        try dotEnv.write(to: directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let result = try await Bash.run([script.path, "--dry-run", "--project-dir", directory.path], environment: ["STRAPI_URL": "http://from-environment"],
                                        currentDirectory: directory)
        #expect(result.status == 0, "\(result.standardError)")
        let recette = try Configuration.load(environment: ["STRAPI_URL": "http://from-environment"], projectDirectory: directory)
        for setting in ProjectTemplates.scriptSettings where !setting.isSecret {
            #expect(result.standardOutput.contains("\n  \(setting.environmentName)=\(recette[setting] ?? "")\n"), "\(setting.environmentName): \(result.standardOutput)")
        }
        #expect(recette[.strapiURL] == "http://from-environment")
        #expect(recette[.scalingoApp] == "$(touch PWNED-dotenv)")
        #expect(result.standardOutput.contains("\n  SCALINGO_API_TOKEN=*** (set)\n"))
        #expect(!result.standardOutput.contains("tk-us-from-dotenv") && !result.standardError.contains("tk-us-from-dotenv"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("PWNED") } == [])
    }

    @Test func usageErrorsExit2() async throws {
        let script = TestEnvironment.packageRoot.appendingPathComponent("populate-with-recette-data.sh").path
        for arguments in [["--bogus"], ["--wait-timeout", "soon"], ["--backup", "/nonexistent.tar.gz"], ["--backup-id"], ["--via", "meilisearch"],
                          ["--reindex-only", "--skip-reindex"], ["--reindex-only", "--backup-id", "5f2b"]] {
            let result = try await Bash.run([script] + arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        }
        let help = try await Bash.run([script, "--help"])
        #expect(help.status == 0 && help.standardOutput.contains("--skip-reindex"))
    }

    /// The reindex step through the Strapi admin API, against a loopback Strapi stand-in:
    /// login, the plugin's list, one PUT per indexed content type; the password and the token
    /// never on curl's command line. With `recette` on PATH, `recette reindex` instead.
    @Test func theReindexGoesThroughTheStrapiAdminAPIOrRecette() async throws {
        let password = #"pa"ss w\ord $(x) 'q'"#
        let received = LineCollector()
        let token = "eyJ-standin-admin-jwt"
        let strapi = try LoopbackHTTPServer { request in
            func json(_ status: Int, _ body: String) -> HTTPResponse {
                HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: .data(Data(body.utf8)))
            }
            switch (request.method, request.path) {
            case ("POST", "/admin/login"):
                let body = (try? JSONSerialization.jsonObject(with: request.body)) as? [String: String]
                guard body == ["email": "admin@example.test", "password": password] else {
                    return json(400, #"{"error":{"status":400,"name":"ValidationError","message":"Invalid credentials"}}"#)
                }
                return json(200, #"{"data":{"token":"\#(token)","user":{"id":1,"firstname":"A"}}}"#)
            case ("GET", "/meilisearch/content-type"):
                guard request.header("authorization") == "Bearer \(token)" else { return json(401, "{}") }
                return json(200, #"{"data":{"contentTypes":[{"collection":"offres_de_stage","contentType":"api::offre-de-stage.offre-de-stage","indexUid":"offre-de-stage","indexed":true,"isIndexing":false,"numberOfDocuments":10000,"numberOfEntries":25000,"listened":true},{"collection":"pages","contentType":"api::page.page","indexUid":"page","indexed":false,"isIndexing":false,"numberOfDocuments":0,"numberOfEntries":3,"listened":false},{"collection":"annonces_de_logement","contentType":"api::annonce-de-logement.annonce-de-logement","indexUid":"annonce","indexed":true,"isIndexing":false,"numberOfDocuments":12000,"numberOfEntries":12000,"listened":true}]}}"#)
            case ("PUT", "/meilisearch/content-type"):
                guard request.header("authorization") == "Bearer \(token)" else { return json(401, "{}") }
                received.append(String(decoding: request.body, as: UTF8.self))
                return json(200, #"{"data":{"message":"Index updated"}}"#)
            default:
                return json(404, "{}")
            }
        }
        defer { strapi.stop() }

        let directory = TestEnvironment.newProjectDirectory()
        let shims = directory.appendingPathComponent("bin")
        let argv = directory.appendingPathComponent("argv.log")
        try Self.shim("curl", in: shims, logTo: argv, then: "exec /usr/bin/curl \"$@\"")
        let script = TestEnvironment.packageRoot.appendingPathComponent("populate-with-recette-data.sh").path
        // The script's functions, sourced (main runs only when the file is executed).
        let driver = """
            source "$1"
            project_dir=$2
            load_settings
            work_dir=$(mktemp -d "$2/work.XXXXXX")
            rebuild_indexes
            """
        // The plugin route is asked for: with search.indexes in recette.yml, the default is the direct rebuild.
        let environment = ["STRAPI_URL": strapi.baseURL.absoluteString, "STRAPI_ADMIN_EMAIL": "admin@example.test", "STRAPI_ADMIN_PASSWORD": password,
                           "RECETTE_REINDEX_VIA": "plugin", "PATH": shims.path + ":/usr/bin:/bin"]
        let result = try await Bash.run(["-c", driver, "driver", script, directory.path], environment: environment)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(received.all == [#"{"contentType":"api::offre-de-stage.offre-de-stage"}"#, #"{"contentType":"api::annonce-de-logement.annonce-de-logement"}"#])
        #expect(result.standardError.contains("api::offre-de-stage.offre-de-stage: reindex started"))
        let commandLines = try String(contentsOf: argv, encoding: .utf8)
        #expect(commandLines.split(separator: "\n").count == 4, "\(commandLines)")
        #expect(!commandLines.contains("ss w") && !commandLines.contains(token), "\(commandLines)")

        // A wrong password: one clear line, nothing reindexed.
        let refused = try await Bash.run(["-c", driver, "driver", script, directory.path],
                                         environment: environment.merging(["STRAPI_ADMIN_PASSWORD": "wrong"]) { $1 })
        #expect(refused.status == 1)
        #expect(refused.standardError.contains("error: Strapi admin login at \(strapi.baseURL.absoluteString) answered HTTP 400"), "\(refused.standardError)")
        #expect(received.all.count == 2)

        // recette installed: it does the job.
        let recetteArgv = directory.appendingPathComponent("recette-argv.log")
        try Self.shim("recette", in: shims, logTo: recetteArgv, then: "exit 0")
        let viaRecette = try await Bash.run(["-c", driver, "driver", script, directory.path], environment: environment)
        #expect(viaRecette.status == 0, "\(viaRecette.standardError)")
        #expect(try String(contentsOf: recetteArgv, encoding: .utf8) == "reindex --project-dir \(directory.path)\n")
        #expect(received.all.count == 2)
    }

    /// The script's own rebuild runs recette's SQL, byte for byte, for every index recette
    /// rebuilds: this repository's recette.yml has no search.indexes, so one per content type
    /// of its CMS source, with the query generated from the model and the settings of
    /// search.settings. Rendered from the same definitions, not written twice.
    @Test func theScriptRebuildsTheIndexesRecetteRebuildsWithTheSameSQL() async throws {
        let script = TestEnvironment.packageRoot.appendingPathComponent("populate-with-recette-data.sh").path
        let driver = #"""
            source "$1"
            project_dir=$2
            load_settings
            for i in "${!search_index_uids[@]}"; do
                printf '%s\0' "${search_index_uids[$i]}" "${search_index_primary_keys[$i]}" "${search_index_settings[$i]}" \
                    "${search_index_count_sql[$i]}" "${search_index_copy_sql[$i]}" "${search_index_content_types[$i]}" "${search_index_left_to_recette[$i]}"
            done
            """#
        let result = try await Bash.run(["-c", driver, "driver", script, TestEnvironment.newProjectDirectory().path])
        #expect(result.status == 0, "\(result.standardError)")
        let configuration = try Configuration.committed(projectDirectory: TestEnvironment.packageRoot)
        #expect(configuration.searchIndexes.isEmpty, "the repository's recette.yml carries no hand-written query")
        let model = try ModelSearchIndexes(project: try #require(try StrapiProject.configured(configuration)))
        let uids = model.model.contentTypes.map(\.uid)
        let definitions = try model.definitions(indexed: uids).indexes.map { SearchSetup.withSettings($0, configuration.searchSettings) }
        try #require(definitions.map(\.uid) == ["annonce-de-logement", "evenement", "offre-de-stage"])
        #expect(definitions.last?.settingsJSON != nil, "offre-de-stage takes its settings from search.settings")
        let expected = zip(definitions, uids).flatMap { definition, contentType in
            [definition.uid, definition.primaryKey, definition.settingsJSON.map { String(decoding: $0, as: UTF8.self) } ?? "",
             definition.documentCountSQL, definition.documentCopySQL, contentType, ""]
        }
        #expect(result.standardOutput.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init) == expected)
    }

    /// The committed sample-cms/, which the repository's recette.yml names as its CMS source,
    /// is what `recette sample-backup` writes (SampleCMSSource), file for file.
    @Test func theCommittedSampleCMSSourceIsTheOneSampleBackupWrites() throws {
        let root = TestEnvironment.packageRoot.appendingPathComponent("sample-cms").standardizedFileURL
        let walk = try #require(FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]))
        var committed: [String: String] = [:]
        for case let url as URL in walk where try url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile == true {
            committed[String(url.standardizedFileURL.path.dropFirst(root.path.count + 1))] = try String(contentsOf: url, encoding: .utf8)
        }
        #expect(committed.keys.sorted() == SampleCMSSource.files.keys.sorted())
        for (path, text) in SampleCMSSource.files.sorted(by: { $0.key < $1.key }) {
            #expect(committed[path] == text, "sample-cms/\(path) differs: run recette sample-backup --cms-source sample-cms (then recette generate)")
        }
    }

    /// Drives the script's rebuild loop with the database and Meilisearch replaced by bash
    /// functions: `compose` prints STORE (the plugin's store row), each rebuild prints its uid.
    static let rebuildLoopDriver = #"""
        source "$1"
        project_dir=$2
        load_settings
        work_dir=$(mktemp -d)
        trap 'rm -rf "$work_dir"' EXIT
        compose() { printf '%s\n' "$STORE"; }
        meili() { http_status=200; }
        rebuild_index_directly() { printf 'rebuilt %s\n' "${search_index_uids[$1]}"; }
        rebuild_indexes_directly
        """#

    /// With the indexes from the model, the script rebuilds those whose content type the
    /// plugin's store lists, in the store's order, names a listed one the source lacks, and
    /// stops before touching any index when the store lists none of them.
    @Test func theScriptRebuildsTheModelsIndexesThePluginIndexes() async throws {
        let script = TestEnvironment.packageRoot.appendingPathComponent("populate-with-recette-data.sh").path
        let listed = #"["api::offre-de-stage.offre-de-stage","plugin::users-permissions.user","api::annonce-de-logement.annonce-de-logement"]"#
        let result = try await Bash.run(["-c", Self.rebuildLoopDriver, "driver", script, TestEnvironment.newProjectDirectory().path], environment: ["STORE": listed])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "rebuilt offre-de-stage\nrebuilt annonce-de-logement\n", "evenement is not indexed: \(result.standardOutput)")
        #expect(result.standardError.contains("warning: the Meilisearch plugin indexes plugin::users-permissions.user, which the CMS source does not declare: not rebuilt"),
                "\(result.standardError)")

        let none = try await Bash.run(["-c", Self.rebuildLoopDriver, "driver", script, TestEnvironment.newProjectDirectory().path], environment: ["STORE": ""])
        #expect(none.status == 1)
        #expect(none.standardOutput == "")
        #expect(none.lastErrorLine.contains("error: the Meilisearch plugin indexes no content type of the CMS source in database"), "\(none.standardError)")
    }

    /// A Strapi v5 source's queries take names from the restored database's catalog: the
    /// script leaves its indexes to recette, saying why, rather than guess those names.
    @Test func theScriptLeavesAStrapi5SourcesIndexesToRecette() throws {
        let project = TestEnvironment.newProjectDirectory()
        let schema = project.appendingPathComponent("cms/src/api/article/content-types/article/schema.json")
        try FileManager.default.createDirectory(at: schema.deletingLastPathComponent(), withIntermediateDirectories: true)
        try #"{"dependencies": {"@strapi/strapi": "5.4.0", "strapi-plugin-meilisearch": "0.16.0"}}"#
            .write(to: project.appendingPathComponent("cms/package.json"), atomically: true, encoding: .utf8)
        try #"""
            {"kind": "collectionType", "collectionName": "articles", "info": {"singularName": "article", "pluralName": "articles", "displayName": "Article"},
             "options": {"draftAndPublish": true}, "attributes": {"title": {"type": "string"}}}
            """#.write(to: schema, atomically: true, encoding: .utf8)
        try "strapi:\n  project: cms\n".write(to: project.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
        let indexes = try ProjectTemplates.ScriptValues(Configuration.committed(projectDirectory: project)).searchIndexes
        #expect(indexes.map(\.uid) == ["article"])
        #expect(indexes.map(\.contentType) == ["api::article.article"])
        #expect(indexes.first?.subquery == "")
        #expect(indexes.first?.leftToRecette.contains("its Strapi v5 query takes names from the restored database's catalog") == true, "\(indexes)")
    }

    /// An index whose documents need the project's transform is not rebuilt by the script (it
    /// would send the entries untransformed): it says so and goes on with the others.
    @Test func theScriptLeavesAnIndexWithATransformToRecette() async throws {
        let project = TestEnvironment.newProjectDirectory()
        try """
            search:
              indexes:
                - uid: plain
                  query: SELECT 'plain-' || 1 AS _meilisearch_id
                - uid: transformed
                  query: SELECT 'transformed-' || 1 AS _meilisearch_id
                  transform: [node, scripts/recette-transform.js, transformed]

            """.write(to: project.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
        let contents = try ProjectTemplates.render(BundledTemplates.populateScript,
                                                   ProjectTemplates.ScriptValues(Configuration.committed(projectDirectory: project)))
        let script = project.appendingPathComponent("populate-with-recette-data.sh")
        try contents.write(to: script, atomically: true, encoding: .utf8)
        let result = try await Bash.run(["-c", Self.rebuildLoopDriver, "driver", script.path, project.path], environment: ["STORE": ""])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput == "rebuilt plain\n")
        #expect(result.standardError.contains(
            "warning: index transformed was not rebuilt: its documents need its transform (node scripts/recette-transform.js transformed), which only recette runs; rebuild it with recette (recette reindex --index transformed); the live index was left as it was"),
                "\(result.standardError)")
    }

    // MARK: The PostgreSQL major from the newest downloaded backup

    /// Without postgres.major in recette.yml, `generate` takes the major of the newest backup in
    /// the download cache, writes it into recette.yml and renders the compose file with it;
    /// `--check` never looks at the cache; a second generate leaves recette.yml alone.
    @Test(.tags(.postgres), .skippedInUnitLane) func theMajorComesFromTheNewestDownloadedBackup() async throws {
        let sample = try await SampleCache.shared.sample()
        let project = try Self.project(yaml: "compose:\n  file: compose/compose.yaml\n")
        // A backup dumped from PostgreSQL 16: the sample's dump with its header's server version
        // changed (pg_restore 15 still lists it: the archive format is what it reads).
        let work = project.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        try await SubprocessRunner().run(Command("tar", ["-xzf", sample.archive.path, "-C", work.path]))
        let dump = try #require(try FileManager.default.contentsOfDirectory(at: work, includingPropertiesForKeys: nil).first { $0.pathExtension == "pgsql" })
        var bytes = try Data(contentsOf: dump)
        let header = bytes.prefix(4096)
        let at = try #require(header.range(of: Data("15.".utf8)))
        bytes.replaceSubrange(at, with: Data("16.".utf8))
        try bytes.write(to: dump)
        let cached = project.appendingPathComponent(".recette/backups/b-16")
        try FileManager.default.createDirectory(at: cached, withIntermediateDirectories: true)
        try await SubprocessRunner().run(Command("tar", ["-czf", cached.appendingPathComponent("20261201000000_app.tar.gz").path, "-C", work.path, dump.lastPathComponent]))

        let check = try await CLI.run(["generate", "--check"], currentDirectory: project)
        #expect(check.status == 1, "nothing generated yet")
        #expect(!(try String(contentsOf: project.appendingPathComponent("recette.yml"), encoding: .utf8)).contains("major"), "--check wrote nothing")

        let dryRun = try await CLI.run(["generate", "--dry-run"], currentDirectory: project)
        #expect(dryRun.standardOutput.contains("would write postgres.major: 16 to recette.yml"), "\(dryRun.standardOutput)\(dryRun.standardError)")

        let generate = try await CLI.run(["generate"], currentDirectory: project)
        #expect(generate.status == 0, "\(generate.standardError)")
        #expect(generate.standardOutput.contains("postgres.major: 16 written to recette.yml, from '20261201000000_app.tar.gz' (dumped from PostgreSQL 16."), "\(generate.standardOutput)")
        let yaml = try String(contentsOf: project.appendingPathComponent("recette.yml"), encoding: .utf8)
        #expect(yaml.hasPrefix("compose:\n  file: compose/compose.yaml\n") && yaml.hasSuffix("postgres:\n  major: 16\n"), "\(yaml)")
        let compose = try String(contentsOf: project.appendingPathComponent("compose/compose.yaml"), encoding: .utf8)
        #expect(compose.contains("postgres:16"), "\(compose)")

        let again = try await CLI.run(["generate", "--check"], currentDirectory: project)
        #expect(again.status == 0, "\(again.standardOutput)\(again.standardError)")
        let rerun = try await CLI.run(["generate"], currentDirectory: project)
        #expect(rerun.status == 0 && !rerun.standardOutput.contains("postgres.major"), "set now: left alone")
        #expect(try String(contentsOf: project.appendingPathComponent("recette.yml"), encoding: .utf8) == yaml)
    }

    // MARK: Helpers

    static func project(yaml: String? = nil, dotEnv: String? = nil) throws -> URL {
        let directory = TestEnvironment.newProjectDirectory()
        if let yaml { try yaml.write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8) }
        if let dotEnv { try dotEnv.write(to: directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8) }
        return directory
    }

    /// Hostile values for every non-secret setting the script reads.
    static let hostileValues: [(Setting, String)] = ProjectTemplates.scriptSettings.filter { !$0.isSecret }.enumerated().map { index, setting in
        (setting, hostile[index % hostile.count])
    }

    /// The script rendered into a fresh directory, from the repository's configuration or
    /// from one where every non-secret setting the script reads is hostile.
    static func renderScript(hostileConfiguration: Bool) throws -> URL {
        var configuration = try Configuration.committed(projectDirectory: TestEnvironment.packageRoot)
        if hostileConfiguration {
            var values = Dictionary(uniqueKeysWithValues: Setting.all.compactMap { setting in configuration.resolved(setting).map { (setting, $0) } })
            for (setting, value) in hostileValues { values[setting] = ResolvedValue(value: value, source: .configFile) }
            configuration = Configuration(values: values, projectDirectory: configuration.projectDirectory)
        }
        // The script alone: the compose file refuses values it cannot quote (tested above).
        let contents = try ProjectTemplates.render(BundledTemplates.populateScript, ProjectTemplates.ScriptValues(configuration))
        let directory = TestEnvironment.newProjectDirectory()
        let script = directory.appendingPathComponent("populate-with-recette-data.sh")
        try contents.write(to: script, atomically: true, encoding: .utf8)
        return script
    }

    /// A program on PATH that logs its arguments (one line per run), then runs `then`.
    static func shim(_ name: String, in directory: URL, logTo log: URL, then: String) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent(name)
        try "#!/bin/sh\necho \"$*\" >> '\(log.path)'\n\(then)\n".write(to: file, atomically: true, encoding: .utf8)
        chmod(file.path, 0o755)
    }

    /// shellcheck's path on PATH, if any.
    static let shellcheck: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { "\($0)/shellcheck" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs bash with the script settings neutralised (an empty value counts as unset), so the
/// test process's own environment cannot leak into what a script reads.
enum Bash {
    static func run(_ arguments: [String], environment extra: [String: String] = [:], currentDirectory: URL = TestEnvironment.newProjectDirectory()) async throws -> CLIResult {
        var environment = Dictionary(uniqueKeysWithValues: ProjectTemplates.scriptSettings.map { ($0.environmentName, "") })
        environment["NO_COLOR"] = "1"
        environment.merge(extra) { $1 }
        return try await CLI.collect(Command("bash", arguments, environment: environment), currentDirectory: currentDirectory)
    }
}
