import Foundation
import Synchronization
import Testing
@testable import RecetteKit
@testable import RecetteWorld

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

/// Backup data on disk is the owner's only, whatever the umask, and a killed run's work
/// directory does not stay.
@Suite struct PrivateStateTests {
    static func mode(_ url: URL) throws -> Int { try DumpExtractionTests.mode(url) }

    /// The binary under umask 000: every directory it makes under `.recette/` is 0700.
    @Test(.tags(.postgres), .skippedInUnitLane) func aRestoreUnderUmask000KeepsItsFilesPrivate() async throws {
        let sample = try await SampleCache.shared.sample()
        let project = TestEnvironment.newProjectDirectory()
        // sh only to set the umask before exec'ing the binary; the arguments stay an argv.
        let command = Command("/bin/sh", ["-c", "umask 000 && exec \"$0\" \"$@\"", TestEnvironment.binary.path,
                                          "restore", sample.archive.path, "--target", "local", "--project-dir", project.path],
                              environment: TestEnvironment.cliEnvironment.merging(["RECETTE_DATABASE": "private_modes"]) { $1 })
        let result = try await CLI.collect(command, currentDirectory: project)
        #expect(result.status == 0, "\(result.standardError)")
        let state = project.appendingPathComponent(".recette")
        for directory in ["", "work", "runs"] {
            let mode = try Self.mode(state.appendingPathComponent(directory))
            #expect(mode == 0o700, ".recette/\(directory) is \(String(mode, radix: 8))")
        }
        let reports = try FileManager.default.contentsOfDirectory(at: state.appendingPathComponent("runs"), includingPropertiesForKeys: nil)
        #expect(!reports.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: state.appendingPathComponent("work").path).filter { $0 != ".lock" }.isEmpty,
                "the run's work directory is gone")
    }

    /// A run killed with SIGKILL once its dump is extracted leaves its work directory; the next
    /// run that makes one removes it, and leaves a living run's alone. (Killed as soon as the
    /// dump appears, during the checks: before the shared test cluster gets bulk-load settings.)
    @Test(.tags(.postgres), .skippedInUnitLane) func theWorkDirectoryOfAKilledRunIsRemovedByTheNextRun() async throws {
        let sample = try await SampleCache.shared.sample()
        let project = TestEnvironment.newProjectDirectory()
        let work = WorkDirectory.root(in: project.appendingPathComponent(".recette"))
        let (process, _) = try CLI.launch(["restore", sample.archive.path, "--target", "local", "--quiet", "--project-dir", project.path],
                                          environment: TestEnvironment.cliEnvironment.merging(["RECETTE_DATABASE": "killed_run"]) { $1 })
        var dumpSeen: URL?
        for _ in 0..<3000 where dumpSeen == nil {
            let runs = (try? FileManager.default.contentsOfDirectory(at: work, includingPropertiesForKeys: nil)) ?? []
            dumpSeen = runs.first { run in
                ((try? FileManager.default.contentsOfDirectory(atPath: run.appendingPathComponent("dump").path)) ?? []).contains { $0.hasSuffix(".pgsql") }
            }
            if dumpSeen == nil { try await Task.sleep(for: .milliseconds(5)) }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let leftover = try #require(dumpSeen, "the run never extracted its dump")
        #expect(FileManager.default.fileExists(atPath: leftover.path), "SIGKILL leaves the directory behind")
        #expect(try FileManager.default.contentsOfDirectory(atPath: leftover.appendingPathComponent("dump").path).contains { $0.hasSuffix(".pgsql") })

        let living = try WorkDirectory.create(in: project.appendingPathComponent(".recette"))
        defer { living.remove() }
        #expect(!FileManager.default.fileExists(atPath: leftover.path), "the killed run's directory is removed")
        let next = try WorkDirectory.create(in: project.appendingPathComponent(".recette"))
        defer { next.remove() }
        #expect(FileManager.default.fileExists(atPath: living.url.path), "a living run's directory stays")
    }

    /// A download lands 0600 in 0700 directories, and an older recette's 0644 partial file is
    /// made private before more is appended to it.
    @Test func aDownloadedBackupIsPrivate() async throws {
        let fixture = try ScalingoStandInTests.Fixture()
        let part = URL(fileURLWithPath: fixture.cached.path + ".part")
        try FileManager.default.createDirectory(at: part.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(contentsOf: fixture.archive).prefix(1000).write(to: part)
        chmod(part.path, 0o644)
        chmod(part.deletingLastPathComponent().path, 0o755)
        let downloaded = try await fixture.source().download(.newest)
        try fixture.expectIdentical(downloaded.file)
        #expect(try Self.mode(downloaded.file) == 0o600)
        #expect(try Self.mode(downloaded.file.deletingLastPathComponent()) == 0o700)
        #expect(try Self.mode(fixture.project.appendingPathComponent(".recette/backups")) == 0o700)
    }

    /// As root the server runs as postgres, which must still reach a cluster inside the now
    /// private `.recette/`: it is let through (search only), not given the directory.
    @Test(.tags(.postgres), .skippedInUnitLane, .enabled(if: geteuid() == 0, "the server runs as another user only when recette is root"))
    func theLocalClusterInsideAPrivateStateDirectoryStillStarts() async throws {
        let project = TestEnvironment.newProjectDirectory()
        var environment = ProcessInfo.processInfo.environment
        environment["RECETTE_LOCAL_DIR"] = nil
        let configuration = try Configuration.load(environment: environment, projectDirectory: project)
        let context = RecetteContext(configuration: configuration, runner: SubprocessRunner(), http: URLSessionTransport(), output: RecordingOutputSink(),
                                     logger: .init(label: "tests"), terminal: Terminal(standardOutputIsTTY: false, standardErrorIsTTY: false, colorEnabled: false),
                                     environment: environment)
        let work = try WorkDirectory.create(in: context.stateDirectory)
        work.remove()
        #expect(try Self.mode(context.stateDirectory) == 0o700)
        let cluster = context.localCluster
        #expect(cluster.directory.path.hasPrefix(context.stateDirectory.path + "/"))
        #expect(try await cluster.initializeIfNeeded())
        #expect(try Self.mode(context.stateDirectory) == 0o710)
        let postgres = try #require(SystemUser.lookup("postgres"))
        let group = (try FileManager.default.attributesOfItem(atPath: context.stateDirectory.path)[.groupOwnerAccountID] as? NSNumber)?.uint32Value
        #expect(group == postgres.gid)
        #expect(try Self.mode(WorkDirectory.root(in: context.stateDirectory)) == 0o700)
    }
}
