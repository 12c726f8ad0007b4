import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct RunLockTests {
    @Test func aSecondRunIsRefusedWithTheHoldersPidAndStartTimeThenAllowedOnceReleased() throws {
        let state = TestEnvironment.newProjectDirectory().appendingPathComponent(".recette")
        let started = Date(timeIntervalSince1970: 1_795_143_600)
        let first = try RunLock.acquire(stateDirectory: state, command: "recette restore", now: started)
        do {
            _ = try RunLock.acquire(stateDirectory: state, command: "recette reset")
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)" == "another recette run holds this project's lock (pid \(getpid()), 'recette restore', started 2026-11-20T03:00:00Z); wait for it to finish or stop it, then retry")
        }
        first.release()
        let second = try RunLock.acquire(stateDirectory: state, command: "recette reset")
        second.release()
    }

    @Test func theCLIRefusesASecondRunOnTheSameProject() async throws {
        let project = TestEnvironment.newProjectDirectory()
        let held = try RunLock.acquire(stateDirectory: project.appendingPathComponent(".recette"), command: "recette restore")
        let refused = try await CLI.run(["restore", "/nonexistent/backup.tar.gz"], currentDirectory: project)
        #expect(refused.status == 1)
        #expect(refused.standardError.hasPrefix("error: another recette run holds this project's lock (pid \(getpid()), 'recette restore'"), "\(refused.standardError)")
        // A dry run takes no lock.
        let dryRun = try await CLI.run(["restore", "/nonexistent/backup.tar.gz", "--dry-run"], currentDirectory: project)
        #expect(dryRun.status == 0, "\(dryRun.standardError)")
        held.release()
        let allowed = try await CLI.run(["restore", "/nonexistent/backup.tar.gz"], currentDirectory: project)
        #expect(allowed.standardError.contains("does not exist"), "\(allowed.standardError)")
    }

    @Test func aKilledRunLeavesNoStaleLock() async throws {
        let project = TestEnvironment.newProjectDirectory()
        // A process that takes the lock the way recette does, then dies by SIGKILL.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["flock", "--no-fork", "--exclusive", project.appendingPathComponent(".recette/lock").path, "sleep", "60"]
        try FileManager.default.createDirectory(at: project.appendingPathComponent(".recette"), withIntermediateDirectories: true)
        try holder.run()
        var refused = false
        for _ in 0..<100 where !refused {
            try await Task.sleep(for: .milliseconds(20))
            refused = (try? RunLock.acquire(stateDirectory: project.appendingPathComponent(".recette"), command: "probe"))?.release() == nil
        }
        #expect(refused, "the lock was not taken by the holder")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let lock = try RunLock.acquire(stateDirectory: project.appendingPathComponent(".recette"), command: "after")
        lock.release()
    }
}
