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

        Targets: local (built: recette's own cluster, see 'recette local'); compose and url are
        not built yet.

        Example:
          recette restore tmp/backups/20261122101500_my-app_1.tar.gz --target local
        """.reflowed
    )

    @OptionGroup(title: "Common options") var common: CommonOptions

    @Argument(help: ArgumentHelp("The backup: a .tar.gz holding one .pgsql, or a custom-format dump.", valueName: "archive"))
    var archive: String

    @Option(help: "Where to restore: local, compose or url (default: RECETTE_TARGET, else local).")
    var target: RestoreTarget?

    @Option(help: "Parallel pg_restore jobs (default: number of cores).")
    var jobs: Int?

    @Flag(help: "Keep the dump's owners and privileges (their roles must exist on the target).")
    var keepOwners = false

    @Flag(help: "Restore foreign keys fully validated (slower) instead of adding them NOT VALID.")
    var validateForeignKeys = false

    @Option(help: ArgumentHelp("Do not restore the rows of matching tables (`*` wildcard, optional schema.); repeatable.", valueName: "pattern"))
    var excludeTableData: [String] = []

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
        options.schemaOnly = schemaOnly
        let restoreOptions = options
        var flags: [Setting: String] = [:]
        if let target { flags[.target] = target.rawValue }
        try await CommandRunner.run(common, flags: flags) { context in
            let targetName = context.configuration[.target] ?? "local"
            guard let target = RestoreTarget(rawValue: targetName) else {
                throw RecetteFailure("RECETTE_TARGET='\(targetName)' is not a target; use local, compose or url")
            }
            guard target == .local else {
                throw NotImplemented(command: "restore --target \(target.rawValue)", issue: "issue 'Restore engine'")
            }
            let file = archive.hasPrefix("/") ? URL(fileURLWithPath: archive) : URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(archive)
            let restore = LocalRestore(context: context, options: restoreOptions)
            if context.dryRun {
                context.output.write("would check \(file.path), restore it into a new database of the local cluster (\(context.localCluster.directory.path)) with pg_restore --no-owner --no-privileges --jobs=\(restore.jobs), then replace '\(restore.database)' with it")
                return
            }
            let outcome = try await restore.restore(archiveFile: file)
            let rows = outcome.rowCounts.map { [$0.qualifiedName, String($0.rows)] }
            TextTable.render(header: ["table", "rows"], rows: rows, rightAligned: [1]).forEach(context.output.write)
            let total = outcome.rowCounts.reduce(0) { $0 + $1.rows }
            context.output.write("\(outcome.rowCounts.count) tables, \(total) rows restored into '\(outcome.database)'")
            outcome.report.textLines().forEach(context.output.write)
            if let file = outcome.reportFile { context.output.write("report: \(file.path)") }
            context.output.write("DATABASE_URL=\(outcome.url)")
        }
    }
}
