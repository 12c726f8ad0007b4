import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// Destructive commands ask first on a terminal, and need --yes anywhere else.
@Suite struct ConfirmationPromptTests {
    @Test func withoutATerminalOnlyYesGoesAhead() throws {
        let prompt = ConfirmationPrompt(isInteractive: false) { _ in Issue.record("asked without a terminal"); return "y" }
        let error = #expect(throws: RecetteFailure.self) { try prompt.confirm("Delete?", action: "delete volume shop_db-data", assumeYes: false) }
        #expect(error?.description.contains("pass --yes") == true)
        #expect(error?.description.contains("shop_db-data") == true)
        try prompt.confirm("Delete?", action: "delete volume shop_db-data", assumeYes: true)
    }

    @Test func onATerminalTheAnswerDecides() throws {
        let asked = LineCollector()
        let yes = ConfirmationPrompt(isInteractive: true) { question in asked.append(question); return " Yes\n" }
        try yes.confirm("Delete volume shop_db-data?", action: "delete volume shop_db-data", assumeYes: false)
        #expect(asked.all == ["Delete volume shop_db-data?"])
        let no = ConfirmationPrompt(isInteractive: true) { _ in "" }
        #expect(throws: RecetteFailure.self) { try no.confirm("Delete?", action: "delete", assumeYes: false) }
        let closed = ConfirmationPrompt(isInteractive: true) { _ in nil }
        #expect(throws: RecetteFailure.self) { try closed.confirm("Delete?", action: "delete", assumeYes: false) }
    }
}
