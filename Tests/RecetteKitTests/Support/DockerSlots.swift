import Foundation
import Testing

/// At most a few Docker tests at a time, across every suite.
///
/// Swift Testing runs every suite at once; each Docker test starts its own compose project (a
/// fresh `initdb` in a container, a restore, a CMS stand-in). Twenty of them together on a 2-core
/// machine kept the load near 60, and containers then missed their health deadlines: tests
/// failed on the machine's load, not on recette. Each Docker suite carries `.dockerSlot`, so
/// each of its test cases waits for one of `RECETTE_TEST_DOCKER_SLOTS` slots (2 by default)
/// and holds it while it runs.
struct DockerSlot: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // The suite itself and a parameterised test's outer scope take no slot: its cases do.
        guard testCase != nil else { return try await function() }
        await DockerSlots.shared.acquire()
        do {
            try await function()
        } catch {
            await DockerSlots.shared.release()
            throw error
        }
        await DockerSlots.shared.release()
    }
}

extension Trait where Self == DockerSlot {
    /// Runs each test case while holding one of the run's Docker slots (see `DockerSlot`).
    static var dockerSlot: Self { DockerSlot() }
}

/// A counting semaphore for async code, first come first served.
actor DockerSlots {
    static let shared = DockerSlots(count: {
        let text = ProcessInfo.processInfo.environment["RECETTE_TEST_DOCKER_SLOTS"] ?? ""
        return Int(text).map { max(1, $0) } ?? 2
    }())

    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            // The slot passes straight to the next waiter.
            waiting.removeFirst().resume()
        }
    }
}
