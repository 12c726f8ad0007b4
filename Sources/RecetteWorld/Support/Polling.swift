/// How a wait for readiness polls: an attempt, then a pause that doubles from `first` up to
/// `longest`, until a deadline. The sleep and the clock are injected, so a test drives the
/// schedule without waiting (`sleep` advancing the `now` it gives).
package struct Polling: Sendable {
    package var first: Duration
    package var longest: Duration
    package var sleep: @Sendable (Duration) async throws -> Void
    package var now: @Sendable () -> ContinuousClock.Instant

    package init(first: Duration, longest: Duration,
                 sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
                 now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.first = first
        self.longest = longest
        self.sleep = sleep
        self.now = now
    }

    /// Calls `attempt` until it gives a value and returns it; nil once the next pause would
    /// end past `deadline` (the caller names what never came). An error `attempt` throws, or
    /// the task's cancellation, ends the poll at once.
    package func poll<Value>(until deadline: ContinuousClock.Instant, _ attempt: () async throws -> Value?) async throws -> Value? {
        var delay = first
        while true {
            try Task.checkCancellation()
            if let value = try await attempt() { return value }
            if now() + delay > deadline { return nil }
            try await sleep(delay)
            delay = min(delay * 2, longest)
        }
    }

    package func poll<Value>(timeout: Duration, _ attempt: () async throws -> Value?) async throws -> Value? {
        try await poll(until: now() + timeout, attempt)
    }
}
