import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

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

    @OptionGroup(title: "Target") var targetOptions: TargetOptions

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

    @Flag(help: "local and compose targets: make every table UNLOGGED before loading its rows (no write-ahead log; a server crash empties them).")
    var unlogged = false

    @OptionGroup(title: "The copy") var copy: CopyOptions

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
        options.unlogged = unlogged
        copy.apply(to: &options)
        let restoreOptions = options
        let flags = try targetOptions.flags()
        let dropPrevious = dropPrevious
        try await CommandRunner.run(common, flags: flags, lock: "restore") { context in
            let file = archive.hasPrefix("/") ? URL(fileURLWithPath: archive) : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(archive)
            let target = try Targets.resolve(context, dropPrevious: dropPrevious)
            if context.dryRun {
                let lines = try await target.restorePlan(file: file, options: restoreOptions)
                context.output.write("would " + lines[0])
                lines.dropFirst().forEach(context.output.write)
                return
            }
            let prompt = context.prompt
            let outcome = try await target.restore(file: file, options: restoreOptions) { plan in
                try prompt.confirm(plan.question, action: "delete volume \(plan.volume.dockerName)", assumeYes: context.assumeYes)
            }
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
