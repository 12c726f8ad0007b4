import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct DotEnvTests {
    private func parse(_ text: String) throws -> [String: String] {
        Dictionary(try DotEnv.parse(text).map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
    }

    @Test func readsWhatTodaysXargsScriptBreaksOn() throws {
        let values = try parse("""
            # Scalingo
            export SCALINGO_APP=my-app
            SCALINGO_API_TOKEN="tk-us-abc def"
            ADDON_NAME='postgresql'   # the addon
            APP_NAME=Mon application de recette
            WITH_HASH=abc#def
            EMPTY=

               INDENTED = spaced value  # comment
            """)
        #expect(values["SCALINGO_APP"] == "my-app")
        #expect(values["SCALINGO_API_TOKEN"] == "tk-us-abc def")
        #expect(values["ADDON_NAME"] == "postgresql")
        #expect(values["APP_NAME"] == "Mon application de recette")
        #expect(values["WITH_HASH"] == "abc#def")
        #expect(values["EMPTY"] == "")
        #expect(values["INDENTED"] == "spaced value")
        #expect(values.count == 7)
    }

    @Test func doubleQuotesUnescapeAndSingleQuotesAreLiteral() throws {
        let values = try parse(#"""
            A="line1\nline2 \"quoted\" \$HOME"
            B='no \n escape $HOME'
            C="it's"
            """#)
        #expect(values["A"] == "line1\nline2 \"quoted\" $HOME")
        #expect(values["B"] == #"no \n escape $HOME"#)
        #expect(values["C"] == "it's")
    }

    @Test func quotedValuesMaySpanLines() throws {
        let values = try parse("""
            KEY="-----BEGIN KEY-----
            abc
            -----END KEY-----"
            NEXT=1
            """)
        #expect(values["KEY"] == "-----BEGIN KEY-----\nabc\n-----END KEY-----")
        #expect(values["NEXT"] == "1")
    }

    @Test func windowsLineEndings() throws {
        #expect(try parse("A=1\r\nB=\"2\"\r\n") == ["A": "1", "B": "2"])
    }

    /// A token pasted without its name is a malformed line: the error names the line, and
    /// quotes nothing of it.
    @Test func errorsNeverQuoteTheLine() throws {
        let error = try #require(throws: DotEnv.ParseError.self) { try DotEnv.parse("A=1\ntk-us-0123456789abcdef\n") }
        #expect(error.line == 2)
        #expect(!error.description.contains("tk-us"), "\(error)")
        let unclosed = try #require(throws: DotEnv.ParseError.self) { try DotEnv.parse("TOKEN=\"tk-us-0123456789abcdef\n") }
        #expect(!unclosed.description.contains("tk-us"), "\(unclosed)")
    }

    @Test func errorsNameTheLine() {
        #expect(throws: DotEnv.ParseError(file: ".env", line: 2, problem: "expected KEY=VALUE (the line has no '='); fix or remove line 2")) {
            try DotEnv.parse("A=1\nnot a pair\n")
        }
        #expect(throws: DotEnv.ParseError.self) { try DotEnv.parse("A=\"never closed\nB=2\n") }
        #expect(throws: DotEnv.ParseError.self) { try DotEnv.parse("1BAD=x") }
        #expect(throws: DotEnv.ParseError.self) { try DotEnv.parse("A=\"x\" trailing") }
    }
}
