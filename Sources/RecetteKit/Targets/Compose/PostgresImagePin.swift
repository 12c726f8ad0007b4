import Foundation
import RecetteWorld

/// Whether the compose db service's PostgreSQL image can take a backup, from its tag alone:
/// decided before anything is reset, with the exact tag to pin.
public enum PostgresImagePin {
    /// The major of a "Dumped from database version" (`15.4 (Debian 15.4-1)` → 15).
    public static func major(ofServerVersion version: String?) -> Int? {
        guard let version else { return nil }
        return Int(version.trimmingCharacters(in: .whitespaces).prefix { $0.isNumber })
    }

    /// Why `image` must be pinned (untagged, `latest`, a tag without a major such as `alpine`,
    /// or a major older than the archive's), or nil when it may run the restore. An image that
    /// is not a postgres one (built by the project, renamed) is not judged.
    public static func refusal(image: String?, service: String, archiveMajor: Int?) -> String? {
        guard let image, ComposeServiceDetection.isPostgresImage(image) else { return nil }
        let reference = PostgresImageReference(image)
        let pin = "\(reference.repository):\(archiveMajor.map(String.init) ?? "<major of your backups>")"
        guard let major = reference.major else {
            return """
                the compose service '\(service)' runs image '\(image)', which names no PostgreSQL major (\(reference.tag == nil ? "untagged: 'latest'" : "tag '\(reference.tag!)'"), \
                PostgreSQL 18 or later today, whose image keeps its data in /var/lib/postgresql/<major>/docker and refuses to start on a volume \
                mounted at /var/lib/postgresql/data): pin it in the compose file, image: \(pin)
                """
        }
        if let archiveMajor, major < archiveMajor {
            return """
                the compose service '\(service)' runs image '\(image)' (PostgreSQL \(major)), older than the server the backup was dumped from \
                (PostgreSQL \(archiveMajor)): pin it in the compose file, image: \(pin)
                """
        }
        return nil
    }
}
