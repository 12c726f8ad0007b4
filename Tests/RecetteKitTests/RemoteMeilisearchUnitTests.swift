import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct RemoteMeilisearchUnitTests {
    static func variables(_ pairs: [String: String]) -> [ScalingoVariable] {
        pairs.map { ScalingoVariable(name: $0.key, value: Secret($0.value)) }
    }

    @Test func theFirstVariableSetWinsAndAliasesAreFollowed() throws {
        let found = try RemoteMeilisearch.pick(
            from: Self.variables(["MEILISEARCH_HOST": "https://other.example", "PLUGIN_MEILISEARCH_URL": "",
                                  "MEILISEARCH_URL": "${SCALINGO_MEILI}", "SCALINGO_MEILI": "https://meili.example:7700",
                                  "MEILISEARCH_ADMIN_KEY": "$MASTER", "MASTER": "k1"]),
            app: "a", urlNames: RemoteMeilisearch.urlVariables, keyNames: RemoteMeilisearch.keyVariables)
        #expect(found.url.absoluteString == "https://meili.example:7700" && found.urlName == "MEILISEARCH_URL")
        #expect(found.key.reveal() == "k1" && found.keyName == "MEILISEARCH_ADMIN_KEY")
    }

    @Test func aMissingKeyNamesTheVariablesNotTheirValues() throws {
        let error = #expect(throws: RecetteFailure.self) {
            try RemoteMeilisearch.pick(from: Self.variables(["PLUGIN_MEILISEARCH_URL": "https://meili.example", "SECRET_THING": "s3cr3t-value"]),
                                       app: "a", urlNames: RemoteMeilisearch.urlVariables, keyNames: RemoteMeilisearch.keyVariables)
        }
        let text = error?.description ?? ""
        #expect(text.contains("app 'a' has no Meilisearch key") && text.contains("it has PLUGIN_MEILISEARCH_URL, SECRET_THING")
                && text.contains("RECETTE_APP_MEILISEARCH_KEY_VARIABLE"), "\(text)")
        #expect(!text.contains("s3cr3t-value") && !text.contains("meili.example"))
    }

    @Test func aURLThatIsNotThisMachineIsGuardedAndNeverCarriesAKey() async throws {
        // Fail-closed HTTP: naming a URL asks nobody anything.
        let context = try TestEnvironment.context(environment: ["RECETTE_REMOTE_MEILISEARCH_API_KEY": "rk-1"])
        let far = try await RemoteMeilisearch.resolve(.url("https://meili.recette.invalid:7700"), context: context)
        #expect(!far.isOnThisMachine && far.host == "meili.recette.invalid")
        let refusal = #expect(throws: RecetteFailure.self) { try far.confirmReplacing(["a", "b"], prompt: .unanswered, assumeYes: false) }
        #expect(refusal?.description.contains("refusing to replace index(es) a, b on meili.recette.invalid (named by --meilisearch-url; not this machine)") == true,
                "\(refusal?.description ?? "")")
        try far.confirmReplacing(["a", "b"], prompt: .unanswered, assumeYes: true)
        let near = try await RemoteMeilisearch.resolve(.url("http://127.0.0.1:7700"), context: context)
        #expect(near.isOnThisMachine)
        try near.confirmReplacing(["a"], prompt: .unanswered, assumeYes: false)
        await #expect(throws: RecetteFailure.self) { try await RemoteMeilisearch.resolve(.url("http://u:secret@127.0.0.1:7700"), context: context) }
        await #expect(throws: RecetteFailure.self) { try await RemoteMeilisearch.resolve(.url("ftp://127.0.0.1"), context: context) }
        #expect(throws: RecetteFailure.self) { try MeilisearchChoice.from(app: "a", url: "http://127.0.0.1") }
    }

    /// Meilisearch's own errors name where the Meilisearch's URL and key came from: the
    /// app's variables, RECETTE_REMOTE_MEILISEARCH_API_KEY, the compose file; not
    /// PLUGIN_MEILISEARCH_API_KEY, which none of them read. Every reply is scripted (no network).
    @Test func meilisearchErrorsNameWhereTheKeyCameFrom() async throws {
        let meilisearch: @Sendable (URLRequest) -> (Int, String)? = { request in
            switch request.url?.path {
            case "/indexes/no-key": (401, #"{"message":"The Authorization header is missing.","code":"missing_authorization_header"}"#)
            case "/indexes/wrong-key": (403, #"{"message":"The provided API key is invalid.","code":"invalid_api_key"}"#)
            case "/indexes/not-meilisearch": (200, "<html>a router's page</html>")
            default: nil
            }
        }
        func errors(of client: MeilisearchClient) async -> [String] {
            var texts: [String] = []
            for uid in ["no-key", "wrong-key", "not-meilisearch"] {
                do { _ = try await client.index(uid); Issue.record("\(uid) answered") } catch { texts.append("\(error)") }
            }
            return texts
        }

        let byURL = try TestEnvironment.context(environment: ["RECETTE_REMOTE_MEILISEARCH_API_KEY": "rk-remote-1"],
                                                http: HTTPErrorBodyTests.ScriptedTransport(reply: meilisearch))
        let named = try await errors(of: RemoteMeilisearch.resolve(.url("http://127.0.0.1:7700"), context: byURL).client)
        #expect(named[0].contains("(named by --meilisearch-url) wants an API key (read index no-key): check RECETTE_REMOTE_MEILISEARCH_API_KEY"), "\(named[0])")
        #expect(named[1].contains("refused the API key (invalid_api_key: The provided API key is invalid.) while trying to read index wrong-key: check RECETTE_REMOTE_MEILISEARCH_API_KEY"), "\(named[1])")
        #expect(named[2].contains("(named by --meilisearch-url) sent a reply recette cannot read (index not-meilisearch): is --meilisearch-url a Meilisearch server?"), "\(named[2])")

        let scalingo: @Sendable (URLRequest) -> (Int, String)? = { request in
            switch request.url?.path {
            case "/v1/tokens/exchange": (200, #"{"token": "bearer-1"}"#)
            case "/v1/apps/cms-recette/variables":
                (200, #"{"variables": [{"name": "MEILISEARCH_URL", "value": "http://127.0.0.1:7700"}, {"name": "MEILISEARCH_ADMIN_KEY", "value": "ak-app-2"}]}"#)
            default: meilisearch(request)
            }
        }
        let ofApp = try TestEnvironment.context(environment: ["SCALINGO_API_TOKEN": "tk-us-1", "SCALINGO_AUTH_URL": "http://127.0.0.1:9",
                                                              "SCALINGO_API_URL": "http://127.0.0.1:9", "SCALINGO_DB_URL": "http://127.0.0.1:9"],
                                                http: HTTPErrorBodyTests.ScriptedTransport(reply: scalingo))
        let app = try await errors(of: RemoteMeilisearch.resolve(.ofApp("cms-recette"), context: ofApp).client)
        #expect(app[1].contains("(the Meilisearch of Scalingo app 'cms-recette', from its MEILISEARCH_URL) refused the API key")
                && app[1].contains("check app 'cms-recette''s MEILISEARCH_ADMIN_KEY"), "\(app[1])")
        #expect(app[2].contains("is app 'cms-recette''s MEILISEARCH_URL (or name another with RECETTE_APP_MEILISEARCH_URL_VARIABLE) a Meilisearch server?"), "\(app[2])")
        for text in named + app {
            #expect(!text.contains("PLUGIN_MEILISEARCH") && !text.contains("rk-remote-1") && !text.contains("ak-app-2"), "\(text)")
        }

        // The configured Meilisearch, its key read from the compose file's service: that is what to check.
        let detected = try Configuration.load(environment: ["PLUGIN_MEILISEARCH_URL": "http://127.0.0.1:7700"], projectDirectory: TestEnvironment.newProjectDirectory(),
                                              readingDotEnv: false, detected: [.meilisearchAPIKey: "mk-compose-3"])
        let compose = try await errors(of: MeilisearchClient.from(detected, transport: HTTPErrorBodyTests.ScriptedTransport(reply: meilisearch)))
        #expect(compose[1].contains("check the MEILI_MASTER_KEY of the compose file's Meilisearch service, or set PLUGIN_MEILISEARCH_API_KEY"), "\(compose[1])")
        #expect(!compose[1].contains("mk-compose-3"))
    }

    @Test func typedNamesConfirm() throws {
        let asked = LineCollector()
        let typed = ConfirmationPrompt(isInteractive: true) { question in asked.append(question); return "  a-b   c\n" }
        try typed.confirmByTyping("a-b c", question: "Type the names:", action: "replace a-b, c", assumeYes: false)
        #expect(asked.all == ["Type the names:"])
        let wrong = ConfirmationPrompt(isInteractive: true) { _ in "y" }
        #expect(throws: RecetteFailure.self) { try wrong.confirmByTyping("a-b c", question: "Type:", action: "replace", assumeYes: false) }
        let nobody = ConfirmationPrompt(isInteractive: false) { _ in Issue.record("asked without a terminal"); return "a-b c" }
        let refusal = #expect(throws: RecetteFailure.self) { try nobody.confirmByTyping("a-b c", question: "Type:", action: "replace a-b", assumeYes: false) }
        #expect(refusal?.description.contains("refusing to replace a-b") == true && refusal?.description.contains("pass --yes") == true)
        try nobody.confirmByTyping("a-b c", question: "Type:", action: "replace", assumeYes: true)
    }

    @Test func theSettingsFileKeepsEveryValueAsItWas() throws {
        let settings = try JSONSerialization.data(withJSONObject: [
            "filterableAttributes": ["a.b", "c"], "distinctAttribute": NSNull(), "stopWords": [String](),
            "synonyms": ["1": ["one"], "null": ["nothing"]], "typoTolerance": ["enabled": true, "minWordSizeForTypos": ["oneTypo": 5]],
            "searchCutoffMs": 1500, "rankingRules": ["words", "typo"], "dictionary": ["\"quoted\": yes", "# not a comment"],
        ] as [String: Any], options: [.sortedKeys])
        let text = try SearchSettingsFile.render(["true": Data("{}".utf8), "offre-de-stage": settings], header: ["from a test", "second line"])
        #expect(text.hasPrefix("# from a test\n# second line\nsearch:\n  settings:\n"))
        let parsed = try SearchSettingsFile.parse(yaml: text, path: "x.yml", origin: "x.yml")
        #expect(Set(parsed.keys) == ["true", "offre-de-stage"])
        let back = try #require(parsed["offre-de-stage"]).json
        #expect(try JSONSerialization.jsonObject(with: back) as? NSDictionary == JSONSerialization.jsonObject(with: settings) as? NSDictionary)
        // And through the configuration: recette.yml's search.settings win over the pulled file.
        let directory = TestEnvironment.newProjectDirectory()
        try text.write(to: directory.appendingPathComponent(SearchSettingsFile.fileName), atomically: true, encoding: .utf8)
        try "search:\n  settings:\n    offre-de-stage: {searchCutoffMs: 10}\n".write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
        let configuration = try Configuration.load(environment: [:], projectDirectory: directory, readingDotEnv: false)
        #expect(configuration.searchSettings["offre-de-stage"] == SearchSettingsFile.Entry(json: Data(#"{"searchCutoffMs":10}"#.utf8), origin: "recette.yml"))
        #expect(configuration.searchSettings["true"]?.origin == SearchSettingsFile.fileName)
        #expect(configuration.filesRead.contains(SearchSettingsFile.fileName))
    }
}
