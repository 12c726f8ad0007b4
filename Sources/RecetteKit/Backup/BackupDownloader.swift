import Foundation
import Synchronization
import Logging
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RecetteWorld

public struct DownloadedBackup: Sendable {
    public var file: URL
    public var backup: ScalingoBackup
    /// Already complete in the cache: nothing was downloaded.
    public var fromCache: Bool
    public var bytesTransferred: Int64
    public var seconds: Double
}

/// Downloads a backup's archive into the cache (`.recette/backups/<backup id>/<name>.tar.gz`):
/// streamed to `<name>.tar.gz.part` with constant memory, resumed with a Range request after
/// an interruption (restarted when the server ignores Range), checked against the backup's
/// size, then renamed. A complete file under the final name is never re-downloaded.
public struct BackupDownloader: Sendable {
    public var client: ScalingoClient
    public var transport: any HTTPTransport
    public var cacheDirectory: URL
    public var logger: Logger
    public var progress: ProgressBar
    public var retry: RetryPolicy

    public init(client: ScalingoClient, transport: any HTTPTransport, cacheDirectory: URL, logger: Logger,
                progress: ProgressBar, retry: RetryPolicy = RetryPolicy()) {
        self.client = client
        self.transport = transport
        self.cacheDirectory = cacheDirectory
        self.logger = logger
        self.progress = progress
        self.retry = retry
    }

    /// Where a backup's archive lives in the cache.
    public func cachedFile(for backup: ScalingoBackup) -> URL {
        let safeName = backup.name.map { $0 == "/" || $0 == "\\" ? "_" : $0 }.map(String.init).joined()
        let safeID = backup.id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" }.map(String.init).joined()
        return cacheDirectory.appendingPathComponent(safeID).appendingPathComponent(safeName.hasSuffix(".tar.gz") ? safeName : safeName + ".tar.gz")
    }

    public func download(app: String, addonID: String, backup: ScalingoBackup) async throws -> DownloadedBackup {
        let final = cachedFile(for: backup)
        let part = URL(fileURLWithPath: final.path + ".part")
        let expected = (backup.size ?? 0) > 0 ? backup.size : nil
        let clock = ContinuousClock()
        let started = clock.now

        // Without a size to compare against, a cached file counts only when its gzip stream is
        // whole (a run before this check could cache a cut download as complete).
        if let size = Self.fileSize(final), expected.map({ size == $0 }) ?? Gzip.isCompleteStream(final) {
            logger.info("backup \(backup.id) is already downloaded: \(final.path)")
            return DownloadedBackup(file: final, backup: backup, fromCache: true, bytesTransferred: 0, seconds: 0)
        }
        try PrivateDirectory.make(final.deletingLastPathComponent(), from: cacheDirectory)
        logger.info("downloading backup \(backup.id) (\(expected.map(ByteCount.human) ?? "size unknown")) to \(final.path)")

        var transferred: Int64 = 0
        var failures = 0
        var lastFailure = ""
        // Only an attempt that takes the file further than ever is progress that forgives
        // earlier failures: otherwise a server that makes us start over each time (416
        // without a size, Range ignored and cut again) would keep us going round forever.
        var furthest = Self.fileSize(part) ?? 0
        defer { progress.finish() }
        while true {
            try Task.checkCancellation()
            let offset = Self.fileSize(part) ?? 0
            if let expected, offset > expected {
                try? FileManager.default.removeItem(at: part)
                throw RecetteFailure("received \(offset) bytes for backup \(backup.id) but Scalingo says it is \(expected) bytes; the partial file was deleted: run again, and if it repeats the backup is damaged on Scalingo's side")
            }
            if let expected, offset == expected { break }

            let writer = try PartFileWriter(part, progress: progress)
            progress.begin(total: expected, from: offset)
            let outcome: AttemptOutcome
            do {
                let url = try await client.archiveURL(app: app, addonID: addonID, backupID: backup.id)
                outcome = try await attempt(url: url, offset: offset, writer: writer)
            } catch let error as HTTPTransportError {
                outcome = .interrupted(error.description)
            } catch {
                try? writer.close()
                throw error
            }
            try writer.close()
            transferred += writer.bytesWritten
            let reached = Self.fileSize(part) ?? 0
            let madeProgress = reached > furthest
            furthest = max(furthest, reached)

            switch outcome {
            case .complete(let contentLength):
                let size = Self.fileSize(part) ?? 0
                if let expected, size < expected {
                    // The body ended early without an error: resume like after a reset.
                    lastFailure = "the connection closed after \(size) of \(expected) bytes"
                } else if expected == nil, let contentLength, size != contentLength {
                    lastFailure = "received \(size) of \(contentLength) bytes"
                } else if expected == nil, !Gzip.isCompleteStream(part) {
                    // No size from Scalingo: a body cut short looks complete to HTTP (no
                    // Content-Length, a closed connection). The archive's own end says it is
                    // not; resume from where it stopped.
                    lastFailure = "the archive ends before its gzip stream does, after \(size) bytes"
                } else {
                    break
                }
                failures = madeProgress ? 0 : failures + 1
            case .rangeNotSatisfiable(let serverSize):
                try? FileManager.default.removeItem(at: part)
                if let serverSize, let expected, serverSize != expected {
                    throw RecetteFailure("backup \(backup.id)'s archive is \(serverSize) bytes but Scalingo says the backup is \(expected) bytes; nothing was kept: the backup may be damaged, pick another with --backup ID")
                }
                failures += 1
                lastFailure = "the server refused to resume at byte \(offset)"
            case .interrupted(let reason):
                lastFailure = reason
                // Progress made: a reset mid-body is not a strike, the next attempt resumes.
                failures = madeProgress ? 0 : failures + 1
            case .retryableStatus(let status):
                lastFailure = "HTTP \(status)"
                failures += 1
            }
            if case .complete = outcome, lastFailure.isEmpty { break }
            if failures >= retry.maximumAttempts {
                throw RecetteFailure("downloading backup \(backup.id) failed \(failures) times in a row (\(lastFailure)); what was received is kept in \(part.lastPathComponent) and the next run resumes from it")
            }
            logger.warning("download interrupted (\(lastFailure)); resuming")
            lastFailure = ""
            if failures > 0 { try await retry.sleep(retry.delay(afterAttempt: failures)) }
        }

        let size = Self.fileSize(part) ?? 0
        if let expected, size != expected {
            try? FileManager.default.removeItem(at: part)
            throw RecetteFailure("downloaded \(size) bytes for backup \(backup.id) but Scalingo says it is \(expected) bytes; the file was deleted: run again")
        }
        _ = try? FileManager.default.removeItem(at: final)
        try FileManager.default.moveItem(at: part, to: final)
        let seconds = (clock.now - started).seconds
        logger.info("downloaded \(ByteCount.human(size)) in \(String(format: "%.1f", seconds))s: \(final.path)")
        return DownloadedBackup(file: final, backup: backup, fromCache: false, bytesTransferred: transferred, seconds: seconds)
    }

    private enum AttemptOutcome {
        case complete(contentLength: Int64?)
        case rangeNotSatisfiable(serverSize: Int64?)
        case interrupted(String)
        case retryableStatus(Int)
    }

    private struct StatusFailure: Error { var status: Int; var contentRange: String? }

    private func attempt(url: URL, offset: Int64, writer: PartFileWriter) async throws -> AttemptOutcome {
        var request = URLRequest(url: url)
        // A pre-signed URL carries its own authorization: no Authorization header.
        request.setValue(JSONAPI.userAgent, forHTTPHeaderField: "User-Agent")
        if offset > 0 { request.setValue("bytes=\(offset)-", forHTTPHeaderField: "Range") }
        let contentLength = LockedValue<Int64?>(nil)
        do {
            _ = try await transport.stream(request, onResponse: { response in
                switch response.statusCode {
                case 206:
                    // Content-Range: bytes START-END/TOTAL must start where we are.
                    let range = response.value(forHTTPHeaderField: "Content-Range") ?? ""
                    let start = range.split(separator: " ").last?.split(separator: "-").first.flatMap { Int64($0) }
                    if start != offset { try writer.restart() }
                case 200:
                    if offset > 0 { try writer.restart() }  // Range ignored: the whole file comes again
                default:
                    throw StatusFailure(status: response.statusCode, contentRange: response.value(forHTTPHeaderField: "Content-Range"))
                }
                let length = response.value(forHTTPHeaderField: "Content-Length").flatMap { Int64($0) }
                contentLength.set(length.map { $0 + writer.startOffset })
            }, onChunk: { chunk in
                try writer.write(chunk)
            })
        } catch let failure as StatusFailure {
            switch failure.status {
            case 416:
                let total = failure.contentRange?.split(separator: "/").last.flatMap { Int64($0) }
                return .rangeNotSatisfiable(serverSize: total)
            case 403, 408, 429, 500...599:
                // 403: the pre-signed link expired; a new one is asked for on the next attempt.
                return .retryableStatus(failure.status)
            default:
                throw RecetteFailure("the backup download answered HTTP \(failure.status); try again, or download it from Scalingo's dashboard and pass --backup FILE")
            }
        } catch let error as HTTPTransportError {
            return .interrupted(error.description)
        }
        return .complete(contentLength: contentLength.get())
    }

    static func fileSize(_ url: URL) -> Int64? {
        (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value
    }
}

/// Appends to the `.part` file, from whatever thread the transport delivers chunks on.
///
/// Small chunks (URLSession on Linux hands over 16 KiB at a time) are gathered in a 1 MiB
/// buffer and written in one `write(2)`; chunks of 256 KiB or more go to the file directly.
/// Memory stays at the one buffer. `close()` writes out what is gathered, so after an
/// interruption the `.part` file holds every byte received and the next attempt resumes there.
/// The open file lives behind a `Mutex`: the transport's thread writes, the download task reads
/// the counts.
final class PartFileWriter: Sendable {
    static let bufferSize = 1 << 20
    static let directWriteThreshold = 256 << 10

    private let file: Mutex<OpenPartFile>
    private let progress: ProgressBar

    init(_ url: URL, progress: ProgressBar) throws {
        let path = url.path
        let fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw RecetteFailure("cannot open \(path) for writing: \(String(cString: strerror(errno))); check free space and permissions")
        }
        do {
            try PrivateFile.restrict(fd, url)
        } catch {
            posixClose(fd)
            throw error
        }
        let end = lseek(fd, 0, SEEK_END)
        guard end >= 0 else {
            let code = errno
            posixClose(fd)
            throw RecetteFailure("cannot seek in \(path): \(String(cString: strerror(code)))")
        }
        file = Mutex(OpenPartFile(path: path, fd: fd, startOffset: Int64(end)))
        self.progress = progress
    }

    /// Where this writer started in the file (what an earlier attempt left).
    var startOffset: Int64 { file.withLock { $0.startOffset } }

    /// Bytes received by this writer (written out or still gathered).
    var bytesWritten: Int64 { file.withLock { $0.written } }

    func write(_ data: Data) throws {
        let total: Int64 = try file.withLock { file in
            try data.withUnsafeBytes { bytes in try file.append(bytes) }
            file.written += Int64(data.count)
            return file.startOffset + file.written
        }
        progress.update(total)
    }

    /// The server sends the file from its start: drop what we had.
    func restart() throws {
        try file.withLock { try $0.truncate() }
    }

    /// Writes out what is gathered and closes the file. Idempotent.
    func close() throws {
        try file.withLock { try $0.close() }
    }
}

/// The `.part` file's descriptor and gathering buffer, owned by one `PartFileWriter`; closed
/// and freed when it goes.
private struct OpenPartFile: ~Copyable {
    let path: String
    var fd: Int32
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: PartFileWriter.bufferSize, alignment: 4096)
    var buffered = 0
    var startOffset: Int64
    var written: Int64 = 0

    init(path: String, fd: Int32, startOffset: Int64) {
        self.path = path
        self.fd = fd
        self.startOffset = startOffset
    }

    deinit {
        if fd >= 0 { posixClose(fd) }
        buffer.deallocate()
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        if buffered + bytes.count > buffer.count { try flushBuffer() }
        if bytes.count >= PartFileWriter.directWriteThreshold {
            try flushBuffer()
            try writeAll(bytes)
            return
        }
        UnsafeMutableRawBufferPointer(rebasing: buffer[buffered...]).copyMemory(from: bytes)
        buffered += bytes.count
    }

    mutating func flushBuffer() throws {
        guard buffered > 0 else { return }
        let pending = buffered
        buffered = 0
        try writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<pending]))
    }

    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw RecetteFailure("\(path) is already closed") }
        var offset = 0
        while offset < bytes.count {
            let n = posixWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                let code = n < 0 ? errno : ENOSPC
                throw RecetteFailure("cannot write to \(path): \(String(cString: strerror(code))); check free space")
            }
        }
    }

    mutating func truncate() throws {
        buffered = 0
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else {
            throw RecetteFailure("cannot truncate \(path): \(String(cString: strerror(errno)))")
        }
        startOffset = 0
        written = 0
    }

    mutating func close() throws {
        guard fd >= 0 else { return }
        defer {
            posixClose(fd)
            fd = -1
        }
        try flushBuffer()
    }
}
