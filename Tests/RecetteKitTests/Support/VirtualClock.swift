import Synchronization
@testable import RecetteWorld

/// A clock for `Polling` that moves only when a poll sleeps on it: a whole schedule of
/// pauses runs at once, and the test reads back which pauses were asked for.
final class VirtualClock: Sendable {
    private let origin = ContinuousClock.now
    private let state = Mutex<(elapsed: Duration, sleeps: [Duration])>((.zero, []))

    var sleeps: [Duration] { state.withLock { $0.sleeps } }

    func polling(first: Duration, longest: Duration) -> Polling {
        Polling(first: first, longest: longest,
                sleep: { [self] pause in
                    try Task.checkCancellation()
                    state.withLock { $0.elapsed += pause; $0.sleeps.append(pause) }
                },
                now: { [self] in origin + state.withLock { $0.elapsed } })
    }
}
