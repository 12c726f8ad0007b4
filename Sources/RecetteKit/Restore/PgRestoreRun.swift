import Foundation
import Logging
import RecetteWorld

/// What to restore and how.
public struct RestoreOptions: Sendable, Equatable {
    /// Parallel pg_restore jobs.
    public var jobs: Int
    /// Keep the dump's owners (their roles must exist); default: `--no-owner --no-privileges`.
    public var keepOwners = false
    /// Add the dump's foreign keys as NOT VALID after the data: the rows were valid in the
    /// source, new writes are still checked, and validation (often the longest part of a
    /// restore) is skipped. `VALIDATE CONSTRAINT` can run later without blocking anyone.
    public var foreignKeysNotValid = true
    /// Table name patterns (`*` wildcard, optionally `schema.`) whose rows are not restored.
    public var excludedTableData: [String] = []
    /// Table name patterns left out entirely: the table and everything that depends on it
    /// (its data, indexes, constraints, sequences, triggers, foreign keys to it).
    public var excludedTables: [String] = []
    public var schemaOnly = false
    /// Tables become UNLOGGED between the schema and the rows: their rows and indexes skip the
    /// write-ahead log, and a server crash empties them. For throwaway copies only (local,
    /// compose); they stay unlogged.
    public var unlogged = false
    /// Keep a pristine template of the result (`<db>__recette_pristine`), for `reset --pristine`.
    public var pristine = true
    /// Restore with pg_restore even when the pristine template holds this very backup.
    public var fresh = false
    /// The prepare phase's wiring actions (LocalWiring): staging's Meilisearch and webhooks cut.
    public var localWiring = true

    public init(jobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)) { self.jobs = jobs }
}

/// One run of pg_restore (plus the unlogged and foreign keys steps), timed item by item, on
/// whichever server the target reaches: the one restore sequence of every target.
public struct PgRestoreRun: Sendable {
    public var server: any RestoreServer
    /// This machine's pg_restore: turns the dump's foreign keys into SQL (`--file=-`).
    public var pgRestore: String
    public var runner: any ProcessRunning
    public var logger: Logger
    public var database: String
    public var options: RestoreOptions

    public struct Outcome: Sendable {
        public var items: [ItemTiming]
        public var errors: [RestoreError]
        public var foreignKeysAddedNotValid: Int
        public var phases: [RestoreReport.Phase]
    }

    public init(server: any RestoreServer, pgRestore: String, runner: any ProcessRunning, logger: Logger, database: String, options: RestoreOptions) {
        self.server = server
        self.pgRestore = pgRestore
        self.runner = runner
        self.logger = logger
        self.database = database
        self.options = options
    }

    /// The `--use-list` lines for the main run: excluded data and (when added afterwards)
    /// foreign keys are commented out with `;`.
    public static func mainList(toc: TableOfContents, options: RestoreOptions, dependencies: [Int: [Int]] = [:]) -> (list: [String], foreignKeys: [TableOfContents.Entry]) {
        var foreignKeys: [TableOfContents.Entry] = []
        let excluded = excludedIDs(toc: toc, patterns: options.excludedTables, dependencies: dependencies)
        let list = toc.entries.map { entry -> String in
            if excluded.contains(entry.id) { return ";" + entry.line }
            if options.foreignKeysNotValid && entry.type == "FK CONSTRAINT" {
                foreignKeys.append(entry)
                return ";" + entry.line
            }
            if entry.type == "TABLE DATA" && options.excludedTableData.contains(where: { matches(pattern: $0, schema: entry.schema, table: entry.name) }) {
                return ";" + entry.line
            }
            return entry.line
        }
        return (list, foreignKeys)
    }

    /// The tables matching `patterns` and every entry that depends on them, transitively.
    static func excludedIDs(toc: TableOfContents, patterns: [String], dependencies: [Int: [Int]]) -> Set<Int> {
        guard !patterns.isEmpty else { return [] }
        let tables = toc.entries.filter { entry in
            entry.type == "TABLE" && patterns.contains { matches(pattern: $0, schema: entry.schema, table: entry.name) }
        }
        var excluded = Set(tables.map(\.id))
        var dependents: [Int: [Int]] = [:]
        for (id, depends) in dependencies { for dependency in depends { dependents[dependency, default: []].append(id) } }
        var queue = Array(excluded)
        while let id = queue.popLast() {
            for dependent in dependents[id] ?? [] where !excluded.contains(dependent) {
                excluded.insert(dependent)
                queue.append(dependent)
            }
        }
        return excluded
    }

    static func matches(pattern: String, schema: String, table: String) -> Bool {
        let parts = pattern.split(separator: ".", maxSplits: 1).map(String.init)
        let (schemaPattern, tablePattern) = parts.count == 2 ? (parts[0], parts[1]) : ("*", parts[0])
        return glob(schemaPattern, schema) && glob(tablePattern, table)
    }

    static func glob(_ pattern: String, _ text: String) -> Bool {
        let regex = "^" + NSRegularExpression.escapedPattern(for: pattern).replacingOccurrences(of: "\\*", with: ".*").replacingOccurrences(of: "\\?", with: ".") + "$"
        return text.range(of: regex, options: .regularExpression) != nil
    }

    /// pg_restore's arguments, without the database and the dump (a host run adds
    /// `--dbname` and the path; a container run its own).
    public static func arguments(options: RestoreOptions, listPath: String, sections: [String]) -> [String] {
        var arguments = ["--verbose", "--exit-on-error", "--jobs=\(options.jobs)", "--use-list=\(listPath)"]
        if !options.keepOwners { arguments += ["--no-owner", "--no-privileges"] }
        arguments.append("--no-comments")
        if options.schemaOnly { arguments.append("--schema-only") }
        arguments += sections.map { "--section=\($0)" }
        return arguments
    }

    /// Every ordinary table the dump created (not an extension's) becomes UNLOGGED. Run
    /// between pre-data and data: no foreign key exists yet to tie a logged table to it.
    public static let setUnloggedSQL = """
        DO $recette$
        DECLARE t regclass;
        BEGIN
            FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                     WHERE c.relkind = 'r' AND c.relpersistence = 'p'
                       AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
                       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            LOOP
                EXECUTE format('ALTER TABLE %s SET UNLOGGED', t);
            END LOOP;
        END
        $recette$;
        """

    /// The dump's foreign keys as SQL (pg_restore --use-list of those items --file=-), each
    /// made NOT VALID; and how many there are.
    static func foreignKeysNotValidSQL(pgRestore: String, runner: any ProcessRunning, dump: URL, foreignKeys: [TableOfContents.Entry],
                                       keepOwners: Bool, workDirectory: URL) async throws -> (String, Int) {
        let fkList = workDirectory.appendingPathComponent("foreign-keys.list")
        try (foreignKeys.map(\.line).joined(separator: "\n") + "\n").write(to: fkList, atomically: true, encoding: .utf8)
        var arguments = ["--use-list=\(fkList.path)", "--file=-", "--no-comments"]
        if !keepOwners { arguments += ["--no-owner", "--no-privileges"] }
        let sql = try await runner.run(Command(pgRestore, arguments + [dump.path])).outputText
        return notValid(sql)
    }

    static func dependencies(of dump: URL) throws -> [Int: [Int]] {
        guard let binary = ArchiveDataSizes.readTOC(from: dump) else {
            throw RecetteFailure("--exclude-table needs the dump's dependencies, which recette cannot read in this archive format; use --exclude-table-data instead")
        }
        return binary.dependencies
    }

    /// `ALTER TABLE ONLY … ADD CONSTRAINT … FOREIGN KEY (…) REFERENCES …;` → `… NOT VALID;`
    static func notValid(_ sql: String) -> (String, Int) {
        // Plain-text output of recent releases (15.14+, 16.10+, 17.6+) wraps the script in
        // psql meta-commands (\restrict KEY … \unrestrict KEY) that only psql understands.
        let sql = sql.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("\\") }.joined(separator: "\n")
        // An FK definition holds no ";": everything from ADD CONSTRAINT … FOREIGN KEY to the
        // next ";" is one constraint.
        let pattern = try! NSRegularExpression(pattern: #"(ADD CONSTRAINT\s+(?:"[^"]*"|\S+)\s+FOREIGN KEY[^;]*?)(\s+NOT VALID)?;"#)
        let range = NSRange(sql.startIndex..., in: sql)
        let count = pattern.numberOfMatches(in: sql, range: range)
        let rewritten = pattern.stringByReplacingMatches(in: sql, range: range, withTemplate: "$1 NOT VALID;")
        return (rewritten, count)
    }

    public func run(dump: URL, toc: TableOfContents, workDirectory: URL, onItemFinished: (@Sendable (ItemTiming) -> Void)? = nil) async throws -> Outcome {
        let clock = ContinuousClock()
        var phases: [RestoreReport.Phase] = []
        let dependencies = options.excludedTables.isEmpty ? [:] : try Self.dependencies(of: dump)
        let (list, foreignKeys) = Self.mainList(toc: toc, options: options, dependencies: dependencies)
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        let listFile = workDirectory.appendingPathComponent("restore.list")
        try (list.joined(separator: "\n") + "\n").write(to: listFile, atomically: true, encoding: .utf8)

        let log = PgRestoreLog(toc: toc, onItemFinished: onItemFinished)
        let (server, database, logger) = (server, database, logger)
        let start = clock.now
        let input = try await server.stage(dump: dump, list: listFile)
        func pgRestoreRun(sections: [String]) async throws {
            do {
                try await server.pgRestore(Self.arguments(options: options, listPath: input.listPath, sections: sections), input: input,
                                           database: database, onStandardErrorLine: log.lineHandler(logging: logger))
            } catch let error as ProcessError {
                log.finish()
                throw PgRestoreFailure(errors: log.restoreErrors, processError: error)
            }
            log.finish()
        }
        // What `stage` copied goes however the run ends; a fresh task runs even after Ctrl-C.
        var added = 0
        do {
            if options.unlogged && !options.schemaOnly {
                try await pgRestoreRun(sections: ["pre-data"])
                let unloggedStart = clock.now
                try await server.execute(Self.setUnloggedSQL, database: database)
                phases.append(.init(name: "schema (pre-data)", seconds: (unloggedStart - start).seconds))
                phases.append(.init(name: "SET UNLOGGED", seconds: (clock.now - unloggedStart).seconds))
                let dataStart = clock.now
                try await pgRestoreRun(sections: ["data", "post-data"])
                phases.append(.init(name: "rows and indexes (data, post-data)", seconds: (clock.now - dataStart).seconds))
                phases.append(.init(name: "pg_restore in all", seconds: (clock.now - start).seconds))
            } else {
                try await pgRestoreRun(sections: [])
                phases.append(.init(name: "pg_restore", seconds: (clock.now - start).seconds))
            }
            if !foreignKeys.isEmpty && !options.schemaOnly {
                let fkStart = clock.now
                let (rewritten, count) = try await Self.foreignKeysNotValidSQL(pgRestore: pgRestore, runner: runner, dump: dump, foreignKeys: foreignKeys,
                                                                               keepOwners: options.keepOwners, workDirectory: workDirectory)
                try await server.execute(rewritten, database: database)
                added = count
                phases.append(.init(name: "foreign keys (NOT VALID)", seconds: (clock.now - fkStart).seconds))
                logger.info("added \(count) foreign keys as NOT VALID (rows came from a valid source; new writes are checked)")
            }
        } catch {
            await Task { await server.unstage() }.value
            throw error
        }
        await server.unstage()
        return Outcome(items: log.itemTimings, errors: log.restoreErrors, foreignKeysAddedNotValid: added, phases: phases)
    }
}

/// pg_restore stopped on an error: names the failing item and the server's message.
public struct PgRestoreFailure: Error, CustomStringConvertible {
    public var errors: [RestoreError]
    public var processError: ProcessError

    public var description: String {
        if let first = errors.first {
            let message = first.message.replacingOccurrences(of: "could not execute query: ", with: "")
            return (first.tocEntry.map { "item \($0): " } ?? "") + message
        }
        let line = processError.standardErrorTail.first(where: { $0.contains("error:") })?
            .replacingOccurrences(of: "pg_restore: error: ", with: "") ?? processError.description
        return line
    }
}

