import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld
import StandIns

/// Settings are typed and checked once, when the configuration loads: a bad value or an
/// unknown `recette.yml` key stops a run before anything is downloaded, reset or contacted.
@Suite struct SettingsValidationTests {
    private static let project = URL(fileURLWithPath: "/srv/project")

    private func parse(_ kind: SettingKind, _ text: String) -> ParsedSetting? {
        kind.parse(text, relativeTo: Self.project)
    }

    private func project(dotEnv: String? = nil, yaml: String? = nil) throws -> URL {
        let directory = TestEnvironment.newProjectDirectory()
        if let dotEnv { try dotEnv.write(to: directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8) }
        if let yaml { try yaml.write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8) }
        return directory
    }

    private func loadError(environment: [String: String] = [:], flags: [Setting: String] = [:], dotEnv: String? = nil, yaml: String? = nil) throws -> String? {
        let directory = try project(dotEnv: dotEnv, yaml: yaml)
        do {
            _ = try Configuration.load(flags: flags, environment: environment, projectDirectory: directory)
            return nil
        } catch {
            return "\(error)"
        }
    }

    // MARK: Kinds

    @Test func wholeNumbersAreWholeAndInRange() {
        let kind = SettingKind.wholeNumber(1...86_400, unit: "seconds")
        guard case .wholeNumber(180) = parse(kind, "180") else { Issue.record("180"); return }
        guard case .wholeNumber(5) = parse(kind, " 5 ") else { Issue.record("spaces around"); return }
        for bad in ["abc", "-1", "0", "86401", "1.5", "", "12s", "١٢"] {
            #expect(parse(kind, bad) == nil, "\(bad)")
        }
    }

    @Test func numbersAreFiniteAndInRange() {
        let kind = SettingKind.number(0.01...1024, unit: "MiB")
        guard case .number(let small) = parse(kind, "0.05"), small == 0.05 else { Issue.record("0.05"); return }
        guard case .number(16) = parse(kind, "16") else { Issue.record("16"); return }
        for bad in ["abc", "-1", "0", "1025", "nan", "inf", "50%", ""] {
            #expect(parse(kind, bad) == nil, "\(bad)")
        }
    }

    @Test func choicesTakeTheirWordsInAnyCaseAndTheirAliases() {
        let kind = SettingKind.choice(["auto", "true", "false"], aliases: ["yes": "true", "off": "false"])
        guard case .choice("auto") = parse(kind, "auto") else { Issue.record("auto"); return }
        guard case .choice("true") = parse(kind, "YES") else { Issue.record("an alias in capitals"); return }
        guard case .choice("false") = parse(kind, "off") else { Issue.record("off"); return }
        for bad in ["maybe", "", "tru", "1"] {
            #expect(parse(kind, bad) == nil, "\(bad)")
        }
    }

    @Test func urlsNeedAnAllowedSchemeAndAHost() {
        let kind = SettingKind.url(schemes: ["http", "https"])
        guard case .url(let url) = parse(kind, "http://127.0.0.1:7700"), url.port == 7700 else { Issue.record("http"); return }
        guard case .url = parse(kind, "HTTPS://search.example.test") else { Issue.record("scheme in capitals"); return }
        for bad in ["localhost:7700", "ftp://127.0.0.1", "http://", "127.0.0.1", "http:/x", ""] {
            #expect(parse(kind, bad) == nil, "\(bad)")
        }
    }

    @Test func pathsAreResolvedAgainstTheProjectDirectory() {
        guard case .path(let relative) = parse(.path, "compose/compose.yaml") else { Issue.record("relative"); return }
        #expect(relative.path == "/srv/project/compose/compose.yaml")
        guard case .path(let absolute) = parse(.path, "/etc/x.yaml") else { Issue.record("absolute"); return }
        #expect(absolute.path == "/etc/x.yaml")
        #expect(parse(.path, "") == nil)
        guard case .pathList(let list) = parse(.pathList, "a.yaml: /b.yaml::") else { Issue.record("list"); return }
        #expect(list.map(\.path) == ["/srv/project/a.yaml", "/b.yaml"])
    }

    /// Every default fits its own kind, so a typed accessor never fails on a setting left alone,
    /// and each choice's words are the cases of the type the steps read it as.
    @Test func theTableIsConsistent() throws {
        let configuration = Configuration(values: [:], projectDirectory: Self.project)
        #expect(configuration.problems.isEmpty, "\(configuration.problems)")
        func words(_ setting: Setting) -> [String] {
            guard case .choice(let words, _) = setting.kind else { return [] }
            return words
        }
        #expect(words(.target) == RestoreTargetKind.allCases.map(\.rawValue))
        #expect(words(.reindexVia) == ReindexRoute.allCases.map(\.rawValue))
        #expect(words(.downloadTransport) == ArchiveTransport.allCases.map(\.rawValue))
        #expect(words(.searchGzip) == SearchSetup.GzipChoice.allCases.map(\.rawValue))
        #expect(words(.anonymize) == PersonalDataPreset.Choice.allCases.map(\.rawValue))
        #expect(try configuration.number(.searchBatchMegabytes) == 16)
        #expect(try configuration.wholeNumber(.cmsStartTimeout) == 180)
        #expect(try configuration.url(.meilisearchURL).absoluteString == "http://127.0.0.1:7700")
        #expect(try configuration.choice(.target, as: RestoreTargetKind.self) == .local)
        #expect(configuration.path(.localDirectory)?.path == "/srv/project/.recette/local")
        #expect(configuration.text(.localDatabase) == "recette")
        #expect(!configuration.isSet(.target))
    }

    // MARK: One line: the setting, where it came from, the value, what is accepted

    @Test func anInvalidValueNamesTheSettingItsSourceAndWhatIsAccepted() throws {
        #expect(try loadError(environment: ["RECETTE_SEARCH_BATCH_MB": "abc"])
                == #"RECETTE_SEARCH_BATCH_MB (search.batch_mb) from the environment is "abc": expected a number of MiB from 0.01 to 1024 (default 16)"#)
        #expect(try loadError(environment: ["RECETTE_CMS_TIMEOUT": "-1"])
                == #"RECETTE_CMS_TIMEOUT (search.cms_timeout) from the environment is "-1": expected a whole number of seconds from 1 to 86400 (default 180)"#)
        #expect(try loadError(dotEnv: "# a comment\nSCALINGO_APP=x\nRECETTE_TARGET=lokal\n")
                == #"RECETTE_TARGET (target) from .env line 3 is "lokal": expected local, compose or url"#)
        #expect(try loadError(yaml: "search:\n  gzip: maybe\n")
                == #"RECETTE_SEARCH_GZIP (search.gzip) from recette.yml is "maybe": expected auto, always or never"#)
        #expect(try loadError(flags: [.cmsHealthURL: "127.0.0.1:1337/_health"])
                == #"RECETTE_CMS_HEALTH_URL (search.health_url) on the command line is "127.0.0.1:1337/_health": expected an absolute http or https URL with a host (default http://127.0.0.1:1337/_health)"#)
        // The winning source is the one checked: a good flag over a bad environment is fine.
        #expect(try loadError(environment: ["RECETTE_TARGET": "lokal"], flags: [.target: "compose"]) == nil)
    }

    @Test func aSecretValueIsNeverQuoted() {
        let secretNumber = Setting("RECETTE_TEST_SECRET", config: nil, secret: true, accepts: .wholeNumber(1...9, unit: nil), "a test's")
        let problem = InvalidSetting(setting: secretNumber, value: "tk-us-never-shown", source: .environment)
        #expect(problem.description == "RECETTE_TEST_SECRET from the environment: expected a whole number from 1 to 9")
    }

    /// `doctor` lists every invalid value instead of stopping at the first.
    @Test func loadingWithoutValidationKeepsEveryProblem() throws {
        let directory = try project(dotEnv: "RECETTE_CMS_TIMEOUT=soon\n")
        let configuration = try Configuration.load(environment: ["RECETTE_SEARCH_GZIP": "maybe"], projectDirectory: directory, validating: false)
        #expect(configuration.problems.map(\.setting.environmentName) == ["RECETTE_SEARCH_GZIP", "RECETTE_CMS_TIMEOUT"])
        #expect(throws: ConfigurationError.self) { try configuration.wholeNumber(.cmsStartTimeout) }
    }

    // MARK: Unknown keys of recette.yml

    @Test(arguments: [
        ("search: {indexs: []}\n", #"recette.yml: unknown key "search.indexs" (did you mean "search.indexes"?)"#),
        ("serach:\n  via: plugin\n", #"recette.yml: unknown key "serach" (did you mean "search"?)"#),
        ("compose:\n  db_servce: db\n", #"recette.yml: unknown key "compose.db_servce" (did you mean "compose.db_service"?)"#),
        ("search:\n  indexes:\n    - uid: a\n      query: SELECT 1\n    - uid: b\n      qurey: SELECT 2\n",
         #"recette.yml: unknown key "search.indexes[1].qurey" (did you mean "search.indexes[1].query"?)"#),
    ])
    func anUnknownKeyNamesTheNearestKnownOne(yaml: String, message: String) throws {
        #expect(try loadError(yaml: yaml) == message)
    }

    @Test func everyKeyRecetteReadsIsKnown() throws {
        // This repository's own recette.yml: both indexes, with settings whose keys are Meilisearch's.
        #expect(throws: Never.self) { try Configuration.committed(projectDirectory: TestEnvironment.packageRoot) }
        let everySetting = Setting.all.compactMap(\.configPath).map { path in
            path.split(separator: ".").reversed().reduce("x") { "{\($1): \($0)}" }
        }
        for line in everySetting {
            let error = try loadError(yaml: line + "\n")
            #expect(error.map { !$0.contains("unknown key") } ?? true, "\(line): \(error ?? "")")
        }
    }

    @Test func editDistanceCountsSingleCharacterEdits() {
        #expect(ProjectConfigFile.editDistance("indexs", "indexes") == 1)
        #expect(ProjectConfigFile.editDistance("serach", "search") == 2)
        #expect(ProjectConfigFile.editDistance("", "via") == 3)
        #expect(ProjectConfigFile.editDistance("gzip", "gzip") == 0)
    }

    // MARK: recette populate stops before anything

    /// The three inputs of the acceptance: each fails `recette populate` with one line and exit
    /// 1 in under a second, and nothing is contacted or created: the Scalingo stand-in gets no
    /// request, the fake `docker` on PATH is never run, no `.recette/` appears.
    @Test(arguments: [
        (["RECETTE_SEARCH_BATCH_MB": "abc"], nil, "RECETTE_SEARCH_BATCH_MB (search.batch_mb) from the environment is \"abc\""),
        (["RECETTE_CMS_TIMEOUT": "-1"], nil, "RECETTE_CMS_TIMEOUT (search.cms_timeout) from the environment is \"-1\""),
        ([:], "search: {indexs: []}\n", "recette.yml: unknown key \"search.indexs\" (did you mean \"search.indexes\"?)"),
    ] as [([String: String], String?, String)])
    func populateRefusesABadSettingBeforeAnything(extra: [String: String], yaml: String?, expected: String) async throws {
        let world = try PopulateWorld()
        let project = try self.project(yaml: yaml)
        let clock = ContinuousClock()
        let started = clock.now
        let result = try await CLI.run(["populate", "--yes", "--target", "compose"], environment: world.environment.merging(extra) { $1 },
                                       currentDirectory: project)
        let elapsed = clock.now - started
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1, "\(result.standardError)")
        #expect(result.standardError.hasPrefix("error: " + expected), "\(result.standardError)")
        // "Before anything" is proven by what was not contacted below; the time is a liveness
        // bound only (0.1–0.7 s alone; 12.5 s seen in the unit lane's 377 concurrent tests with
        // four builds running at a load of 12).
        #expect(elapsed < .seconds(60), "\(elapsed)")
        #expect(world.scalingo.requestLog.isEmpty, "\(world.scalingo.requestLog.map(\.path))")
        #expect(try world.dockerCalls().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: project.appendingPathComponent(".recette").path))
    }

    /// The same world with good settings does reach Scalingo: the test above can see a contact.
    @Test func populateWithGoodSettingsDoesContactScalingo() async throws {
        let world = try PopulateWorld()
        let result = try await CLI.run(["populate", "--yes", "--target", "compose"], environment: world.environment,
                                       currentDirectory: try project())
        #expect(result.status == 1)
        #expect(!world.scalingo.requestLog.isEmpty, "\(result.standardError)")
    }
}

/// What `populate` would contact: the Scalingo stand-in (SCALINGO_*_URL) and a `docker` on
/// PATH that records each call and fails.
private struct PopulateWorld {
    let scalingo: ScalingoStandIn
    let calls: URL
    let environment: [String: String]

    init() throws {
        scalingo = try ScalingoStandIn()
        let bin = TestEnvironment.newProjectDirectory().appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        calls = bin.appendingPathComponent("calls")
        let docker = bin.appendingPathComponent("docker")
        try "#!/bin/sh\necho \"$*\" >> '\(calls.path)'\nexit 1\n".write(to: docker, atomically: true, encoding: .utf8)
        chmod(docker.path, 0o755)
        var environment = TestEnvironment.cliEnvironment.merging(scalingo.environment) { $1 }
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["SCALINGO_API_TOKEN"] = ScalingoStandIn.defaultAPIToken
        environment["SCALINGO_APP"] = "my-app-recette"
        self.environment = environment
    }

    func dockerCalls() throws -> [String] {
        guard FileManager.default.fileExists(atPath: calls.path) else { return [] }
        return try String(contentsOf: calls, encoding: .utf8).split(separator: "\n").map(String.init)
    }
}
