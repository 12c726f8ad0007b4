import Foundation
import RecetteWorld

/// A backup file as Scalingo produces it (a `.tar.gz` holding one custom-format dump,
/// `*.pgsql`, possibly under `./`) or a bare `pg_dump -Fc` file.
///
/// `inspect` reads the whole file and checks it before anything is destroyed anywhere.
public struct BackupArchive: Sendable {
    public enum Kind: Sendable, Equatable {
        /// gzip'd tar.
        case tarGzip
        /// A custom-format dump on its own.
        case customDump
    }

    public let file: URL
    public let kind: Kind

    /// File extensions a dump may carry inside an archive.
    static let dumpExtensions = ["pgsql", "dump", "pgdump"]

    /// Checks that `file` exists and is gzip (or itself a custom-format dump); `dumpFile`
    /// then checks it is intact and holds exactly one dump.
    public static func inspect(_ file: URL, runner: any ProcessRunning) async throws -> BackupArchive {
        let path = file.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw BackupArchiveError.missing(path)
        }
        guard !isDirectory.boolValue else { throw BackupArchiveError.isDirectory(path) }
        // Before opening it: a FIFO with no writer would block the open forever, and what
        // comes through a pipe can be read only once (the checks read the file, pg_restore -j
        // seeks in it).
        var info = stat()
        guard stat(path, &info) == 0 else { throw BackupArchiveError.readFailed(path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw BackupArchiveError.notRegularFile(path, kind: Self.fileKind(info.st_mode)) }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw BackupArchiveError.unreadable(path) }
        let magic = (try? handle.read(upToCount: 5)) ?? nil
        try? handle.close()
        let bytes = [UInt8](magic ?? Data())
        if bytes.count >= 5, bytes == Array("PGDMP".utf8) {
            return BackupArchive(file: file, kind: .customDump)
        }
        guard bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B else {
            throw BackupArchiveError.notGzip(path)
        }
        return BackupArchive(file: file, kind: .tarGzip)
    }

    /// The dump as a regular file (pg_restore -j needs one it can seek in): the file itself, or
    /// the archive's one dump, extracted into `directory` (made 0700; the dump 0600).
    ///
    /// One pass over the archive (`DumpExtraction`): reading it three times (test, list,
    /// extract) cost 1.4 s of a 17 s restore in the benchmark. Only the dump member is written.
    public func dumpFile(extractingInto directory: URL, runner: any ProcessRunning) async throws -> URL {
        guard kind == .tarGzip else { return file }
        try PrivateDirectory.make(directory)
        let flag = CancelFlag()
        let extraction = DumpExtraction(archive: file.path, directory: directory, isCanceled: { flag.isCanceled })
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<URL, any Error>) in
                // Decompressing and writing block: a thread of its own, never one of the cooperative pool.
                let thread = Thread { continuation.resume(with: Result { try extraction.run() }) }
                thread.name = "recette.extract"
                thread.start()
            }
        } onCancel: {
            flag.cancel()
        }
    }

    static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a pipe"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }
}

public enum BackupArchiveError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case isDirectory(String)
    case unreadable(String)
    case notGzip(String)
    case corrupt(String, detail: String)
    case notTar(String, detail: String)
    case noDump(String, members: [String])
    case severalDumps(String, dumps: [String])
    case readFailed(String, reason: String)
    case notRegularFile(String, kind: String)
    case unsafeMember(String, member: String)
    case memberNotRegular(String, member: String, kind: String)
    case noSpace(String, needed: Int64, available: Int64, directory: String)
    case cannotWrite(String, directory: String, reason: String)

    public var description: String {
        switch self {
        case .missing(let path):
            "backup file '\(path)' does not exist; check the path, or run 'recette download' to fetch one"
        case .isDirectory(let path):
            "'\(path)' is a directory; give the backup's .tar.gz (or .pgsql) file"
        case .unreadable(let path):
            "cannot read '\(path)'; check its permissions"
        case .notGzip(let path):
            "'\(path)' is not a gzip archive nor a pg_dump custom-format file; give a Scalingo backup (.tar.gz) or a 'pg_dump -Fc' file"
        case .corrupt(let path, let detail):
            "'\(path)' is corrupt or truncated (\(detail)); download the backup again"
        case .notTar(let path, let detail):
            "'\(path)' is gzip but not a tar archive (\(detail)); give the .tar.gz exactly as Scalingo serves it"
        case .noDump(let path, let members):
            "'\(path)' holds no PostgreSQL dump (*.pgsql)" + (members.isEmpty ? " (no files in it)" : "; it holds: \(members.joined(separator: ", "))") + "; is it a Scalingo PostgreSQL backup?"
        case .severalDumps(let path, let dumps):
            "'\(path)' holds \(dumps.count) dumps (\(dumps.joined(separator: ", "))); expected exactly one"
        case .readFailed(let path, let reason):
            "cannot read '\(path)': \(reason)"
        case .notRegularFile(let path, let kind):
            "'\(path)' is \(kind), not a regular file; save the backup to a file first and give that file's path"
        case .unsafeMember(let path, let member):
            "'\(path)' holds its dump under an unsafe path ('\(member)': absolute or with '..'), so it was not extracted; a Scalingo backup never does: download the backup again"
        case .memberNotRegular(let path, let member, let kind):
            "the dump '\(member)' in '\(path)' is \(kind), not a regular file, so it was not extracted; a Scalingo backup holds the dump itself: download the backup again"
        case .noSpace(let path, let needed, let available, let directory):
            "not enough disk space to extract the dump of '\(path)': it needs \(ByteCount.human(needed)), \(ByteCount.human(available)) free in \(directory); free some space there and retry"
        case .cannotWrite(let path, let directory, let reason):
            "cannot extract the dump of '\(path)' into \(directory): \(reason); check that directory"
        }
    }
}
