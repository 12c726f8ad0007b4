import Testing
@testable import RecetteWorld

/// The one poll of recette's waits (compose readiness, CMS health, Meilisearch settling),
/// driven by a virtual clock: nothing here sleeps for real.
@Suite(.timeLimit(.minutes(1))) struct PollingTests {
    @Test func pausesDoubleUpToTheLongestUntilAnAttemptGivesAValue() async throws {
        let clock = VirtualClock()
        var attempts = 0
        let value = try await clock.polling(first: .milliseconds(100), longest: .milliseconds(500)).poll(timeout: .seconds(60)) { () -> String? in
            attempts += 1
            return attempts == 6 ? "ready" : nil
        }
        #expect(value == "ready")
        #expect(clock.sleeps == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
    }

    @Test func givesNilOnceTheNextPauseWouldEndPastTheDeadline() async throws {
        let clock = VirtualClock()
        var attempts = 0
        let value = try await clock.polling(first: .seconds(1), longest: .seconds(4)).poll(timeout: .seconds(10)) { () -> Int? in
            attempts += 1
            return nil
        }
        #expect(value == nil)
        // 1 + 2 + 4 = 7 s slept; the next 4 s pause would end at 11 s, past the 10 s deadline.
        #expect(clock.sleeps == [.seconds(1), .seconds(2), .seconds(4)])
        #expect(attempts == 4, "one attempt before each pause and one after the last")
    }

    @Test func anErrorOfAnAttemptEndsThePollAtOnce() async throws {
        struct Stopped: Error {}
        let clock = VirtualClock()
        var attempts = 0
        await #expect(throws: Stopped.self) {
            _ = try await clock.polling(first: .milliseconds(10), longest: .seconds(1)).poll(timeout: .seconds(60)) { () -> Int? in
                attempts += 1
                if attempts == 3 { throw Stopped() }
                return nil
            }
        }
        #expect(attempts == 3)
        #expect(clock.sleeps.count == 2)
    }

    @Test func aCancelledTaskStopsPolling() async throws {
        let clock = VirtualClock()
        let polling = clock.polling(first: .milliseconds(10), longest: .seconds(1))
        let attempts = LockedValue(0)
        // Cancelled during its first attempt, as Ctrl-C would: no second attempt follows.
        let task = Task {
            try await polling.poll(timeout: .seconds(3600)) { () -> Int? in
                attempts.mutate { $0 += 1 }
                withUnsafeCurrentTask { $0?.cancel() }
                return nil
            }
        }
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(attempts.get() == 1)
    }
}
