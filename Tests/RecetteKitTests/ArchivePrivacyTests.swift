import Foundation
import Synchronization
import Testing
@testable import RecetteKit

/// Archives built with real `tar`: only the one dump leaves them, as a private regular file of
/// its header's size; links, special files, unsafe paths, a full disk and a pipe are refused
/// with their own cause in one line.
@Suite struct DumpExtractionTests {
    static let dumpName = "20261120030000_my-app_1.pgsql"

    /// A staging directory, packed with `tar --create --gzip` member by member, as named.
    struct Staging {
        let directory = TestEnvironment.scratchDirectory.appendingPathComponent("extraction-\(UUID().uuidString.prefix(8))")
        var files: URL { directory.appendingPathComponent("files") }
        var archive: URL { directory.appendingPathComponent("20261120030000_my-app_1.tar.gz") }
        var extractInto: URL { directory.appendingPathComponent("work/dump") }

        init() throws {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent("files"), withIntermediateDirectories: true)
        }

        func write(_ name: String, _ data: Data) throws -> URL {
            let url = files.appendingPathComponent(name)
            try data.write(to: url)
            return url
        }

        func pack(_ members: [String]) async throws -> URL {
            try await SubprocessRunner().run(Command("tar", ["--create", "--gzip", "--file", archive.path, "--directory", files.path] + members.map { "./" + $0 }))
            return archive
        }

        func extract() async throws -> URL {
            let archive = try await BackupArchive.inspect(archive, runner: SubprocessRunner())
            return try await archive.dumpFile(extractingInto: extractInto, runner: SubprocessRunner())
        }

        var extracted: [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: extractInto.path)) ?? []).sorted()
        }
    }

    static func randomBytes(_ count: Int) throws -> Data {
        let random = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
        defer { try? random.close() }
        return try random.read(upToCount: count) ?? Data()
    }

    static func mode(_ url: URL) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// 64 MiB of zeros next to the dump (gzip makes them 64 KiB): before, every member was
    /// written out, so a small archive could fill the disk.
    @Test func onlyTheDumpLeavesTheArchiveAsAPrivateFile() async throws {
        let staging = try Staging()
        let dump = try Self.randomBytes(200_000)
        _ = try staging.write(Self.dumpName, dump)
        _ = try staging.write("README.txt", Data("hello".utf8))
        let big = try staging.write("huge.bin", Data())
        try FileHandle(forWritingTo: big).truncate(atOffset: 64 << 20)
        _ = try await staging.pack(["README.txt", "huge.bin", Self.dumpName])
        #expect(try FileManager.default.attributesOfItem(atPath: staging.archive.path)[.size] as? Int ?? .max < 4 << 20)

        let extracted = try await staging.extract()
        #expect(extracted.lastPathComponent == Self.dumpName)
        #expect(try Data(contentsOf: extracted) == dump)
        #expect(staging.extracted == [Self.dumpName], "nothing but the dump is written")
        #expect(try Self.mode(extracted) == 0o600)
        #expect(try Self.mode(staging.extractInto) == 0o700)
    }

    enum SpecialMember: String, CaseIterable, CustomTestStringConvertible {
        case symbolicLink, hardLink, fifo
        var testDescription: String { rawValue }
        var expectedWords: String {
            switch self {
            case .symbolicLink: "is a symbolic link to '"
            case .hardLink: "is a hard link to './other.bin'"
            case .fifo: "is a FIFO, not a regular file"
            }
        }
    }

    /// Whatever the dump member is if not a file, nothing is created for it (no link to follow
    /// later, no FIFO for pg_restore to hang on), and the message says what it is.
    @Test(arguments: SpecialMember.allCases)
    func aDumpMemberThatIsNotARegularFileIsRefused(_ kind: SpecialMember) async throws {
        let staging = try Staging()
        let elsewhere = staging.directory.appendingPathComponent("elsewhere.pgsql")
        try Self.randomBytes(1000).write(to: elsewhere)
        var members = [Self.dumpName]
        switch kind {
        case .symbolicLink:
            try FileManager.default.createSymbolicLink(atPath: staging.files.appendingPathComponent(Self.dumpName).path, withDestinationPath: elsewhere.path)
        case .hardLink:
            let other = try staging.write("other.bin", Data("x".utf8))
            try FileManager.default.linkItem(at: other, to: staging.files.appendingPathComponent(Self.dumpName))
            members = ["other.bin", Self.dumpName]
        case .fifo:
            #expect(mkfifo(staging.files.appendingPathComponent(Self.dumpName).path, 0o600) == 0)
        }
        _ = try await staging.pack(members)
        do {
            let dump = try await staging.extract()
            Issue.record("extracted \(dump.path)")
        } catch {
            let message = "\(error)"
            #expect(message.contains("the dump './\(Self.dumpName)' in '\(staging.archive.path)' \(kind.expectedWords)"), "\(message)")
            #expect(message.hasSuffix("download the backup again"), "\(message)")
            #expect(!message.contains("\n"))
        }
        #expect(!staging.extracted.contains(Self.dumpName))
    }

    /// A tmpfs of 1 MiB, a dump of 4 MiB: the header's size is checked against the free space
    /// before anything is written, and the cause is named (it used to read as a corrupt archive).
    @Test(.enabled(if: geteuid() == 0, "mounting a tmpfs needs root"))
    func aDumpLargerThanTheFreeSpaceIsNamedAsSuch() async throws {
        let staging = try Staging()
        _ = try staging.write(Self.dumpName, try Self.randomBytes(4 << 20))
        _ = try await staging.pack([Self.dumpName])
        let mount = staging.directory.appendingPathComponent("work")
        try FileManager.default.createDirectory(at: mount, withIntermediateDirectories: true)
        try await SubprocessRunner().run(Command("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mount.path]))
        defer { _ = try? Process.run(URL(fileURLWithPath: "/bin/umount"), arguments: [mount.path]).waitUntilExit() }
        do {
            let dump = try await staging.extract()
            Issue.record("extracted \(dump.path)")
        } catch {
            let message = "\(error)"
            #expect(message.hasPrefix("not enough disk space to extract the dump of '\(staging.archive.path)': it needs 4.0 MiB, "), "\(message)")
            #expect(message.contains("free in \(staging.extractInto.path); free some space there and retry"), "\(message)")
        }
        #expect(staging.extracted.isEmpty, "no partial dump is left")
    }

    /// `recette restore <(curl …)`: a pipe. Opening a FIFO blocks until someone writes, and what
    /// comes through can be read once: refused before it is opened. (Without the check the open
    /// blocks; after 10 s the test writes nothing and closes, which ends it.)
    @Test func aPipeGivenAsTheArchiveIsRefusedWithoutBeingOpened() async throws {
        let staging = try Staging()
        let fifo = staging.directory.appendingPathComponent("backup.tar.gz")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let finished = Mutex(false)
        let unblock = Task {
            try await Task.sleep(for: .seconds(10))
            guard !finished.withLock({ $0 }) else { return }
            Issue.record("BackupArchive.inspect blocked on the pipe")
            let writer = open(fifo.path, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
        }
        defer { unblock.cancel() }
        do {
            _ = try await BackupArchive.inspect(fifo, runner: SubprocessRunner())
            Issue.record("a pipe was accepted")
        } catch {
            #expect("\(error)" == "'\(fifo.path)' is a pipe, not a regular file; save the backup to a file first and give that file's path")
        }
        finished.withLock { $0 = true }
    }
}

