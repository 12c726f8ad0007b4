import Foundation
import Synchronization
import RecetteWorld

/// The name of an index a direct rebuild fills before swapping it in:
/// `<uid>_<yyyyMMddHHmmss>_<owner>`, where `owner` names the checkout that made it.
///
/// Meilisearch keeps no metadata on an index, and its name is the one thing every client sees
/// and that is set atomically with the index itself, so the owner travels in the name. Names
/// of recette before owners were added (`<uid>_<yyyyMMddHHmmss>`) parse with no owner.
public struct TemporaryIndexName: Sendable, Equatable, CustomStringConvertible {
    public var uid: String
    public var stamp: String
    public var owner: String?

    public init(uid: String, stamp: String, owner: String?) {
        self.uid = uid
        self.stamp = stamp
        self.owner = owner
    }

    /// nil when `candidate` is not a temporary index of `uid`.
    public init?(parsing candidate: String, of uid: String) {
        guard candidate.hasPrefix(uid + "_") else { return nil }
        let parts = candidate.dropFirst(uid.count + 1).split(separator: "_", omittingEmptySubsequences: false)
        guard let stamp = parts.first, stamp.count == 14, stamp.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        switch parts.count {
        case 1:
            owner = nil
        case 2 where TemporaryIndexClaims.isOwnerID(String(parts[1])):
            owner = String(parts[1])
        default:
            return nil
        }
        self.uid = uid
        self.stamp = String(stamp)
    }

    public var description: String { "\(uid)_\(stamp)" + (owner.map { "_\($0)" } ?? "") }
}

/// Who may delete a temporary index: only its owner, or anyone once the owner is provably
/// gone.
///
/// Each checkout has an owner id (random, kept in `.recette/search/owner`), written into the
/// names of the temporary indexes it makes. While a rebuild fills its index it holds an
/// exclusive `flock` on `.recette/search/claims/<index>.lock`; the kernel drops it when the
/// process ends, however it ends. So an index with this checkout's owner id and a claim nobody
/// holds is a leftover; one whose claim is held is being built; one with another owner id (a
/// second checkout, another machine, a copied checkout) or none is not known to be abandoned
/// and is left alone.
public struct TemporaryIndexClaims: Sendable {
    public let directory: URL
    public let ownerID: String

    /// What is known of a temporary index found on the server.
    public enum Standing: Sendable {
        /// This checkout made it and nobody holds its claim: the lock is now ours, delete away.
        case abandoned(TemporaryIndexClaim)
        /// This checkout made it and a live process is still building it.
        case building(RunLock.Holder?)
        /// Another checkout or machine made it (or a recette from before owners).
        case foreign
    }

    /// Reads this checkout's owner id, making one on first use. The file records the directory
    /// it was made for: a copied `.recette/` gets an id of its own, since its claims are not
    /// the original's.
    public init(stateDirectory: URL) throws {
        directory = stateDirectory.appendingPathComponent("search")
        let claims = directory.appendingPathComponent("claims")
        try FileManager.default.createDirectory(at: claims, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("owner")
        let here = directory.resolvingSymlinksInPath().path
        struct Record: Codable { var id: String; var directory: String }
        if let data = try? Data(contentsOf: file), let record = try? JSONDecoder().decode(Record.self, from: data),
           record.directory == here, Self.isOwnerID(record.id) {
            ownerID = record.id
            return
        }
        let id = String((0..<12).map { _ in "0123456789abcdef".randomElement()! })
        try JSONEncoder().encode(Record(id: id, directory: here)).write(to: file, options: .atomic)
        ownerID = id
    }

    static func isOwnerID(_ text: String) -> Bool {
        text.count == 12 && text.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    /// A name for a new temporary index of `uid`, owned by this checkout.
    public func newName(for uid: String, at date: Date) -> TemporaryIndexName {
        TemporaryIndexName(uid: uid, stamp: UTCStamp.string(from: date, pattern: "yyyyMMddHHmmss"), owner: ownerID)
    }

    /// Claims `name` for this process before the index exists; throws when another process of
    /// this checkout claimed the same name (the same index in the same second).
    public func claim(_ name: TemporaryIndexName, command: String) throws -> TemporaryIndexClaim {
        switch try RunLock.attempt(file: file(for: name), command: command) {
        case .acquired(let lock):
            return TemporaryIndexClaim(lock: lock)
        case .held(let holder):
            throw RecetteFailure("index \(name) is already being built (\(holder.map(\.summary) ?? "by another process")): wait a second and run again")
        }
    }

    public func standing(of name: TemporaryIndexName) throws -> Standing {
        guard name.owner == ownerID else { return .foreign }
        switch try RunLock.attempt(file: file(for: name), command: "recette: cleaning up a leftover") {
        case .acquired(let lock): return .abandoned(TemporaryIndexClaim(lock: lock))
        case .held(let holder): return .building(holder)
        }
    }

    private func file(for name: TemporaryIndexName) -> URL {
        directory.appendingPathComponent("claims").appendingPathComponent("\(name).lock")
    }
}

/// A held claim on one temporary index: released once the index is gone (or given up on).
public final class TemporaryIndexClaim: Sendable {
    private let lock: RunLock
    private let released = Mutex(false)

    init(lock: RunLock) { self.lock = lock }

    /// Removes the claim file while still holding it, then lets go. Once only: a second unlink
    /// could remove a claim another process has made since.
    public func release() {
        guard released.withLock({ done in defer { done = true }; return !done }) else { return }
        unlink(lock.file.path)
        lock.release()
    }
}
