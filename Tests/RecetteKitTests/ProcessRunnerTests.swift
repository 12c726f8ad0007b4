import Foundation
import Testing
@testable import RecetteKit
@testable import RecetteWorld

@Suite struct ProcessRunnerTests {
    let runner = SubprocessRunner()

    @Test func collectsOutputAndFeedsInput() async throws {
        let result = try await runner.run(Command("tr", ["a-z", "A-Z"]), input: Data("hello\n".utf8))
        #expect(result.outputText == "HELLO\n")
        #expect(result.exitStatus == 0)
    }

    @Test func nonZeroExitIsATypedErrorWithTheStderrTail() async throws {
        do {
            try await runner.run(Command("sh", ["-c", "echo first >&2; echo 'the real cause' >&2; exit 3"]))
            Issue.record("expected a failure")
        } catch let error as ProcessError {
            guard case .failed(let command, let status, let tail) = error else { Issue.record("wrong case \(error)"); return }
            #expect(status == 3)
            #expect(tail == ["first", "the real cause"])
            #expect(command.hasPrefix("sh -c"))
            #expect(error.description.contains("exited with status 3: the real cause"))
        }
    }

    @Test func acceptedStatusesDoNotThrow() async throws {
        let result = try await runner.run(Command("sh", ["-c", "exit 3"]), input: nil, output: .discard, onStandardErrorLine: nil, acceptedExitStatuses: [0, 3])
        #expect(result.exitStatus == 3)
    }

    @Test func aMissingProgramSaysSo() async throws {
        await #expect(throws: ProcessError.self) { try await runner.run(Command("recette-no-such-program-xyz")) }
        do {
            try await runner.run(Command("recette-no-such-program-xyz"))
        } catch {
            #expect("\(error)".contains("command not found"))
        }
    }

    @Test func largeOutputOnBothPipesDoesNotDeadlock() async throws {
        // 1 MB on stderr and stdout at once: reading one pipe after the other would hang.
        let script = "head -c 1000000 /dev/zero | tr '\\0' 'e' >&2; head -c 1000000 /dev/zero | tr '\\0' 'o'"
        let result = try await runner.run(Command("sh", ["-c", script]))
        #expect(result.standardOutput.count == 1_000_000)
    }

    @Test func streamsLinesAsTheyArrive() async throws {
        let lines = LineCollector()
        _ = try await runner.run(Command("sh", ["-c", "printf 'a\\nb\\n'; echo c >&2"]), input: nil, output: .lines { lines.append($0) },
                                 onStandardErrorLine: { lines.append("err:" + $0) }, acceptedExitStatuses: [0])
        #expect(Set(lines.all) == ["a", "b", "err:c"])
    }

    @Test func secretsTravelInTheEnvironmentNotTheCommandLine() async throws {
        let command = Command("sh", ["-c", "printf %s \"$TOKEN\""], environment: ["TOKEN": "tk-us-very-secret"])
        #expect(!command.description.contains("tk-us-very-secret"))
        #expect(try await runner.output(of: command) == "tk-us-very-secret")
        #expect(Command("psql", ["postgresql://app:pw123@127.0.0.1/db"]).description == "psql postgresql://app:***@127.0.0.1/db")
    }

    @Test func cancellingTheTaskTerminatesTheChild() async throws {
        let pidFile = TestEnvironment.scratchDirectory.appendingPathComponent("recette-sleep-\(UUID().uuidString)")
        let task = Task {
            try await runner.run(Command("sh", ["-c", "echo $$ > '\(pidFile.path)'; exec sleep 60"]))
        }
        var pid: pid_t = 0
        for _ in 0..<200 where pid == 0 {
            try await Task.sleep(for: .milliseconds(25))
            pid = pid_t((try? String(contentsOf: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        }
        #expect(pid > 0)
        let start = ContinuousClock.now
        task.cancel()
        _ = await task.result
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(kill(pid, 0) != 0, "the child must be gone after cancellation")
    }
}
