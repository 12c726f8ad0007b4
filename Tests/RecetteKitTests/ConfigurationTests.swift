import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct ConfigurationTests {
    private func project(dotEnv: String? = nil, yaml: String? = nil) throws -> URL {
        let directory = TestEnvironment.scratchDirectory.appendingPathComponent("recette-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let dotEnv { try dotEnv.write(to: directory.appendingPathComponent(".env"), atomically: true, encoding: .utf8) }
        if let yaml { try yaml.write(to: directory.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8) }
        return directory
    }

    @Test func precedenceIsFlagsThenEnvironmentThenDotEnvThenFileThenDefaults() throws {
        let directory = try project(
            dotEnv: "SCALINGO_APP=from-dotenv\nADDON_NAME=from-dotenv\nSCALINGO_REGION=from-dotenv\n",
            yaml: "scalingo:\n  app: from-file\n  addon: from-file\n  region: from-file\n  db_user: file-user\n"
        )
        let configuration = try Configuration.load(
            flags: [.scalingoApp: "from-flag"],
            environment: ["SCALINGO_APP": "from-env", "ADDON_NAME": "from-env"],
            projectDirectory: directory
        )
        #expect(configuration.resolved(.scalingoApp) == ResolvedValue(value: "from-flag", source: .flag))
        #expect(configuration.resolved(.addonName) == ResolvedValue(value: "from-env", source: .environment))
        #expect(configuration.resolved(.scalingoRegion) == ResolvedValue(value: "from-dotenv", source: .dotEnv))
        #expect(configuration.resolved(.scalingoDBUser) == ResolvedValue(value: "file-user", source: .configFile))
        #expect(configuration.resolved(.target) == ResolvedValue(value: "local", source: .defaultValue))
        #expect(configuration.resolved(.scalingoApp.self) != nil)
        #expect(configuration.filesRead == [".env", "recette.yml"])
    }

    @Test func secretsAreRedactedForDisplay() throws {
        let directory = try project(dotEnv: "SCALINGO_API_TOKEN=tk-us-secret-value\nDATABASE_URL=postgresql://app:hunter2@127.0.0.1:10000/db\n")
        let configuration = try Configuration.load(environment: [:], projectDirectory: directory)
        #expect(configuration.displayValue(.scalingoAPIToken) == "*** (set)")
        #expect(configuration.displayValue(.databaseURL) == "postgresql://app:***@127.0.0.1:10000/db")
        #expect(configuration.secret(.scalingoAPIToken)?.reveal() == "tk-us-secret-value")
        #expect("\(configuration.secret(.scalingoAPIToken)!)" == "***")
    }

    @Test func aSecretInTheCommittedFileIsRefused() throws {
        let directory = try project(yaml: "scalingo:\n  api_token: tk-us-oops\n")
        #expect(throws: ConfigurationError.self) { try Configuration.load(environment: [:], projectDirectory: directory) }
    }

    @Test func aBrokenFileIsAClearError() throws {
        let directory = try project(yaml: "scalingo: [unclosed\n")
        do {
            _ = try Configuration.load(environment: [:], projectDirectory: directory)
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("recette.yml is not valid"))
        }
        let badDotEnv = try project(dotEnv: "GOOD=1\nthis line is wrong\n")
        #expect(throws: DotEnv.ParseError.self) { try Configuration.load(environment: [:], projectDirectory: badDotEnv) }
    }

    @Test func redactionHidesURLPasswordsAndSecretValues() {
        #expect(Redaction.redactingURLPasswords(in: "connect postgresql://u:p%40ss@h:5432/db now") == "connect postgresql://u:***@h:5432/db now")
        #expect(Redaction.redactingURLPasswords(in: "https://example.test/path") == "https://example.test/path")
        #expect(Redaction.redacting([Secret("tk-us-123456")], in: "token tk-us-123456 rejected") == "token *** rejected")
    }

    /// A password holding `/`, `?` or `#` unencoded ends the URL scanner's authority early: the
    /// secret's own value still says where the password is, for display and for any text.
    @Test func passwordsWithSlashesAndQuestionMarksAreHiddenToo() throws {
        let url = "postgresql://app:pa/ss?w#rd@127.0.0.1:5432/db"
        let configuration = try Configuration.load(environment: ["DATABASE_URL": url], projectDirectory: TestEnvironment.newProjectDirectory())
        #expect(configuration.displayValue(.databaseURL) == "postgresql://app:***@127.0.0.1:5432/db")
        let redacted = Redaction.redacting(configuration.secrets, in: "cannot connect to \(url): refused; password 'pa/ss?w#rd'")
        #expect(!redacted.contains("pa/ss") && !redacted.contains("ss?w"), "\(redacted)")
        // Percent-encoded in the URL, decoded in a server's message: hidden both ways.
        let encoded = Redaction.redacting([Secret("postgresql://app:p%2Fss%3Fword@h/db")], in: "auth failed for p/ss?word at postgresql://app:p%2Fss%3Fword@h/db")
        #expect(!encoded.contains("p/ss?word") && !encoded.contains("p%2Fss"), "\(encoded)")
    }
}

/// recette.yml is read before anything else: a hostile or broken one must be refused fast.
@Suite struct ConfigFileBoundsTests {
    /// Ten lists of ten aliases of the list before: `levels` levels expand to 10^levels values.
    static func aliasBomb(levels: Int) -> String {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in 1...levels {
            lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    @Test func aYAMLAliasBombIsRefusedInBoundedTime() throws {
        for levels in [6, 9] {
            let project = TestEnvironment.newProjectDirectory()
            try Self.aliasBomb(levels: levels).write(to: project.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
            let start = ContinuousClock.now
            let error = try #require(throws: ConfigurationError.self) { try Configuration.committed(projectDirectory: project) }
            // A liveness bound: an unbounded expansion of 10^9 nodes would not end at all.
            #expect(ContinuousClock.now - start < .seconds(20), "\(levels) levels")
            #expect("\(error)".contains("expands to more than"), "\(error)")
        }
    }

    @Test func anchorsAndAliasesOfOrdinarySizeStillWork() throws {
        let project = TestEnvironment.newProjectDirectory()
        try "defaults: &defaults\n  app: my-app\nscalingo: *defaults\n".write(to: project.appendingPathComponent("recette.yml"), atomically: true, encoding: .utf8)
        #expect(try Configuration.committed(projectDirectory: project)[.scalingoApp] == "my-app")
    }
}
