import Foundation
import RecetteWorld

/// The custom-format archive version, read from the dump's first bytes: "PGDMP" then
/// major, minor, revision (e.g. 1.14.0, written by pg_dump 12 to 15).
public struct ArchiveVersion: Sendable, Comparable, CustomStringConvertible {
    public var major: Int
    public var minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static func read(from dump: URL) throws -> ArchiveVersion {
        guard let handle = FileHandle(forReadingAtPath: dump.path) else { throw RecetteFailure("cannot read \(dump.path)") }
        defer { try? handle.close() }
        let bytes = [UInt8]((try? handle.read(upToCount: 8)) ?? Data())
        guard bytes.count >= 7, bytes.prefix(5) == ArraySlice("PGDMP".utf8) else {
            throw RecetteFailure("'\(dump.lastPathComponent)' is not a custom-format dump (no PGDMP header); recette restores 'pg_dump -Fc' dumps as Scalingo makes them")
        }
        return ArchiveVersion(major: Int(bytes[5]), minor: Int(bytes[6]))
    }

    /// The newest archive version a pg_restore of this major version reads.
    public static func newestReadable(byPgRestoreMajor major: Int) -> ArchiveVersion {
        switch major {
        case ..<12: ArchiveVersion(major: 1, minor: 13)
        case 12...15: ArchiveVersion(major: 1, minor: 14)
        case 16: ArchiveVersion(major: 1, minor: 15)
        default: ArchiveVersion(major: 1, minor: 16)
        }
    }

    /// The oldest PostgreSQL major whose pg_restore reads this version.
    public var oldestPgRestoreMajor: Int {
        switch (major, minor) {
        case (1, ...14): 12
        case (1, 15): 16
        default: 17
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.major, lhs.minor) < (rhs.major, rhs.minor) }
    public var description: String { "\(major).\(minor)" }
}

/// Checks made before the target is touched: can this pg_restore read the archive, and does
/// the target server have every extension the dump creates?
public struct RestorePreflight: Sendable {
    public var pgRestoreMajor: Int

    public init(pgRestoreMajor: Int) { self.pgRestoreMajor = pgRestoreMajor }

    public func checkArchiveVersion(_ version: ArchiveVersion, dumpName: String) throws {
        let readable = ArchiveVersion.newestReadable(byPgRestoreMajor: pgRestoreMajor)
        // Only a plausible 1.x header means "newer pg_dump"; garbage after PGDMP is left to
        // pg_restore, which refuses it as unreadable.
        guard version.major != 1 || version.minor > 40 || version <= readable else {
            throw RecetteFailure("\(dumpName) was written by pg_dump \(version.oldestPgRestoreMajor) or newer (archive format \(version)); this pg_restore (\(pgRestoreMajor)) reads up to \(readable): install PostgreSQL \(version.oldestPgRestoreMajor)+ client tools (Debian: apt-get install postgresql-client-\(version.oldestPgRestoreMajor)) or set RECETTE_PG_BINDIR")
        }
    }

    /// Extensions the dump creates (`EXTENSION` entries) that the server cannot install.
    public func missingExtensions(toc: TableOfContents, available: Set<String>) -> [String] {
        toc.entries.filter { $0.type == "EXTENSION" }.map(\.name).filter { !available.contains($0) }.sorted()
    }

    public func checkExtensions(toc: TableOfContents, on connection: PostgresConnection, serverDescription: String) throws {
        let available = Set(try connection.query("SELECT name FROM pg_available_extensions").column("name").compactMap { $0 })
        let missing = missingExtensions(toc: toc, available: available)
        guard missing.isEmpty else {
            let major = connection.serverMajorVersion
            let hints = missing.map { Self.packageHint(extension: $0, serverMajor: major) }
            throw RecetteFailure("the dump needs the extension\(missing.count > 1 ? "s" : "") \(missing.joined(separator: ", ")), which \(serverDescription) (PostgreSQL \(major)) does not have: \(hints.joined(separator: "; "))")
        }
    }

    static func packageHint(extension name: String, serverMajor: Int) -> String {
        switch name {
        case "postgis", "postgis_topology", "postgis_raster", "address_standardizer":
            "install postgresql-\(serverMajor)-postgis-3 (Debian/Ubuntu)"
        case "pgvector", "vector":
            "install postgresql-\(serverMajor)-pgvector (Debian/Ubuntu)"
        case "pg_trgm", "unaccent", "hstore", "citext", "pgcrypto", "uuid-ossp", "fuzzystrmatch", "btree_gin", "btree_gist", "tablefunc", "intarray", "ltree", "cube", "earthdistance", "pg_stat_statements":
            "install PostgreSQL's contrib modules for \(serverMajor) (Debian/Ubuntu: postgresql-contrib)"
        default:
            "install the package providing '\(name)' for PostgreSQL \(serverMajor)"
        }
    }
}
