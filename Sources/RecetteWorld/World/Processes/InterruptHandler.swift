import Foundation
import Synchronization

/// Turns SIGINT, SIGTERM and SIGHUP (the terminal closed), and a broken output pipe (the
/// reader of `recette … | head` gone, a closed log pipe), into cancellation of the running
/// work.
///
/// Cancelling the task makes every running child get SIGTERM, then SIGKILL after a grace
/// period (see `SubprocessRunner`); the command then exits 130. A second signal exits at once.
/// SIGPIPE is ignored for good: by default it kills the process at the failed write, with no
/// clean-up; ignored, the write fails with EPIPE and `StandardStream` reports it here.
public final class InterruptHandler: Sendable {
    public static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    private struct State {
        var signalCount = 0
        var outputClosed = false
    }
    /// Set in init, cancelled in deinit: never mutated in between.
    nonisolated(unsafe) private let sources: [any DispatchSourceSignal]
    private let state = Mutex(State())
    private let onInterrupt: @Sendable () -> Void
    /// The handler of the running command, for `outputClosed()`: signals are process-wide.
    private static let current = Mutex<InterruptHandler?>(nil)

    public init(onInterrupt: @escaping @Sendable () -> Void) {
        self.onInterrupt = onInterrupt
        Self.ignoreBrokenPipes()
        sources = Self.signals.map { signalNumber in
            signal(signalNumber, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
        }
        for source in sources {
            source.setEventHandler { [weak self] in self?.interrupt() }
            source.resume()
        }
        Self.current.withLock { $0 = self }
    }

    /// Called before anything is written, by the executable's entry point too: a write to a
    /// closed pipe must fail, not kill recette before its handler exists.
    public static func ignoreBrokenPipes() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// A write to standard output or error found no reader: stop as for SIGTERM, once (the
    /// clean-up's own messages find no reader either).
    public static func outputClosed() {
        guard let handler = current.withLock({ $0 }) else { return }
        let first = handler.state.withLock { state in
            defer { state.outputClosed = true }
            return !state.outputClosed
        }
        if first { handler.interrupt() }
    }

    private func interrupt() {
        let count = state.withLock { state in
            state.signalCount += 1
            return state.signalCount
        }
        if count > 1 { exit(130) }
        onInterrupt()
    }

    public var wasInterrupted: Bool { state.withLock { $0.signalCount > 0 } }

    deinit {
        sources.forEach { $0.cancel() }
        Self.current.withLock { if $0 === self { $0 = nil } }
        for signalNumber in Self.signals { signal(signalNumber, SIG_DFL) }
    }
}

/// Writes to standard output or error with write(2): FileHandle's write traps on EPIPE. A
/// closed reader stops the run like SIGTERM (`InterruptHandler.outputClosed`).
public enum StandardStream {
    public static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written >= 0 {
                bytes = bytes.dropFirst(written)
            } else if errno == EINTR || errno == EAGAIN {
                continue
            } else {
                if errno == EPIPE { InterruptHandler.outputClosed() }
                return  // nowhere left to say it
            }
        }
    }

    public static func output(_ text: String) { write(text, to: STDOUT_FILENO) }
    public static func error(_ text: String) { write(text, to: STDERR_FILENO) }
}
