import Foundation
import Synchronization

/// One recette run at a time per project: an exclusive `flock` on `.recette/lock`.
///
/// The kernel drops the lock when the process ends, however it ends (Ctrl-C, SIGKILL, a
/// crash), so a lock is never stale. The file records who holds it, for the refusal message.
public final class RunLock: Sendable {
    /// -1 once released.
    private let descriptor: Mutex<Int32>
    public let file: URL

    public struct Holder: Codable, Sendable, Equatable {
        public var pid: Int32
        public var command: String
        public var startedAt: Date

        /// "pid 42, 'recette reindex', started 2026-11-22T10:15:00Z"
        public var summary: String {
            "pid \(pid), '\(command)', started \(ISO8601DateFormatter().string(from: startedAt))"
        }
    }

    private init(descriptor: Int32, file: URL) {
        self.descriptor = Mutex(descriptor)
        self.file = file
    }

    /// Takes the project's lock, or throws a one-line refusal naming the holder.
    public static func acquire(stateDirectory: URL, command: String, now: Date = Date()) throws -> RunLock {
        try PrivateDirectory.makeIfMissing(stateDirectory)
        switch try attempt(file: stateDirectory.appendingPathComponent("lock"), command: command, now: now) {
        case .acquired(let lock):
            return lock
        case .held(let holder):
            throw RecetteFailure("another recette run holds this project's lock (\(holder.map(\.summary) ?? "another process")); wait for it to finish or stop it, then retry")
        }
    }

    public enum Attempt {
        case acquired(RunLock)
        /// Someone holds it (nil: it has not written who yet).
        case held(Holder?)
    }

    /// Takes the lock on `file` (created when missing) without waiting, recording who holds it.
    public static func attempt(file: URL, command: String, now: Date = Date()) throws -> Attempt {
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RecetteFailure("cannot open \(file.path): \(String(cString: strerror(errno)))")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.holder(of: file)
            close(descriptor)
            return .held(holder)
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let record = (try? encoder.encode(Holder(pid: getpid(), command: command, startedAt: now))) ?? Data()
        _ = ftruncate(descriptor, 0)
        _ = record.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return .acquired(RunLock(descriptor: descriptor, file: file))
    }

    static func holder(of file: URL) -> Holder? {
        guard let data = try? Data(contentsOf: file), !data.isEmpty else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(Holder.self, from: data)
    }

    public func release() {
        descriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            _ = ftruncate(descriptor, 0)
            flock(descriptor, LOCK_UN)
            close(descriptor)
            descriptor = -1
        }
    }

    deinit { release() }
}
