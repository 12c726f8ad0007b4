import Foundation
import RecetteWorld

/// The entries an index's transform dropped (printed `null` for) at its last rebuild.
///
/// An index whose transform filters entries holds fewer documents than its query has rows, by
/// design; `search status`, `search verify` and populate's check compare the index with what
/// the rebuild produced instead: the query's rows less these. The ids are those of the
/// entries (their primary key), so a row deleted since the rebuild no longer counts, and a row
/// added since that the transform would drop shows as missing until the next rebuild.
public struct TransformDrops: Sendable, Codable, Equatable {
    public var uid: String
    /// The Meilisearch the index was rebuilt on: scheme, host and port.
    public var meilisearch: String
    public var rebuiltAt: Date
    /// The query's rows at the rebuild, and the documents the index got.
    public var rows: Int
    public var documents: Int
    /// The primary keys of the dropped entries, in the query's order.
    public var ids: [String]
    /// Dropped entries whose primary key could not be read (a row without it): counted, not
    /// identified.
    public var unidentified: Int

    public var count: Int { ids.count + unidentified }
}

/// Where the drops of each index are kept: `.recette/search/dropped/<uid>@<host>-<port>.json`,
/// one file per index and Meilisearch, replaced by each rebuild with a transform and removed by
/// a rebuild without one.
public struct TransformDropRecords: Sendable {
    public let directory: URL

    public init(searchDirectory: URL) {
        directory = searchDirectory.appendingPathComponent("dropped")
    }

    public init(stateDirectory: URL) {
        self.init(searchDirectory: stateDirectory.appendingPathComponent("search"))
    }

    func file(uid: String, meilisearch: URL) -> URL {
        let server = "\(meilisearch.host ?? "server")-\(meilisearch.port.map(String.init) ?? meilisearch.scheme ?? "")\(meilisearch.path)"
        let safe = String(server.unicodeScalars.map { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-") ? Character($0) : "_" })
        return directory.appendingPathComponent("\(uid)@\(safe).json")
    }

    public func record(_ drops: TransformDrops, meilisearch: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try AtomicFile.write(try encoder.encode(drops), to: file(uid: drops.uid, meilisearch: meilisearch), permissions: 0o600)
    }

    public func remove(uid: String, meilisearch: URL) {
        try? FileManager.default.removeItem(at: file(uid: uid, meilisearch: meilisearch))
    }

    /// The drops of the last rebuild of `uid` on `meilisearch`; nil when there is no record.
    public func read(uid: String, meilisearch: URL) throws -> TransformDrops? {
        let url = file(uid: uid, meilisearch: meilisearch)
        guard let data = try? Data(contentsOf: url) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(TransformDrops.self, from: data)
        } catch {
            throw RecetteFailure("\(url.path) is not a record of dropped entries (\(error)): delete it and rebuild the index with 'recette reindex --index \(uid)'")
        }
    }
}
