import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import RecetteKit
@testable import RecetteWorld

/// The tests' default context fails closed: what a test did not give it, it cannot reach.
@Suite struct TestContextTests {
    @Test func aContextGivenNothingRunsNoProcessAndSendsNoRequest() async throws {
        let context = try TestEnvironment.context()
        await #expect(throws: FailClosedRunner.Refused.self) { try await context.runner.run(Command("true", [])) }
        let request = URLRequest(url: URL(string: "http://127.0.0.1:9/")!)
        await #expect(throws: FailClosedRunner.Refused.self) { _ = try await context.http.send(request) }
        await #expect(throws: FailClosedRunner.Refused.self) {
            _ = try await context.http.stream(request, onResponse: { _ in }, onChunk: { _ in })
        }
    }

    @Test func aContextGivenNothingSeesNoneOfThisProcessEnvironment() throws {
        let context = try TestEnvironment.context(environment: ["RECETTE_DATABASE": "given"])
        #expect(context.environment["PATH"] == nil && context.environment["HOME"] == nil)
        #expect(context.configuration[.localDatabase] == "given")
        #expect(!context.prompt.isInteractive, "nobody answers a prompt: only --yes confirms")
    }
}
