import Foundation
import Synchronization
import RecetteWorld

/// The `local` target: a PostgreSQL cluster recette runs itself, under the project's
/// `.recette/local/`, with the machine's initdb and pg_ctl, listening on a free loopback port.
///
/// Authentication is scram-sha-256 with a generated password kept in `pgpass` (mode 0600)
/// next to the cluster; URLs name that file with libpq's `passfile` parameter, so the URL
/// printed for people carries no secret. When recette runs as root the server runs as the
/// `postgres` user, because initdb and postgres refuse to run as root.
public struct LocalCluster: Sendable {
    public struct Status: Sendable, Equatable {
        public var initialized: Bool
        public var running: Bool
        public var port: Int?
        public var serverVersion: String?
        /// Bulk-load settings written by ALTER SYSTEM and not reset (a restore is loading, or
        /// one was killed before it could reset them): they stay on across restarts.
        public var bulkLoadSettingsOn: [String] = []
    }

    public let directory: URL
    private let tools: PostgresTools
    private let runner: any ProcessRunning
    public let superuser = "postgres"
    /// The project's `.recette/` (0700) when the cluster may live inside it.
    private let stateDirectory: URL?

    public init(directory: URL, tools: PostgresTools, runner: any ProcessRunning, stateDirectory: URL? = nil) {
        self.directory = directory.standardizedFileURL
        self.tools = tools
        self.runner = runner
        self.stateDirectory = stateDirectory?.standardizedFileURL
    }

    public var dataDirectory: URL { directory.appendingPathComponent("data") }
    public var logFile: URL { directory.appendingPathComponent("postgres.log") }
    public var passwordFile: URL { directory.appendingPathComponent("pgpass") }
    private var settingsFile: URL { dataDirectory.appendingPathComponent("recette.conf") }

    /// The account the server runs as: `postgres` when we are root, ourselves otherwise.
    var serverUser: SystemUser? { SystemUser.isRoot ? SystemUser.lookup("postgres") : nil }

    // MARK: - Lifecycle

    /// Creates the cluster if it does not exist yet. Returns true when it was created.
    @discardableResult
    public func initializeIfNeeded() async throws -> Bool {
        try await whileStarting { try await initializeUnlocked() }
    }

    private func initializeUnlocked() async throws -> Bool {
        if FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) { return false }
        let initdb = try tools.require(.initdb)
        if SystemUser.isRoot && serverUser == nil {
            throw LocalClusterError.noPostgresUser
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try giveToServerUser(directory)
        try letServerUserThroughStateDirectory()
        try await checkServerUserCanWrite(directory)

        let password = Self.generatePassword()
        let initialPasswordFile = directory.appendingPathComponent(".initdb-password")
        try writePrivateFile(initialPasswordFile, contents: password + "\n", owner: serverUser)
        defer { try? FileManager.default.removeItem(at: initialPasswordFile) }
        try await runner.run(Command(initdb, [
            "--pgdata=\(dataDirectory.path)", "--username=\(superuser)",
            "--pwfile=\(initialPasswordFile.path)",
            "--auth-host=scram-sha-256", "--auth-local=peer",
            "--encoding=UTF8", "--no-locale", "--no-instructions",
        ], user: serverUser))
        // Written only once initdb succeeded: a pgpass without a cluster would lie.
        try writePrivateFile(passwordFile, contents: "127.0.0.1:*:*:\(superuser):\(password)\n", owner: nil)

        let postgresqlConf = dataDirectory.appendingPathComponent("postgresql.conf")
        let handle = try FileHandle(forWritingTo: postgresqlConf)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n# Added by recette: port and listen address live here.\ninclude_if_exists = 'recette.conf'\n".utf8))
        try handle.close()
        try writeSettings(port: Self.freeLoopbackPort())
        return true
    }

    /// Starts the server (initialising it first if needed) and returns its status.
    /// Already running: nothing to do.
    @discardableResult
    public func start() async throws -> Status {
        try await whileStarting { try await startUnlocked() }
    }

    /// Initialising and starting are one at a time per cluster: two recette processes (or two
    /// tasks) starting it together would both run initdb into the same directory, and the
    /// second fails on the first one's files. An flock on `start.lock`, waited for (bounded);
    /// the kernel releases it if its holder dies.
    private func whileStarting<T>(_ work: () async throws -> T) async throws -> T {
        if let stateDirectory, directory.path.hasPrefix(stateDirectory.path + "/") {
            // Made here first (`recette local start` on a new project): private, whatever the umask.
            try PrivateDirectory.makeIfMissing(stateDirectory)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let lockFile = directory.appendingPathComponent("start.lock")
        let descriptor = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RecetteFailure("cannot open \(lockFile.path): \(String(cString: strerror(errno))); check the permissions of \(directory.path)")
        }
        defer { close(descriptor) }
        var waited = 0
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            guard waited < 1_800 else {
                throw RecetteFailure("another process has been starting the local server in \(directory.path) for 3 minutes; see \(logFile.path)")
            }
            try await Task.sleep(for: .milliseconds(100))
            waited += 1
        }
        return try await work()
    }

    private func startUnlocked() async throws -> Status {
        _ = try await initializeUnlocked()
        // The password exists only there (written once, by initdb's run): without it no
        // connection can log in, and every step after this would fail on libpq's terse error.
        guard FileManager.default.fileExists(atPath: passwordFile.path) else {
            throw LocalClusterError.passwordFileMissing(path: passwordFile.path, directory: directory.path)
        }
        let current = try await status()
        if current.running { return try await resetAbandonedBulkLoad(current) }
        var port = configuredPort() ?? Self.freeLoopbackPort()
        if !Self.isLoopbackPortFree(port) { port = Self.freeLoopbackPort() }
        try writeSettings(port: port)
        let pgCtl = try tools.require(.pgCtl)
        do {
            try await runner.run(Command(pgCtl, ["--pgdata=\(dataDirectory.path)", "--log=\(logFile.path)", "--wait", "--timeout=60", "start"], user: serverUser))
        } catch let error as ProcessError {
            throw LocalClusterError.startFailed(logTail: Self.tail(of: logFile, lines: 5), underlying: error.description)
        }
        return try await resetAbandonedBulkLoad(try await status())
    }

    public func stop() async throws {
        guard try await status().running else { return }
        try await runner.run(Command(try tools.require(.pgCtl), ["--pgdata=\(dataDirectory.path)", "--mode=fast", "--wait", "stop"], user: serverUser))
    }

    public func status() async throws -> Status {
        guard FileManager.default.fileExists(atPath: dataDirectory.appendingPathComponent("PG_VERSION").path) else {
            return Status(initialized: false, running: false, port: nil, serverVersion: nil)
        }
        let version = (try? String(contentsOf: dataDirectory.appendingPathComponent("PG_VERSION"), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // pg_ctl status: 0 running, 3 not running, 4 no data directory.
        let result = try await runner.run(
            Command(try tools.require(.pgCtl), ["--pgdata=\(dataDirectory.path)", "status"], user: serverUser),
            input: nil, output: .discard, onStandardErrorLine: nil, acceptedExitStatuses: [0, 3, 4]
        )
        let running = result.exitStatus == 0
        return Status(initialized: true, running: running, port: running ? runningPort() ?? configuredPort() : configuredPort(), serverVersion: version,
                      bulkLoadSettingsOn: bulkLoadSettingsWritten())
    }

    /// The status, after putting back the normal settings a restore left on when it died
    /// (`kill -9`, a power cut): the kernel dropped its lock, so an exclusive `flock` on
    /// `bulk-load.lock` that succeeds at once means no restore is loading. Run by every start
    /// (`local start`, each restore's) and by `local status`: whoever touches the cluster next
    /// undoes them, instead of the next restore that happens to finish.
    public func resetAbandonedBulkLoad(_ status: Status) async throws -> Status {
        guard status.running, let port = status.port, !status.bulkLoadSettingsOn.isEmpty else { return status }
        let descriptor = try openBulkLoadLock()
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return status }  // a restore is loading
        // Read again under the lock: a restore that ended meanwhile has reset them itself.
        let left = bulkLoadSettingsWritten()
        if !left.isEmpty { try await resetSettings(left, port: port) }
        var status = status
        status.bulkLoadSettingsOn = bulkLoadSettingsWritten()
        return status
    }

    /// Which bulk-load settings `postgresql.auto.conf` (where ALTER SYSTEM writes) holds: read
    /// from the file, so it is known whether the server runs or not.
    func bulkLoadSettingsWritten() -> [String] {
        guard let text = try? String(contentsOf: dataDirectory.appendingPathComponent("postgresql.auto.conf"), encoding: .utf8) else { return [] }
        let names = Set(Self.bulkLoadSettings(jobs: 1).map(\.0))
        return text.split(separator: "\n").compactMap { line -> String? in
            let name = line.split(separator: "=", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces) ?? ""
            return names.contains(name) ? name : nil
        }
    }

    /// Creates `database` (empty) unless it exists, so the printed URL works at once.
    public func createDatabaseIfMissing(_ database: String, port: Int) throws {
        let admin = try PostgresConnection(url: url(database: "postgres", port: port))
        if try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]).rows.isEmpty {
            try admin.execute("CREATE DATABASE \(PostgresConnection.quoteIdentifier(database))")
        }
    }

    /// Settings PostgreSQL's docs name for an initial load into a throwaway server, all of
    /// them applied by a configuration reload (no restart that would cut other connections);
    /// wal_level=minimal is set for good in recette.conf. Safe here: the cluster holds only a
    /// copy, and a crash mid-restore means restoring again.
    public static func bulkLoadSettings(jobs: Int) -> [(String, String)] {
        [
            ("fsync", "off"), ("synchronous_commit", "off"), ("full_page_writes", "off"),
            ("max_wal_size", "8GB"), ("checkpoint_timeout", "30min"), ("autovacuum", "off"),
            // Budget: each job may use this much while building an index.
            ("maintenance_work_mem", "\(max(64, min(1024, 2048 / max(1, jobs))))MB"),
            ("max_parallel_maintenance_workers", "\(max(1, jobs))"),
        ]
    }

    /// Restores into this cluster can run side by side (two projects sharing one
    /// RECETTE_LOCAL_DIR, or the tests): each holds a shared `flock` on `bulk-load.lock` while
    /// it loads, applies the bulk-load settings (the same values, so applying twice is
    /// harmless), and only the last one out, the one that can turn its lock exclusive, puts
    /// the normal settings back. The kernel drops the lock of a process that dies, so a crash
    /// never blocks the others; the next start of the cluster (or `local status`) then sees
    /// settings on with nobody holding the lock and resets them (`resetAbandonedBulkLoad`).
    public final class BulkLoadHold: Sendable {
        /// -1 once taken by `endBulkLoad`.
        private let descriptor: Mutex<Int32>
        fileprivate init(descriptor: Int32) { self.descriptor = Mutex(descriptor) }
        fileprivate func take() -> Int32 { descriptor.withLock { taken in defer { taken = -1 }; return taken } }
        deinit { let descriptor = take(); if descriptor >= 0 { close(descriptor) } }
    }

    private var bulkLoadLockFile: URL { directory.appendingPathComponent("bulk-load.lock") }

    private func openBulkLoadLock() throws -> Int32 {
        let descriptor = open(bulkLoadLockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw RecetteFailure("cannot open \(bulkLoadLockFile.path): \(String(cString: strerror(errno))); check the permissions of \(directory.path)")
        }
        return descriptor
    }

    /// Joins the restores loading into this cluster and applies `settings`.
    public func beginBulkLoad(_ settings: [(String, String)], port: Int) async throws -> BulkLoadHold {
        let descriptor = try openBulkLoadLock()
        let hold = BulkLoadHold(descriptor: descriptor)
        // Exclusive only while another restore puts the normal settings back: a moment.
        var waited = 0
        while flock(descriptor, LOCK_SH | LOCK_NB) != 0 {
            guard waited < 1_200 else {
                throw RecetteFailure("another restore into the local server has held \(bulkLoadLockFile.lastPathComponent) for a minute; wait for it to finish, then retry")
            }
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        try await applySettings(settings, port: port)
        return hold
    }

    /// Leaves the restores loading into this cluster; the last one out resets `names`.
    public func endBulkLoad(_ hold: BulkLoadHold, resetting names: [String], port: Int) async throws {
        let descriptor = hold.take()
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        // Not atomic (flock(2)): of two restores ending together, at least one gets it.
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else { return }
        try await resetSettings(names, port: port)
    }

    /// Applies `settings` with ALTER SYSTEM and a configuration reload.
    public func applySettings(_ settings: [(String, String)], port: Int) async throws {
        let admin = try PostgresConnection(url: url(database: "postgres", port: port))
        for (name, value) in settings {
            try admin.execute("ALTER SYSTEM SET \(name) = \(PostgresConnection.quoteLiteral(value))")
        }
        try admin.execute("SELECT pg_reload_conf()")
        try await awaitReload(port: port, setting: "fsync", expected: settings.first { $0.0 == "fsync" }?.1)
    }

    public func resetSettings(_ names: [String], port: Int) async throws {
        let admin = try PostgresConnection(url: url(database: "postgres", port: port))
        for name in names { try admin.execute("ALTER SYSTEM RESET \(name)") }
        try admin.execute("SELECT pg_reload_conf()")
        try await awaitReload(port: port, setting: "fsync", expected: names.contains("fsync") ? "on" : nil)
    }

    /// pg_reload_conf() only signals the server: new sessions (pg_restore's) see the values
    /// once the postmaster has read the file. Wait for that, bounded.
    private func awaitReload(port: Int, setting: String, expected: String?) async throws {
        guard let expected else { return }
        for _ in 0..<600 {
            let fresh = try PostgresConnection(url: url(database: "postgres", port: port))
            if try fresh.query("SELECT current_setting($1)", [setting]).scalar == expected { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw RecetteFailure("the local server did not take the new \(setting) setting within 15 s; see \(logFile.path)")
    }

    // MARK: - Connecting

    /// A libpq URL for `database`. It holds no secret: the password comes from `passfile`.
    public func url(database: String, port: Int) -> String {
        let escapedDatabase = database.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? database
        let passfile = passwordFile.path.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? passwordFile.path
        return "postgresql://\(superuser)@127.0.0.1:\(port)/\(escapedDatabase)?passfile=\(passfile)"
    }

    /// Environment for client programs (pg_restore, pg_dump, psql) to reach `database`.
    public func clientEnvironment(database: String, port: Int) -> [String: String] {
        ["PGHOST": "127.0.0.1", "PGPORT": String(port), "PGUSER": superuser, "PGDATABASE": database, "PGPASSFILE": passwordFile.path]
    }

    // MARK: - Private

    private func writeSettings(port: Int) throws {
        let text = """
        # Written by recette at each start. The cluster listens on loopback only.
        port = \(port)
        listen_addresses = '127.0.0.1'
        unix_socket_directories = ''
        # A throwaway copy with no replicas: COPY into a table created in the same
        # transaction (parallel pg_restore does exactly that) then writes no WAL at all.
        wal_level = minimal
        max_wal_senders = 0

        """
        try Data(text.utf8).write(to: settingsFile)
        try giveToServerUser(settingsFile)
    }

    private func configuredPort() -> Int? {
        guard let text = try? String(contentsOf: settingsFile, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("port") {
            return Int(line.split(separator: "=").last?.trimmingCharacters(in: .whitespaces) ?? "")
        }
        return nil
    }

    /// The fourth line of postmaster.pid is the port the running server listens on.
    private func runningPort() -> Int? {
        guard let text = try? String(contentsOf: dataDirectory.appendingPathComponent("postmaster.pid"), encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.count > 3 ? Int(lines[3].trimmingCharacters(in: .whitespaces)) : nil
    }

    private func giveToServerUser(_ url: URL) throws {
        guard let user = serverUser else { return }
        guard chown(url.path, user.uid, user.gid) == 0 else {
            throw LocalClusterError.cannotPrepare(path: url.path, reason: String(cString: strerror(errno)))
        }
    }

    /// `.recette/` is its owner's only (it holds backup data), but the server user must pass
    /// through it to a cluster inside it: the directories from `.recette/` down to the cluster's
    /// get the server user's group with search permission only (0710: no listing, no reading).
    private func letServerUserThroughStateDirectory() throws {
        guard let user = serverUser, let stateDirectory, directory.path.hasPrefix(stateDirectory.path + "/") else { return }
        var current = directory.deletingLastPathComponent()
        while current.path.count >= stateDirectory.path.count {
            var info = stat()
            if stat(current.path, &info) == 0, info.st_uid == geteuid() {
                guard chown(current.path, uid_t.max, user.gid) == 0, chmod(current.path, 0o710) == 0 else {
                    throw LocalClusterError.cannotPrepare(path: current.path, reason: String(cString: strerror(errno)))
                }
            }
            current = current.deletingLastPathComponent()
        }
    }

    /// initdb fails obscurely when the postgres user cannot reach the project (e.g. under /root).
    private func checkServerUserCanWrite(_ url: URL) async throws {
        guard let user = serverUser else { return }
        do {
            try await runner.run(Command("test", ["-w", url.path, "-a", "-x", url.path], user: user))
        } catch is ProcessError {
            throw LocalClusterError.unreachableByServerUser(path: url.path)
        }
    }

    private func writePrivateFile(_ url: URL, contents: String, owner: SystemUser?) throws {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        try Data(contents.utf8).write(to: url)
        chmod(url.path, 0o600)
        if let owner { chown(url.path, owner.uid, owner.gid) }
    }

    static func generatePassword() -> String {
        let alphabet = Array("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<32).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func tail(of url: URL, lines: Int) -> [String] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").suffix(lines).map(String.init)
    }

    /// A free port on 127.0.0.1 for a server that binds it later (this cluster, a compose
    /// db), taken *below* the kernel's ephemeral range: a port from that range (what binding
    /// port 0 returns) can be taken in the meantime by any outgoing connection of the machine.
    /// Falls back to the kernel's choice when the range leaves no room below it.
    static func freeLoopbackPort() -> Int {
        let ephemeralStart = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
            .flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } } ?? 32768
        let candidates = 20_000..<max(20_000, min(ephemeralStart, 65_536))
        if candidates.count >= 1_000 {
            for _ in 0..<100 {
                let port = Int.random(in: candidates)
                // A port handed out earlier may not be bound yet (a server still starting):
                // never hand it out twice from one process.
                guard isLoopbackPortFree(port, reusingTimeWait: false), handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
                return port
            }
        }
        return kernelChosenLoopbackPort()
    }

    private static let handedOutPorts = Mutex<Set<Int>>([])

    private static func kernelChosenLoopbackPort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// With `reusingTimeWait`, binds as PostgreSQL does: a port whose last connections linger
    /// in TIME_WAIT is free to it.
    static func isLoopbackPortFree(_ port: Int, reusingTimeWait: Bool = true) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var one: Int32 = 1
        if reusingTimeWait { setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size)) }
        var address = loopbackAddress(port: port)
        return withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    private static func loopbackAddress(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

public enum LocalClusterError: Error, CustomStringConvertible {
    case noPostgresUser
    case unreachableByServerUser(path: String)
    case cannotPrepare(path: String, reason: String)
    case startFailed(logTail: [String], underlying: String)
    case passwordFileMissing(path: String, directory: String)

    public var description: String {
        switch self {
        case .noPostgresUser:
            "running as root, but there is no 'postgres' user to run the local PostgreSQL server; install PostgreSQL's server package or run recette as a normal user"
        case .unreachableByServerUser(let path):
            "the postgres user cannot write to \(path) (a parent directory is private?); set RECETTE_LOCAL_DIR to a directory it can reach, e.g. /var/tmp/recette"
        case .cannotPrepare(let path, let reason):
            "cannot prepare \(path): \(reason)"
        case .startFailed(let logTail, let underlying):
            "the local PostgreSQL server did not start (\(underlying))" + (logTail.last.map { "; its log says: \($0)" } ?? "")
        case .passwordFileMissing(let path, let directory):
            "\(path) is missing: it held the local cluster's generated password, which is lost with it; run 'recette local stop', move \(directory) aside, and the next run creates a new cluster (restore again)"
        }
    }
}

extension RecetteContext {
    /// The local target's cluster, under `local.directory`.
    public var localCluster: LocalCluster {
        LocalCluster(directory: configuration.path(.localDirectory) ?? stateDirectory.appendingPathComponent("local"), tools: postgresTools, runner: runner, stateDirectory: stateDirectory)
    }
}
