import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// `recette search parity`: recette's documents against a reference index, on the Meilisearch
/// stand-in (the same one, or another on another loopback port).
@Suite struct SearchParityTests {
    /// An offer as recette's generated query gives it; `edit` plants a difference.
    static func offer(_ id: Int, _ edit: (inout [String: Any]) -> Void = { _ in }) -> [String: Any] {
        var document: [String: Any] = [
            "_meilisearch_id": "offre-\(id)", "id": id, "title": "Offre \(id)", "remuneration": 500.5,
            "localisation": ["ville": "Paris", "codePostal": "75001"], "competences": [["nom": "Swift"], ["nom": "SQL"]],
        ]
        edit(&document)
        return document
    }

    /// Fills an index of the stand-in (waiting for the task).
    static func fill(_ meilisearch: MeilisearchStandIn, _ uid: String, _ documents: [[String: Any]]) async throws {
        try await fill(meilisearch, uid, lines: try documents.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) })
    }

    /// Fills an index with documents written as JSON text.
    static func fill(_ meilisearch: MeilisearchStandIn, _ uid: String, lines: [String]) async throws {
        let client = MeilisearchClient(baseURL: meilisearch.baseURL, apiKey: meilisearch.masterKey.map(Secret.init), transport: URLSessionTransport())
        try await client.wait(for: try await client.createIndex(uid, primaryKey: "_meilisearch_id"))
        let ndjson = Data(lines.map { $0 + "\n" }.joined().utf8)
        try await client.wait(for: try await client.addDocuments(uid, ndjson: ndjson, primaryKey: "_meilisearch_id", gzip: false))
    }

    static func parity(_ meilisearch: MeilisearchStandIn, _ arguments: [String], environment extra: [String: String] = [:]) async throws -> CLIResult {
        var environment = TestEnvironment.cliEnvironment
        environment["PLUGIN_MEILISEARCH_URL"] = meilisearch.baseURL.absoluteString
        environment["PLUGIN_MEILISEARCH_API_KEY"] = meilisearch.masterKey
        environment["RECETTE_PARITY_MEILISEARCH_KEY"] = nil
        environment.merge(extra) { $1 }
        return try await CLI.runInProcess(["search", "parity"] + arguments, environment: environment)
    }

    @Test func jsonValuesAreComparedAsValues() throws {
        func value(_ text: String) throws -> ParityJSON { try JSONDecoder().decode(ParityJSON.self, from: Data(text.utf8)) }
        #expect(try value("500") == value("500.0"))
        #expect(try value(#"{"a":1,"b":[true,null]}"#) == value(#"{"b":[true,null],"a":1.0}"#))
        #expect(try value(#""500""#) != value("500"))
        #expect(try value("true") != value("1"))
        #expect(try value("[1,2]") != value("[2,1]"))
        #expect(try value("9007199254740993") != value("9007199254740992"), "integers stay exact")
        #expect(try value(#""500""#).typeName == "string" && value("500.5").typeName == "number")
    }

    @Test func twoEqualIndexesAreIdenticalOverSeveralPages() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        // 2,345 documents: two full pages of 1,000 and a short one.
        try await Self.fill(meilisearch, "offres", (1...2345).map { Self.offer($0) })
        // The reference, in another order, keys in another order, numbers written otherwise.
        try await Self.fill(meilisearch, "offres-plugin", lines: (1...2345).reversed().map { id in
            #"{"competences":[{"nom":"Swift"},{"nom":"SQL"}],"remuneration":500.50,"localisation":{"codePostal":"75001","ville":"Paris"},"#
                + #""title":"Offre \#(id)","id":\#(id).0,"_meilisearch_id":"offre-\#(id)"}"#
        })
        let result = try await Self.parity(meilisearch, ["--index", "offres", "--against", "offres-plugin"])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("2345 documents compared, identical"), "\(result.standardOutput)")
    }

    @Test func plantedDifferencesAreEachReportedAndExitOne() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let recette: [[String: Any]] = [
            Self.offer(1),
            Self.offer(2) { $0["remuneration"] = "500.5" },               // a decimal sent as a string
            Self.offer(3) { $0["title"] = nil },                          // a missing key
            Self.offer(4) { $0["localisation"] = ["ville": "Lyon", "codePostal": "75001"] },
            Self.offer(5) { $0["slug"] = "offre-5" },                     // a key the reference lacks
            Self.offer(7),                                                // a document the reference lacks
        ]
        try await Self.fill(meilisearch, "offres", recette)
        try await Self.fill(meilisearch, "offres-plugin", (1...6).map { Self.offer($0) })
        let result = try await Self.parity(meilisearch, ["--index", "offres", "--against", "offres-plugin"])
        #expect(result.status == 1)
        let out = result.standardOutput
        #expect(out.contains("5 documents compared, DIFFERENT"), "\(out)")
        #expect(out.contains("1 id(s) missing from recette (in the reference only): offre-6"), "\(out)")
        #expect(out.contains("1 id(s) extra in recette (not in the reference): offre-7"), "\(out)")
        #expect(out.contains(#"remuneration: type differs in 1 document(s): offre-2: recette "500.5" (string), reference 500.5 (number)"#), "\(out)")
        #expect(out.contains(#"title: key missing from recette in 1 document(s): offre-3 (reference: "Offre 3")"#), "\(out)")
        #expect(out.contains(#"slug: key extra in recette in 1 document(s): offre-5 (recette: "offre-5")"#), "\(out)")
        #expect(out.contains(#"localisation.ville: value differs in 1 document(s): offre-4: recette "Lyon" (string), reference "Paris" (string)"#), "\(out)")
        #expect(!out.contains("offre-1:") && !out.contains("offre-1 "), "an equal document shows nowhere: \(out)")
        #expect(result.lastErrorLine == "error: offres differs from offres-plugin: 1 missing, 1 extra, 2 key(s) missing or extra, 2 key(s) with other values",
                "\(result.standardError)")
        #expect(!result.standardError.contains("\n"), "one line: \(result.standardError)")
    }

    @Test func aSampleComparesTheFirstIdsInSortedOrderAndStillCountsEveryId() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        // Sorted as text: offre-1, offre-10, offre-2, …; offre-9 differs, outside the sample.
        try await Self.fill(meilisearch, "offres", (1...10).map { id in Self.offer(id) { if id == 9 || id == 10 { $0["title"] = "autre" } } })
        try await Self.fill(meilisearch, "offres-plugin", (1...11).reversed().map { Self.offer($0) })
        let result = try await Self.parity(meilisearch, ["--index", "offres", "--against", "offres-plugin", "--sample", "3"])
        #expect(result.status == 1)
        let out = result.standardOutput
        #expect(out.contains("3 documents compared (a sample: the first 3 common ids in sorted order), DIFFERENT"), "\(out)")
        #expect(out.contains("title: value differs in 1 document(s): offre-10:"), "\(out)")
        #expect(!out.contains("offre-9"), "outside the sample: \(out)")
        #expect(out.contains("1 id(s) missing from recette (in the reference only): offre-11"), "\(out)")
    }

    @Test func theReferenceOnAnotherMeilisearchIsReachedByURLWithItsOwnKey() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let other = try MeilisearchStandIn(masterKey: "reference-Key-42")
        defer { other.stop() }
        try #require(meilisearch.baseURL.port != other.baseURL.port)
        try await Self.fill(meilisearch, "offres", (1...3).map { Self.offer($0) })
        try await Self.fill(other, "offres", (1...3).map { id in Self.offer(id) { if id == 2 { $0["remuneration"] = "500.5" } } })
        let url = other.serverText + "/indexes/offres"

        let withoutKey = try await Self.parity(meilisearch, ["--index", "offres", "--against", url])
        #expect(withoutKey.status == 1)
        #expect(withoutKey.lastErrorLine.contains("the reference Meilisearch at \(other.serverText) wants an API key: set RECETTE_PARITY_MEILISEARCH_KEY"),
                "\(withoutKey.standardError)")

        let wrongKey = try await Self.parity(meilisearch, ["--index", "offres", "--against", url], environment: ["RECETTE_PARITY_MEILISEARCH_KEY": "wrong-Key-7"])
        #expect(wrongKey.lastErrorLine.contains("refused the API key") && !wrongKey.standardError.contains("wrong-Key-7"), "\(wrongKey.standardError)")

        let result = try await Self.parity(meilisearch, ["--index", "offres", "--against", url], environment: ["RECETTE_PARITY_MEILISEARCH_KEY": "reference-Key-42"])
        #expect(result.status == 1, "\(result.standardError)")
        #expect(result.standardOutput.contains(#"remuneration: type differs in 1 document(s): offre-2: recette 500.5 (number), reference "500.5" (string)"#),
                "\(result.standardOutput)")
        #expect(result.standardOutput.contains("offres on \(other.serverText) (reference"), "\(result.standardOutput)")
        #expect(!(result.standardOutput + result.standardError).contains("reference-Key-42"), "the key is never printed")
        #expect(other.requestCount(.fetchDocuments) > 0)
        #expect(other.tasks().count == 2, "the reference is only read: its tasks are the test's own (create, add)")
    }

    @Test(arguments: [
        ("offres plugin", "--against 'offres plugin' is neither an index uid (letters, digits, - and _) nor an http(s) URL: give another index's uid on the same Meilisearch, or a URL http(s)://host:port/indexes/UID"),
        ("http://127.0.0.1:7700/offres", "--against http://127.0.0.1…/offres does not name an index: give another index's uid on the same Meilisearch, or a URL http(s)://host:port/indexes/UID"),
        ("https://user:secret@127.0.0.1/indexes/offres", "--against must not carry credentials in its URL: put the key in RECETTE_PARITY_MEILISEARCH_KEY"),
        ("offres", "--against offres is --index itself: name the reference index (the plugin's, or another Meilisearch's URL)"),
    ])
    func aBadAgainstIsAOneLineErrorNamingTheFix(against: String, message: String) async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let result = try await Self.parity(meilisearch, ["--index", "offres", "--against", against])
        #expect(result.status == 1)
        #expect(result.standardError == "error: \(message)")
        #expect(meilisearch.requestCount(.fetchDocuments) == 0)
    }

    @Test func aMissingReferenceIndexIsNamed() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        try await Self.fill(meilisearch, "offres", [Self.offer(1)])
        let result = try await Self.parity(meilisearch, ["--index", "offres", "--against", "offres-plugin"])
        #expect(result.status == 1)
        #expect(result.standardError == "error: no index offres-plugin on \(meilisearch.serverText): check --against")
    }
}

extension MeilisearchStandIn {
    /// Scheme, host and port, as recette's messages show a server.
    var serverText: String { "http://127.0.0.1:\(baseURL.port ?? 0)" }
}
