import Foundation

/// Turns SIGINT and SIGTERM into cancellation of the running work.
///
/// Cancelling the task makes every running child get SIGTERM, then SIGKILL after a grace
/// period (see `SubprocessRunner`); the command then exits 130. A second signal exits at once.
public final class InterruptHandler: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []
    private let lock = NSLock()
    private var signalCount = 0

    public init(onInterrupt: @escaping @Sendable () -> Void) {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                let count = self.lock.withLock { self.signalCount += 1; return self.signalCount }
                if count > 1 { exit(130) }
                onInterrupt()
            }
            source.resume()
            sources.append(source)
        }
    }

    public var wasInterrupted: Bool { lock.withLock { signalCount > 0 } }

    deinit {
        sources.forEach { $0.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
