/// How long to wait between attempts of a request the server asked to retry (429, 5xx):
/// exponential backoff with jitter, bounded. One policy for the Scalingo and Meilisearch
/// clients, its sleep injected so tests need not wait.
public struct RetryPolicy: Sendable {
    public var maximumAttempts: Int
    public var baseDelay: Duration
    public var maximumDelay: Duration
    public var sleep: @Sendable (Duration) async throws -> Void

    public init(maximumAttempts: Int = 5, baseDelay: Duration = .milliseconds(500), maximumDelay: Duration = .seconds(10),
                sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }) {
        self.maximumAttempts = maximumAttempts
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
        self.sleep = sleep
    }

    /// Delay before attempt `attempt + 1` (attempt counts from 1): base × 2^(attempt-1), capped,
    /// with "full jitter" so clients retrying together spread out; a Retry-After wins when given.
    public func delay(afterAttempt attempt: Int, retryAfterSeconds: Int? = nil) -> Duration {
        if let retryAfterSeconds { return min(.seconds(retryAfterSeconds), maximumDelay) }
        let exponential = baseDelay * (1 << min(attempt - 1, 16))
        let capped = min(exponential, maximumDelay)
        let milliseconds = Int(capped.components.seconds * 1000 + capped.components.attoseconds / 1_000_000_000_000_000)
        return .milliseconds(Int.random(in: milliseconds / 2...max(milliseconds / 2, milliseconds)))
    }
}
