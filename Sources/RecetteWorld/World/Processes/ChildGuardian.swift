import CChildGuardian
import Foundation
import Synchronization

/// Ends the process groups of recette's children once recette is gone, however it went.
///
/// Cancellation (Ctrl-C, SIGTERM…) stops children from inside recette; a `kill -9` of recette
/// runs none of that, and pg_restore would go on loading as an orphan. PR_SET_PDEATHSIG is no
/// answer: it fires when the *thread* that spawned the child exits, and swift-subprocess
/// spawns from whatever pool thread runs the task, which the pool may retire at any time. The
/// guardian is a small forked process holding one end of a socket: the kernel closes recette's
/// end when recette dies, and the guardian then sends SIGTERM to every group still registered,
/// SIGKILL after the grace period. Started on first use; without it (fork failed) children
/// still stop on cancellation as before.
final class ChildGuardian: Sendable {
    static let shared = ChildGuardian(gracePeriod: .seconds(5))

    private let gracePeriod: Duration
    /// recette's end of the socket; nil until the first child, -1 when the guardian could not start.
    private let socket = Mutex<Int32?>(nil)

    init(gracePeriod: Duration) { self.gracePeriod = gracePeriod }

    /// `group` (a child that leads its own process group) is running.
    func watch(_ group: pid_t) { send(Int32(group)) }

    /// `group`'s leader has been reaped: nothing to end any more.
    func release(_ group: pid_t) { send(-Int32(group)) }

    private func send(_ record: Int32) {
        socket.withLock { descriptor in
            if descriptor == nil {
                let milliseconds = gracePeriod.components.seconds * 1_000 + gracePeriod.components.attoseconds / 1_000_000_000_000_000
                descriptor = recette_child_guardian_start(Int32(clamping: milliseconds))
            }
            guard let descriptor, descriptor >= 0 else { return }
            var record = record
            // Four bytes on a stream socket: one write, never split. MSG_NOSIGNAL: a dead
            // guardian is an error to ignore, not a SIGPIPE.
            _ = withUnsafeBytes(of: &record) { Foundation.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
    }
}
