import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run's scratch directory, `.recette/work/<id>/` (0700): the extracted dump, pg_restore's
/// lists. Removed when the run ends; a run killed before that (SIGKILL, a crash, a power cut)
/// leaves it behind, and the next run that makes one removes it.
///
/// Whether a directory's run is still alive is asked of the kernel, never guessed from its age
/// or name: the run holds an exclusive `flock` on `<id>/.alive` for as long as it uses the
/// directory, and the kernel releases it however the process ends. A directory whose lock can
/// be taken (or that has no `.alive`, as an older recette's) belongs to no living run. Making a
/// directory and sweeping are serialised by a lock on `work/.lock`, so a sweep never sees one
/// half made.
public final class WorkDirectory: Sendable {
    public let url: URL
    private let aliveDescriptor: Mutex<Int32>

    static let aliveFileName = ".alive"
    static let registryLockName = ".lock"

    private init(url: URL, aliveDescriptor: Int32) {
        self.url = url
        self.aliveDescriptor = Mutex(aliveDescriptor)
    }

    /// The parent of every run's work directory.
    public static func root(in stateDirectory: URL) -> URL { stateDirectory.appendingPathComponent("work") }

    /// Removes the work directories of runs that are no longer alive, then makes this run's.
    public static func create(in stateDirectory: URL, prefix: String = "") throws -> WorkDirectory {
        let root = root(in: stateDirectory)
        try PrivateDirectory.make(root)
        return try whileHoldingRegistry(root) {
            removeLeftovers(in: root)
            let url = root.appendingPathComponent(prefix + UUID().uuidString)
            try PrivateDirectory.make(url)
            let alive = url.appendingPathComponent(aliveFileName)
            let descriptor = try PrivateFile.create(alive)
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let reason = String(cString: strerror(errno))
                close(descriptor)
                try? FileManager.default.removeItem(at: url)
                throw RecetteFailure("cannot lock \(alive.path): \(reason); is \(root.path) on a file system without flock?")
            }
            return WorkDirectory(url: url, aliveDescriptor: descriptor)
        }
    }

    /// Removes the directory, then lets go of its lock. Idempotent.
    public func remove() {
        aliveDescriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            let root = url.deletingLastPathComponent()
            _ = try? Self.whileHoldingRegistry(root) { try? FileManager.default.removeItem(at: url) }
            close(descriptor)
            descriptor = -1
        }
    }

    deinit { remove() }

    /// The directories under `root` no living run holds, removed (best effort: one that cannot be
    /// removed now is tried again next time).
    @discardableResult
    static func removeLeftovers(in root: URL) -> [URL] {
        let entries = (try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey])) ?? []
        var removed: [URL] = []
        for entry in entries where entry.lastPathComponent != registryLockName {
            let values = try? entry.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey])
            guard values?.isDirectory == true, values?.isSymbolicLink != true else { continue }
            let alive = entry.appendingPathComponent(aliveFileName)
            let descriptor = open(alive.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            if descriptor >= 0 {
                defer { close(descriptor) }
                // Held: its run is alive. Taken: we hold it while removing, then drop it.
                guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { continue }
            } else if errno != ENOENT {
                continue
            }
            if (try? FileManager.default.removeItem(at: entry)) != nil { removed.append(entry) }
        }
        return removed
    }

    private static func whileHoldingRegistry<T>(_ root: URL, _ work: () throws -> T) throws -> T {
        let file = root.appendingPathComponent(registryLockName)
        let descriptor = open(file.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw RecetteFailure("cannot open \(file.path): \(String(cString: strerror(errno))); check the permissions of \(root.path)")
        }
        defer { close(descriptor) }
        // Held only while a directory is made, removed or swept: a short wait at most.
        while flock(descriptor, LOCK_EX) != 0 {
            guard errno == EINTR else {
                throw RecetteFailure("cannot lock \(file.path): \(String(cString: strerror(errno)))")
            }
        }
        return try work()
    }
}
