import Foundation
import StandIns
import Testing
@testable import RecetteKit

/// `recette populate` on a real Docker engine.
@Suite(.enabled(if: dockerShouldRun, "no Docker engine answers (scripts/install-test-prereqs.sh sets one up)"))
struct PopulateComposeTests {
    @Test func aDryRunOnAnExistingComposeDatabaseChangesNothing() async throws {
        let sample = try await SampleCache.shared.sample()
        let stack = ComposeTestStack()
        defer { stack.down() }
        let project = try ComposeProject.configured(by: stack.context())
        try await project.up(services: ["db"], wait: true, timeout: .seconds(180))
        try await project.waitUntilReady(service: "db", timeout: .seconds(60))
        let before = try await stack.snapshot()

        let result = try await CLI.run(["populate", "--dry-run", "--backup", sample.archive.path, "--target", "compose", "--project-dir", stack.directory.path],
                                       environment: stack.cliEnvironment())
        #expect(result.status == 0, "\(result.standardError)")
        // The plan names what would be destroyed and the concrete commands.
        #expect(result.standardOutput.contains("\(stack.name)_db-data"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("docker compose"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("up --detach --wait cms"), "\(result.standardOutput)")
        #expect(try await stack.snapshot() == before, "same db container, same volume, same row")
        #expect(try await stack.runningContainerIDs(["search", "cms"]).isEmpty, "nothing started")
        #expect(!FileManager.default.fileExists(atPath: stack.directory.appendingPathComponent(".recette/runs").path))
    }
}
