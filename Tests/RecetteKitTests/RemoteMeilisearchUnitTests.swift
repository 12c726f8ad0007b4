import Foundation
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
