import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Directories that hold backup data (`.recette/backups`, `.recette/work`, …): the owner's
/// only, 0700, whatever the umask.
///
/// `mkdir(2)` and `FileManager` apply the umask, which can only take permissions away, so a
/// directory is made with 0700 and then set to exactly 0700; an existing one (made by an older
/// recette, 0755) is set to 0700 too.
public enum PrivateDirectory {
    /// Makes `url` and its missing parents 0700, and sets `url` itself to 0700, as well as every
    /// directory between `base` (included) and it.
    public static func make(_ url: URL, from base: URL? = nil) throws {
        try makeIfMissing(url)
        var current = url.standardizedFileURL
        let top = (base ?? url).standardizedFileURL.path
        while current.path.count >= top.count, current.path.hasPrefix(top) {
            try setPrivate(current)
            current = current.deletingLastPathComponent()
        }
    }

    /// Makes `url` and its missing parents 0700; leaves the modes of existing ones alone (for
    /// `.recette/` itself, which the local cluster's server user may have to pass through).
    public static func makeIfMissing(_ url: URL) throws {
        var missing: [URL] = []
        var current = url.standardizedFileURL
        while !FileManager.default.fileExists(atPath: current.path), current.path != "/" {
            missing.append(current)
            current = current.deletingLastPathComponent()
        }
        // What is there must be a directory: a file in the way is named now, not as an odd
        // "Not a directory" when something inside it is opened later.
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: current.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw RecetteFailure("cannot create \(url.path): \(current.path): File exists; a file is in the way of a directory recette needs there: move it aside")
        }
        for directory in missing.reversed() {
            // Another process may make it at the same moment: EEXIST is fine, its mode is set below.
            guard mkdir(directory.path, 0o700) == 0 || errno == EEXIST else {
                throw RecetteFailure("cannot create \(directory.path): \(String(cString: strerror(errno))); check the permissions of \(directory.deletingLastPathComponent().path)")
            }
            try setPrivate(directory)
        }
    }

    private static func setPrivate(_ url: URL) throws {
        guard chmod(url.path, 0o700) == 0 else {
            throw RecetteFailure("cannot make \(url.path) private (chmod 0700): \(String(cString: strerror(errno))); it holds backup data: fix its owner or remove it")
        }
    }
}

/// Files that hold backup data: 0600, whatever the umask.
public enum PrivateFile {
    /// Creates `url`, which must not exist yet (nor be a link), and returns a write descriptor.
    package static func create(_ url: URL) throws -> Int32 {
        let descriptor = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw RecetteFailure("cannot create \(url.path): \(String(cString: strerror(errno))); check the permissions of \(url.deletingLastPathComponent().path)")
        }
        try restrict(descriptor, url)
        return descriptor
    }

    /// Sets an open file to exactly 0600 (a umask of 0177 would leave it 0400; an older
    /// recette's partial download may be 0644).
    package static func restrict(_ descriptor: Int32, _ url: URL) throws {
        guard fchmod(descriptor, 0o600) == 0 else {
            throw RecetteFailure("cannot make \(url.path) private (chmod 0600): \(String(cString: strerror(errno)))")
        }
    }

    /// The same for a file written by someone else (the Scalingo CLI's download).
    public static func restrict(_ url: URL) throws {
        guard chmod(url.path, 0o600) == 0 else {
            throw RecetteFailure("cannot make \(url.path) private (chmod 0600): \(String(cString: strerror(errno)))")
        }
    }
}
