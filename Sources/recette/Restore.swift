import ArgumentParser
import Foundation
import RecetteKit

enum RestoreTarget: String, ExpressibleByArgument, CaseIterable {
    case local, compose, url
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a backup archive (.tar.gz from Scalingo) or a pg_dump -Fc file into a target.",
        discussion: """
        The archive is checked first (gzip and tar intact, exactly one dump inside, readable by
        pg_restore); nothing is touched before that. The dump is restored into a new database
        with pg_restore --no-owner --no-privileges, which then replaces the previous one: a
        failed restore leaves the previous database as it was. Prints row counts per table.

        Targets: local (recette's own cluster, see 'recette local'); compose (the project's db
        service: once the backup is checked, only that service's container and volume are reset
        — other volumes stay — and pg_restore runs inside the container); url (any PostgreSQL URL,
        e.g. a review app through 'scalingo db-tunnel': the replaced database is kept under a
        dated name until the next run; a server that is not this machine needs --target-url and
        --yes or a typed confirmation).

        Examples:
          recette restore tmp/backups/20261122101500_my-app_1.tar.gz --target local
          recette restore backup.tar.gz --target-url postgresql://app@127.0.0.1:10000/my_review_app
        """.reflowed
    )

    @OptionGroup(title: "Common options") var common: CommonOptions

    @Argument(help: ArgumentHelp("The backup: a .tar.gz holding one .pgsql, or a custom-format dump.", valueName: "archive"))
    var archive: String

    @Option(help: "Where to restore: local, compose or url (default: RECETTE_TARGET, else local).")
    var target: RestoreTarget?

    @Option(help: ArgumentHelp("Restore into this PostgreSQL URL (the url target); needed, with a confirmation, for a server that is not this machine.", valueName: "url"))
    var targetURL: String?

    @Flag(help: "url target: drop the replaced database instead of keeping it (dated) until the next run.")
    var dropPrevious = false

    @Option(help: "Parallel pg_restore jobs (default: number of cores).")
    var jobs: Int?

    @Flag(help: "Keep the dump's owners and privileges (their roles must exist on the target).")
    var keepOwners = false

    @Flag(help: "Restore foreign keys fully validated (slower) instead of adding them NOT VALID.")
    var validateForeignKeys = false

    @Option(help: ArgumentHelp("Do not restore the rows of matching tables (`*` wildcard, optional schema.); repeatable.", valueName: "pattern"))
    var excludeTableData: [String] = []

    @Option(help: ArgumentHelp("Leave out matching tables entirely, with what depends on them (indexes, constraints, foreign keys to them); repeatable.", valueName: "pattern"))
    var excludeTable: [String] = []

    @Flag(help: "Restore the schema only, no rows.")
    var schemaOnly = false

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        let archive = archive
        var options = RestoreOptions()
        if let jobs { options.jobs = jobs }
        options.keepOwners = keepOwners
        options.foreignKeysNotValid = !validateForeignKeys
        options.excludedTableData = excludeTableData
        options.excludedTables = excludeTable
        options.schemaOnly = schemaOnly
        let restoreOptions = options
        var flags: [Setting: String] = [:]
        if let target { flags[.target] = target.rawValue }
        if let targetURL {
            if let target, target != .url { throw ValidationError("--target-url goes with --target url") }
            flags[.target] = RestoreTarget.url.rawValue
            flags[.databaseURL] = targetURL
        }
        let (namedURL, dropPrevious) = (targetURL != nil, dropPrevious)
        try await CommandRunner.run(common, flags: flags, lock: "restore") { context in
            let targetName = context.configuration[.target] ?? "local"
            guard let target = RestoreTarget(rawValue: targetName) else {
                throw RecetteFailure("RECETTE_TARGET='\(targetName)' is not a target; use local, compose or url")
            }
            let file = archive.hasPrefix("/") ? URL(fileURLWithPath: archive) : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(archive)
            let destination: any RestoreDestination
            let database: String
            switch target {
            case .compose:
                let reset = try ComposeDatabaseReset.configured(by: context)
                let restore = ComposeRestore(context: context, reset: reset, options: restoreOptions)
                if context.dryRun {
                    let plan = try await reset.plan()
                    context.output.write("would check \(file.path) (also against the pg_restore of the '\(reset.service)' image), then:")
                    plan.lines.forEach(context.output.write)
                    context.output.write("then copy the dump into the container and run pg_restore --no-owner --no-privileges --jobs=\(restoreOptions.jobs) there")
                    return
                }
                let prompt = ConfirmationPrompt.standard()
                let outcome = try await restore.restore(archiveFile: file) { plan in
                    try prompt.confirm(plan.question, action: "delete volume \(plan.volume.dockerName)", assumeYes: context.assumeYes)
                }
                Self.print(outcome, to: context)
                return
            case .local:
                destination = LocalDestination(cluster: context.localCluster, jobs: restoreOptions.jobs)
                database = context.configuration[.localDatabase] ?? "recette"
            case .url:
                guard let text = context.configuration.secret(.databaseURL)?.reveal() else {
                    throw RecetteFailure("the url target needs DATABASE_URL (or --target-url): the database to replace, e.g. through 'scalingo db-tunnel' on 127.0.0.1:10000")
                }
                let url = try PostgresURL(text)
                let source = try context.configuration.secret(.sourceDatabaseURL).map { try PostgresURL($0.reveal()) }
                let confirmation: URLTargetGuard.Confirmation = context.assumeYes ? .assumeYes
                    : context.terminal.standardErrorIsTTY && isatty(STDIN_FILENO) == 1 ? .ask { prompt in
                        FileHandle.standardError.write(Data(prompt.utf8))
                        return readLine()
                    } : .impossible
                try URLTargetGuard.check(target: url, namedOnCommandLine: namedURL, source: source, confirmation: confirmation)
                destination = URLDestination(target: url, dropPrevious: dropPrevious)
                database = url.database
            }
            if context.dryRun {
                context.output.write("would check \(file.path), restore it into a new database '\(database)__recette_incoming' on \(destination.serverDescription) with pg_restore --no-owner --no-privileges --jobs=\(restoreOptions.jobs), then rename it to '\(database)'" + (destination.keepsPreviousDatabase ? ", keeping the replaced one under a dated name" : ", dropping the replaced one"))
                return
            }
            let outcome = try await DatabaseRestore(context: context, destination: destination, database: database, options: restoreOptions).restore(archiveFile: file)
            Self.print(outcome, to: context)
        }
    }

    static func print(_ outcome: RestoreOutcome, to context: RecetteContext) {
        let rows = outcome.rowCounts.map { [$0.qualifiedName, String($0.rows)] }
        TextTable.render(header: ["table", "rows"], rows: rows, rightAligned: [1]).forEach(context.output.write)
        let total = outcome.rowCounts.reduce(0) { $0 + $1.rows }
        context.output.write("\(outcome.rowCounts.count) tables, \(total) rows restored into '\(outcome.database)'")
        outcome.report.textLines().forEach(context.output.write)
        if let file = outcome.reportFile { context.output.write("report: \(file.path)") }
        if let previous = outcome.previousDatabase { context.output.write("previous database kept as '\(previous)' (dropped by the next restore, or now with --drop-previous)") }
        context.output.write(outcome.url.hasPrefix("postgres") ? "DATABASE_URL=\(outcome.url)" : "restored into \(outcome.url)")
    }
}
