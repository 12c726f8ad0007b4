import Foundation
import StandIns
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// A project's own `transform` (real `node`, real PostgreSQL, the Meilisearch stand-in):
/// the sample's offre-de-stage index rebuilt through a Node script.
@Suite(.serialized, .tags(.postgres), .skippedInUnitLane) struct SearchTransformTests {
    /// Reads entries line by line and prints what `body` (JavaScript, given `entry` and its
    /// 1-based number `n`) returns: a string is printed as a line, undefined prints nothing.
    static func script(_ body: String, prelude: String = "", atEnd: String = "") -> String {
        """
        const fs = require('node:fs');
        const readline = require('node:readline');
        \(prelude)
        const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
        let n = 0;
        rl.on('line', (line) => {
          n += 1;
          const entry = JSON.parse(line);
          const out = ((entry, n) => { \(body) })(entry, n);
          if (out !== undefined) process.stdout.write(out + '\\n');
        });
        rl.on('close', () => { \(atEnd) });
        """
    }

    /// The sample's hand-written indexes with `transform: [node, transform.js]` on
    /// offre-de-stage, and `script` as transform.js.
    func project(_ meilisearch: MeilisearchStandIn, script: String, argv: String = "[node, transform.js]") async throws -> SearchProject {
        let project = try await SearchProject.make(meilisearch: meilisearch, handWritten: true)
        let file = project.directory.appendingPathComponent("recette.yml")
        let text = try String(contentsOf: file, encoding: .utf8)
        let anchor = "      content_type: api::offre-de-stage.offre-de-stage\n"
        try #require(text.contains(anchor))
        try text.replacingOccurrences(of: anchor, with: anchor + "      transform: \(argv)\n").write(to: file, atomically: true, encoding: .utf8)
        try script.write(to: project.directory.appendingPathComponent("transform.js"), atomically: true, encoding: .utf8)
        return project
    }

    /// Writes `script` as the transform, keeping the live index a plain rebuild made.
    func replaceTransform(in project: SearchProject, with script: String) throws {
        try script.write(to: project.directory.appendingPathComponent("transform.js"), atomically: true, encoding: .utf8)
    }

    static let identity = script("return JSON.stringify(entry);")

    @Test func theIndexHoldsTheTransformsOutputWithTheIdAddedBackAndNullsDropped() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        // Every tenth entry dropped; the title rewritten; what the transform saw noted at the end.
        let script = Self.script("""
            if (entry.id % 10 === 0) return 'null';
            sawKey = sawKey || ('_meilisearch_id' in entry);
            ids.push(entry.id);
            return JSON.stringify({ id: entry.id, title: 'T:' + entry.title, line: n });
            """, prelude: "let sawKey = false; const ids = [];", atEnd: """
            fs.writeFileSync('seen.json', JSON.stringify({ sawKey, cwd: process.cwd(), secret: process.env.STRAPI_ADMIN_PASSWORD ?? null,
              ordered: ids.every((id, i) => i === 0 || ids[i - 1] < id) }));
            """)
        let project = try await project(meilisearch, script: script)
        // A secret in .env is recette's to read, never the transform's.
        try "STRAPI_ADMIN_PASSWORD=never-for-the-transform\n".write(to: project.directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8)
        let connection = try PostgresConnection(url: project.databaseURL)
        // The sample's query has no ORDER BY: give it one, so that "the query's order" is known.
        let file = project.directory.appendingPathComponent("recette.yml")
        let text = try String(contentsOf: file, encoding: .utf8)
        try text.replacingOccurrences(of: "        WHERE o.published_at IS NOT NULL\n", with: "        WHERE o.published_at IS NOT NULL ORDER BY o.id\n")
            .write(to: file, atomically: true, encoding: .utf8)
        let published = try connection.query("SELECT id, title FROM offres_de_stage WHERE published_at IS NOT NULL ORDER BY id")
        let kept = zip(published.column("id"), published.column("title")).compactMap { id, title -> (id: Int, title: String)? in
            guard let id = Int(id ?? ""), id % 10 != 0 else { return nil }
            return (id, title ?? "")
        }
        let dropped = published.rows.count - kept.count
        #expect(dropped > 1_000, "the sample has ids ending in 0: \(dropped)")

        let result = try await project.recette(["reindex", "--index", "offre-de-stage"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("offre-de-stage: \(kept.count) documents"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("\(dropped) entries dropped by its transform"), "\(result.standardOutput)")
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == Set(kept.map { "offre-de-stage-\($0.id)" }))
        // Each document is the transform's, line i answering entry i, with the id set back.
        for (position, entry) in kept.enumerated() where position % 997 == 0 {
            let document = try #require(meilisearch.document("offre-de-stage-\(entry.id)", in: "offre-de-stage"))
            #expect(document["title"] as? String == "T:" + entry.title)
            #expect(document["id"] as? Int == entry.id)
            #expect(document["_meilisearch_id"] as? String == "offre-de-stage-\(entry.id)")
            #expect(Set(document.keys) == ["_meilisearch_id", "id", "title", "line"])
        }
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: project.directory.appendingPathComponent("seen.json"))) as? [String: Any])
        #expect(seen["sawKey"] as? Bool == false, "the entries reach the transform without _meilisearch_id")
        #expect(seen["ordered"] as? Bool == true, "in the query's order")
        #expect(seen["cwd"] as? String == project.directory.path)
        #expect(seen["secret"] is NSNull, "no secret from .env in its environment: \(seen)")

        // --fix would send the query's rows as they are, not the transform's documents. (The
        // dropped entries are not missing: a document that is, is.)
        let client = MeilisearchClient(baseURL: meilisearch.baseURL, apiKey: Secret(meilisearch.masterKey!), transport: URLSessionTransport())
        try await client.wait(for: try await client.deleteDocuments("offre-de-stage", ids: ["offre-de-stage-\(kept[0].id)"]))
        let status = try await project.recette(["search", "verify", "--index", "offre-de-stage", "--fix"])
        #expect(status.standardError.contains("has a transform"), "--fix would send untransformed documents: \(status.standardError)")
    }

    /// A transform that drops every tenth entry: `search status`, `search verify` and
    /// populate's check compare the index with what the rebuild produced (the rows less the
    /// dropped entries, recorded at the rebuild), not with the query's rows; a document that
    /// really went missing is still reported, and so is a dropped one the query no longer has
    /// not counted.
    @Test func entriesTheTransformDroppedAreNotMissing() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await project(meilisearch, script: Self.script("return entry.id % 10 === 0 ? 'null' : JSON.stringify(entry);"))
        let connection = try PostgresConnection(url: project.databaseURL)
        let rows = try #require(Int(try connection.query("SELECT count(*) FROM offres_de_stage WHERE published_at IS NOT NULL").scalar ?? ""))
        let dropped = try #require(Int(try connection.query("SELECT count(*) FROM offres_de_stage WHERE published_at IS NOT NULL AND id % 10 = 0").scalar ?? ""))
        try #require(dropped > 1_000)
        // Both indexes: populate's check compares every one.
        let rebuilt = try await project.recette(["reindex"])
        try #require(rebuilt.status == 0, "\(rebuilt.standardError)")
        try #require(meilisearch.documentCount(in: "offre-de-stage") == rows - dropped)

        let status = try await project.recette(["search", "status", "--index", "offre-de-stage"])
        #expect(status.status == 0, "\(status.standardOutput)\(status.standardError)")
        #expect(status.standardOutput.contains("ok (\(dropped) dropped by its transform)"), "\(status.standardOutput)")
        let verify = try await project.recette(["search", "verify", "--index", "offre-de-stage"])
        #expect(verify.status == 0, "\(verify.standardOutput)\(verify.standardError)")
        #expect(verify.standardOutput.contains("\(rows) rows in the database (\(dropped) dropped by its transform at the last rebuild), \(rows - dropped) documents in the index — in sync"),
                "\(verify.standardOutput)")
        let check = try await project.recette(["populate", "--only", "check"])
        #expect(check.status == 0, "\(check.standardOutput)\(check.standardError)")
        #expect(check.standardOutput.contains("offre-de-stage ok (\(dropped) dropped by its transform)"), "\(check.standardOutput)")

        // A dropped entry deleted from the database since is in neither side: still in sync.
        // A document that really went missing is reported, by all three.
        let gone = try #require(try connection.query("SELECT min(id) FROM offres_de_stage WHERE published_at IS NOT NULL AND id % 10 = 0").scalar)
        try connection.execute("DELETE FROM offres_de_stage_components WHERE entity_id = \(gone); DELETE FROM offres_de_stage WHERE id = \(gone)")
        let kept = try #require(try connection.query("SELECT min(id) FROM offres_de_stage WHERE published_at IS NOT NULL AND id % 10 = 1").scalar)
        let client = MeilisearchClient(baseURL: meilisearch.baseURL, apiKey: Secret(meilisearch.masterKey!), transport: URLSessionTransport())
        try await client.wait(for: try await client.deleteDocuments("offre-de-stage", ids: ["offre-de-stage-\(kept)"]))
        let short = try await project.recette(["search", "status", "--index", "offre-de-stage"])
        #expect(short.status == 1)
        #expect(short.standardOutput.contains("1 missing (\(dropped - 1) dropped by its transform)"), "\(short.standardOutput)")
        let listed = try await project.recette(["search", "verify", "--index", "offre-de-stage"])
        #expect(listed.status == 1)
        #expect(listed.standardOutput.contains("1 missing from the index: offre-de-stage-\(kept)\n"), "\(listed.standardOutput)")
        let failedCheck = try await project.recette(["populate", "--only", "check"])
        #expect(failedCheck.status == 1)
        #expect(failedCheck.standardError.contains("failed: offre-de-stage differ from the database after the rebuild"), "\(failedCheck.standardError)")

        // A rebuild without the transform forgets what it dropped.
        let file = project.directory.appendingPathComponent("recette.yml")
        try String(contentsOf: file, encoding: .utf8).replacingOccurrences(of: "      transform: [node, transform.js]\n", with: "")
            .write(to: file, atomically: true, encoding: .utf8)
        try #require(try await project.recette(["reindex", "--index", "offre-de-stage"]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: project.directory.appendingPathComponent(".recette/search/dropped").path) == [])
    }

    @Test func theREADMEsWrapperRunsTheProjectsOwnTransformEntryAndFilterEntry() async throws {
        let root = TestEnvironment.packageRoot
        let wrapper = try String(contentsOf: root.appendingPathComponent("Tests/Fixtures/transform/recette-transform.js"), encoding: .utf8)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains("```js\n" + wrapper + "```"), "the README shows the wrapper this test runs")
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await project(meilisearch, script: wrapper, argv: "[node, transform.js, offre-de-stage]")
        // A team's plugin config, as Strapi v4 projects write it.
        let config = project.directory.appendingPathComponent("config")
        try FileManager.default.createDirectory(at: config, withIntermediateDirectories: true)
        try """
            module.exports = ({ env }) => ({ meilisearch: { config: { 'offre-de-stage': {
              filterEntry({ entry }) { return entry.id % 7 !== 0; },
              async transformEntry({ entry }) {
                return { id: entry.id, label: `${entry.title} (${env('LABEL_SUFFIX', 'stage')})`, region: entry.localisation?.region, removed: undefined };
              },
            } } } });
            """.write(to: config.appendingPathComponent("plugins.js"), atomically: true, encoding: .utf8)
        let result = try await project.recette(["reindex", "--index", "offre-de-stage"])
        #expect(result.status == 0, "\(result.standardError)")
        let connection = try PostgresConnection(url: project.databaseURL)
        let rows = try connection.query("SELECT id, title FROM offres_de_stage WHERE published_at IS NOT NULL AND id % 7 <> 0 ORDER BY id")
        #expect(Set(meilisearch.documentIDs(in: "offre-de-stage")) == Set(rows.column("id").compactMap { $0.map { "offre-de-stage-\($0)" } }))
        for (id, title) in zip(rows.column("id"), rows.column("title")).prefix(50) {
            let document = try #require(meilisearch.document("offre-de-stage-\(id ?? "")", in: "offre-de-stage"))
            #expect(document["label"] as? String == "\(title ?? "") (stage)")
            #expect(document["removed"] == nil, "undefined keys are absent, as in the plugin's JSON")
            #expect(Set(document.keys).isSubset(of: ["_meilisearch_id", "id", "label", "region"]))
        }
    }

    /// Builds the live index with a working transform, then rebuilds with `failing`: the
    /// rebuild must fail with `expected` in its last line and leave the live index as it was.
    private func expectLiveIndexSurvives(_ failing: String, expected: [String], extra: [String: String] = [:]) async throws -> (SearchProject, CLIResult) {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await project(meilisearch, script: Self.identity)
        let first = try await project.recette(["reindex", "--index", "offre-de-stage"])
        try #require(first.status == 0, "\(first.standardError)")
        let before = meilisearch.rawDocuments(in: "offre-de-stage")
        #expect(before.count > 20_000)
        try replaceTransform(in: project, with: failing)
        let failed = try await project.recette(["reindex", "--index", "offre-de-stage"], extra)
        #expect(failed.status == 1)
        let last = failed.standardError.split(separator: "\n").last.map(String.init) ?? ""
        for part in expected {
            #expect(last.contains(part), "\(part) in: \(failed.standardError.suffix(3000))")
        }
        #expect(last.contains("the live index was left as it was"), "\(last)")
        _ = await meilisearch.waitUntilIdle()
        #expect(meilisearch.rawDocuments(in: "offre-de-stage") == before, "live index unchanged")
        #expect(meilisearch.indexUIDs() == ["offre-de-stage"], "the unfinished index was removed")
        return (project, failed)
    }

    @Test func aTransformThatCrashesAtEntry12001FailsWithItsStandardError() async throws {
        _ = try await expectLiveIndexSurvives(Self.script("""
            if (n === 12001) { console.error('cannot shape entry ' + n + ' (id ' + entry.id + ')'); process.exit(3); }
            return JSON.stringify(entry);
            """), expected: ["the transform `node transform.js` exited with status 3 after ", "its standard error ended: cannot shape entry 12001"])
    }

    @Test func aTransformThatPrintsGarbageFailsNamingTheLine() async throws {
        _ = try await expectLiveIndexSurvives(Self.script("""
            if (n === 5) { console.error('debug: about to print garbage'); return 'offre ' + entry.id + ' {broken'; }
            return JSON.stringify(entry);
            """), expected: ["printed a line that is not JSON (line 5, unexpected 'o' at byte 1): offre ", "debug: about to print garbage"])
    }

    @Test func aTransformThatPrintsOneLineTooFewFails() async throws {
        _ = try await expectLiveIndexSurvives(Self.script("""
            if (n === 7) return undefined;
            return JSON.stringify(entry);
            """), expected: ["line(s) for", "entries: it must print one per entry"])
    }

    @Test func aTransformThatHangsIsKilledWithItsChildrenAfterTheDeadline() async throws {
        // It reads on but stops printing after 100 entries, with a child of its own; both pids noted.
        let script = Self.script("""
            if (n > 100) return undefined;
            return JSON.stringify(entry);
            """, prelude: """
            const child = require('node:child_process').spawn('sleep', ['600'], { stdio: 'ignore' });
            fs.writeFileSync('pids', process.pid + ' ' + child.pid);
            setInterval(() => {}, 1000);
            """)
        let clock = ContinuousClock()
        let started = clock.now
        let (project, _) = try await expectLiveIndexSurvives(script, expected: ["printed nothing for", "RECETTE_TRANSFORM_TIMEOUT"],
                                                             extra: ["RECETTE_TRANSFORM_TIMEOUT": "2"])
        #expect(clock.now - started < .seconds(300), "the deadline, not the default")
        let pids = try String(contentsOf: project.directory.appendingPathComponent("pids"), encoding: .utf8).split(separator: " ").compactMap { pid_t($0) }
        try #require(pids.count == 2)
        for pid in pids {
            #expect(try await Self.isGone(pid), "process \(pid) was killed")
        }
    }

    /// Whether `pid` no longer exists within 10 s: reaped by recette (the transform), or
    /// adopted and reaped by init (its child, or the transform of a recette that exited).
    static func isGone(_ pid: pid_t) async throws -> Bool {
        for _ in 0..<100 {
            if kill(pid, 0) != 0 && errno == ESRCH { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    @Test func aTransformWhoseProgramIsMissingFailsBeforeTouchingMeilisearch() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await project(meilisearch, script: Self.identity, argv: "[no-such-transform-program, transform.js]")
        let result = try await project.recette(["reindex"])
        #expect(result.status == 1)
        let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("index offre-de-stage: its transform's program 'no-such-transform-program' is not on PATH"), "\(result.standardError)")
        #expect(meilisearch.indexUIDs().isEmpty && meilisearch.requestCount(.createIndex) == 0, "no index was made, not even the other one")
    }

    @Test func withAnotherPrimaryKeyEachDocumentMustCarryIt() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        let project = try await project(meilisearch, script: Self.script("""
            if (n === 3) delete entry._meilisearch_id_of_ours;
            return JSON.stringify(entry);
            """))
        let file = project.directory.appendingPathComponent("recette.yml")
        let text = try String(contentsOf: file, encoding: .utf8)
        // The first primary_key line is offre-de-stage's.
        let range = try #require(text.range(of: "      primary_key: _meilisearch_id\n"))
        try text.replacingCharacters(in: range, with: "      primary_key: _meilisearch_id_of_ours\n")
            .replacingOccurrences(of: "SELECT 'offre-de-stage-' || o.id AS _meilisearch_id,", with: "SELECT 'offre-de-stage-' || o.id AS _meilisearch_id_of_ours,")
            .write(to: file, atomically: true, encoding: .utf8)
        let result = try await project.recette(["reindex", "--index", "offre-de-stage"])
        #expect(result.status == 1)
        let last = result.standardError.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.contains("printed a document without '_meilisearch_id_of_ours', the index's primary key (line 3)"), "\(result.standardError)")
        _ = await meilisearch.waitUntilIdle()
        #expect(meilisearch.indexUIDs().isEmpty, "nothing left behind")
    }

    @Test func ctrlCDuringATransformedRebuildKillsTheTransform() async throws {
        let meilisearch = try MeilisearchStandIn()
        defer { meilisearch.stop() }
        // It hangs after 100 entries: recette is waiting for it when the signal comes.
        let project = try await project(meilisearch, script: Self.script("""
            if (n > 100) return undefined;
            return JSON.stringify(entry);
            """, prelude: "fs.writeFileSync('pids', String(process.pid)); setInterval(() => {}, 1000);"))
        let (process, errors) = try CLI.launch(["reindex", "--index", "offre-de-stage", "--project-dir", project.directory.path, "--no-progress"],
                                               environment: project.environment())
        let pidFile = project.directory.appendingPathComponent("pids")
        for _ in 0..<600 where !FileManager.default.fileExists(atPath: pidFile.path) { try await Task.sleep(for: .milliseconds(50)) }
        let pid = try #require(pid_t(try String(contentsOf: pidFile, encoding: .utf8)))
        try await Task.sleep(for: .milliseconds(500))
        kill(process.processIdentifier, SIGINT)
        for _ in 0..<600 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        let stillRunning = process.isRunning
        if stillRunning { process.terminate() }
        process.waitUntilExit()
        #expect(!stillRunning, "recette stopped within 30 s of Ctrl-C")
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(try await Self.isGone(pid), "the transform was killed with recette's run")
        _ = await meilisearch.waitUntilIdle()
        #expect(meilisearch.indexUIDs().isEmpty, "the unfinished index was removed: \(stderr)")
    }
}

@Suite struct TransformUnitTests {
    func scan(_ text: String, key: String? = "_meilisearch_id") throws -> JSONLineScanner.Scan {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBytes { try JSONLineScanner.scan($0, findingKey: key.map { Array($0.utf8) }) }
    }

    func removing(_ text: String) throws -> String {
        let scanned = try scan(text)
        let member = try #require(scanned.member)
        var bytes = Array(text.utf8)
        bytes.removeSubrange(member.removal)
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test func theScannerJudgesEveryKindOfLine() throws {
        #expect(try scan("null").kind == .null)
        #expect(try scan(" {\"a\": [1, -2.5e3, true, false, null, \"x\\u00e9\\n\"], \"b\": {\"c\": {}}} ").kind == .object)
        #expect(try scan("[1]").kind == .other("an array"))
        #expect(try scan("\"s\"").kind == .other("a string"))
        #expect(try scan("12").kind == .other("a number"))
        for bad in ["", "{", "{\"a\":}", "{\"a\":1,}", "{a:1}", "nul", "{\"a\":01}", "{\"a\":1} x", "{\"a\":\"\u{1}\"}", "{\"a\":\"\\q\"}", "{\"a\":1.}",
                    String(repeating: "[", count: 600) + String(repeating: "]", count: 600)] {
            #expect(throws: JSONLineScanner.Failure.self, "\(bad.prefix(20))") { _ = try scan(bad) }
        }
    }

    @Test func theKeyIsFoundAtTheTopLevelOnlyAndCutWithOneComma() throws {
        #expect(try removing(#"{"_meilisearch_id":"m-1","id":1}"#) == #"{"id":1}"#)
        #expect(try removing(#"{"id":1, "_meilisearch_id" : "m-1"}"#) == #"{"id":1}"#)
        #expect(try removing(#"{"a":1,"_meilisearch_id":2,"b":3}"#) == #"{"a":1,"b":3}"#)
        #expect(try removing(#"{"_meilisearch_id":{"x":[1]}}"#) == "{}")
        let nested = try scan(#"{"a":{"_meilisearch_id":1}}"#)
        #expect(nested.member == nil && nested.otherMembers)
        let only = try scan(#"{"_meilisearch_id":1}"#)
        #expect(only.member != nil && !only.otherMembers)
    }

    @Test func aLeadingKeyIsCutWithoutReadingTheRest() throws {
        func cut(_ text: String) throws -> String? {
            var bytes = Array(text.utf8)
            let member = try bytes.withUnsafeBytes { try JSONLineScanner.leadingMember(of: $0, key: Array("_meilisearch_id".utf8)) }
            guard let member else { return nil }
            bytes.removeSubrange(member.removal)
            return String(decoding: bytes, as: UTF8.self)
        }
        #expect(try cut(#"{"_meilisearch_id":"m-1","id":1}"#) == #"{"id":1}"#)
        #expect(try cut(#"{"_meilisearch_id":"m-1"}"#) == "{}")
        // Not first, or another key that starts alike: the whole scan decides.
        #expect(try cut(#"{"id":1,"_meilisearch_id":"m-1"}"#) == nil)
        #expect(try cut(#"{"_meilisearch_id_2":1}"#) == nil)
        #expect(throws: JSONLineScanner.Failure.self) { _ = try cut(#"{"_meilisearch_id":"m-1}"#) }
    }

    @Test func aTransformMustBeANonEmptyListOfStrings() throws {
        func parse(_ value: String) throws -> [SearchIndexDefinition] {
            try SearchIndexDefinition.parse(yaml: "search:\n  indexes:\n    - uid: a\n      query: SELECT 1\n      transform: \(value)\n", path: "recette.yml")
        }
        #expect(try parse("[node, scripts/t.js]").first?.transform == ["node", "scripts/t.js"])
        for bad in ["[]", "node t.js", "[node, 3]", "['', t.js]", "{a: b}"] {
            #expect(throws: ConfigurationError.self, "\(bad)") { _ = try parse(bad) }
        }
    }
}
