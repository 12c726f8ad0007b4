import Foundation
import Glibc
import Testing
@testable import RecetteWorld

/// `FileReadahead` puts a directory's files in the page cache: evicted first (their pages
/// written and dropped with `POSIX_FADV_DONTNEED`), they are resident again after the advice,
/// as `mincore` sees it. Links and subdirectories are left alone.
struct FileReadaheadTests {
    static let fileBytes = 4 << 20

    @Test func advisedFilesComeBackIntoThePageCacheAndLinksAreNotFollowed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("readahead-\(UUID().uuidString)")
        let outside = FileManager.default.temporaryDirectory.appendingPathComponent("readahead-outside-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(at: directory)
            try? FileManager.default.removeItem(at: outside)
        }
        let names = ["16384", "16384.1", "16390_fsm"]
        for name in names {
            try Data(repeating: UInt8(name.count), count: Self.fileBytes).write(to: directory.appendingPathComponent(name))
        }
        try Data(repeating: 7, count: Self.fileBytes).write(to: outside)
        try FileManager.default.createSymbolicLink(atPath: directory.appendingPathComponent("link").path, withDestinationPath: outside.path)
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("sub"), withIntermediateDirectories: false)

        let paths = names.map { directory.appendingPathComponent($0).path }
        for path in paths + [outside.path] { try evict(path) }
        // Eviction is advice too: only go on once it took (clean pages are dropped at once).
        try #require(paths.allSatisfy { (try? residentFraction($0)) ?? 1 < 0.5 }, "the files could not be evicted first")

        let advised = try #require(FileReadahead.advise(directory: directory.path))
        #expect(advised == FileReadahead.Advised(files: names.count, bytes: Int64(names.count * Self.fileBytes)))
        // The reads run in the background: wait for them, bounded.
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline, try paths.contains(where: { try residentFraction($0) < 1 }) {
            Thread.sleep(forTimeInterval: 0.02)
        }
        for path in paths { #expect(try residentFraction(path) == 1, "\(path)") }
        #expect(try residentFraction(outside.path) < 0.5, "the link's target was read ahead")
    }

    @Test func aDirectoryThatCannotBeReadIsNil() {
        #expect(FileReadahead.advise(directory: "/nonexistent-\(UUID().uuidString)") == nil)
    }

    /// Written to disk, then dropped from the page cache.
    private func evict(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw POSIXError(.ENOENT) }
        defer { close(descriptor) }
        fdatasync(descriptor)
        posix_fadvise(descriptor, 0, 0, POSIX_FADV_DONTNEED)
    }

    /// The share of the file's pages in the page cache.
    private func residentFraction(_ path: String) throws -> Double {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw POSIXError(.ENOENT) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_size > 0 else { throw POSIXError(.EIO) }
        let length = Int(status.st_size)
        guard let mapping = mmap(nil, length, PROT_READ, MAP_SHARED, descriptor, 0), mapping != MAP_FAILED else { throw POSIXError(.ENOMEM) }
        defer { munmap(mapping, length) }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (length + page - 1) / page)
        guard mincore(mapping, length, &vector) == 0 else { throw POSIXError(.EINVAL) }
        return Double(vector.filter { $0 & 1 == 1 }.count) / Double(vector.count)
    }
}
