import ArgumentParser
import Foundation
import RecetteKit
import RecetteWorld

extension PopulateStep: ExpressibleByArgument {}

struct Populate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole refresh: obtain the backup, verify it, reset the db, restore, start the CMS, reindex, verify, report.",
        discussion: """
        Steps, in order: backup (download the newest 'done' backup through Scalingo's API, or
        with --scalingo-cli, or use --backup FILE), restore (check the archive; only then reset
        the database — compose: only the db service's container and volume — and restore it),
        cms (compose target: docker compose up --wait, then poll RECETTE_CMS_HEALTH_URL), reindex
        (recette reindex: --via direct or plugin), check (each index's documents against its
        query). Each step is timed; the report lists every step with its outcome and is written
        to .recette/runs/populate-<timestamp>.json.

        --from STEP starts at a step (a restore without the backup step uses --backup FILE or the
        newest archive in .recette/backups/); --from reset starts from the pristine template of
        the last restore instead (reset, then cms, reindex, check: see 'recette reset
        --pristine'); --only STEP runs one step; --skip STEP leaves one out. One run at a time per project: a second one is refused with the holder's pid and
        start time. --notify URL (repeatable) POSTs the report as JSON at the end, success or
        failure. --dry-run prints the plan with the concrete commands and what would be
        destroyed, and changes nothing.

        Examples:
          recette populate --yes
          recette populate --backup tmp/backups/20261122101500_my-app_1.tar.gz --target local
          recette populate --only reindex
          recette populate --from reset
          recette populate --dry-run
        """.reflowed
    )
    @OptionGroup(title: "Common options") var common: CommonOptions
    @Option(help: ArgumentHelp("Use this backup file instead of downloading one.", valueName: "file"))
    var backup: String?
    @Option(help: ArgumentHelp("Download this Scalingo backup id (default: the newest 'done' one).", valueName: "id"))
    var backupId: String?
    @Option(help: ArgumentHelp("Download the newest 'done' backup created that day (UTC).", valueName: "YYYY-MM-DD"))
    var date: String?
    @Flag(help: "Download with the installed 'scalingo' CLI instead of the API (token passed in its environment).")
    var scalingoCli = false
    @OptionGroup(title: "Target") var targetOptions: TargetOptions
    @Option(help: "Parallel pg_restore jobs (default: number of cores).")
    var jobs: Int?

    @Flag(help: "local and compose targets: make every table UNLOGGED before loading its rows (no write-ahead log; a server crash empties them).")
    var unlogged = false
    @OptionGroup(title: "The copy") var copy: CopyOptions
    @Option(help: "How to rebuild the indexes: direct or plugin (default: RECETTE_REINDEX_VIA, else direct when search.indexes is configured).")
    var via: ReindexRoute?
    @Flag(help: "Let the reindex replace an index even when the rebuilt one lost more than RECETTE_SEARCH_MAX_SHRINK of its documents.")
    var allowShrink = false
    @Flag(help: "Start the CMS even when Strapi's boot schema sync would drop tables or columns of the copy (see 'recette strapi check').")
    var allowSchemaDrops = false
    @Option(help: ArgumentHelp("Start at this step: \(PopulateStep.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "step"))
    var from: PopulateStep?
    @Option(help: ArgumentHelp("Run only this step.", valueName: "step"))
    var only: PopulateStep?
    @Option(help: ArgumentHelp("Leave this step out (repeatable).", valueName: "step"))
    var skip: [PopulateStep] = []
    @Option(help: ArgumentHelp("POST the run report as JSON to this URL at the end (repeatable).", valueName: "url"))
    var notify: [String] = []
    @Flag(help: "Print the run report as JSON on standard output.")
    var json = false

    func validate() throws {
        if from != nil && only != nil { throw ValidationError("give --from or --only, not both") }
        if [backup != nil, backupId != nil, date != nil].filter({ $0 }).count > 1 { throw ValidationError("give one of --backup, --backup-id and --date") }
        if scalingoCli && (backup != nil || date != nil) { throw ValidationError("--scalingo-cli downloads a backup: it goes with --backup-id, not --backup FILE or --date") }
        if let date, !BackupChoice.isValidDay(date) { throw ValidationError("--date '\(date)' is not a date like 2026-11-20") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        for text in notify {
            guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                throw ValidationError("--notify '\(text)' is not an http(s) URL")
            }
        }
    }

    func run() async throws {
        var options = PopulateOptions()
        if let backup {
            let path = CommandWorld.file(backup).path
            options.origin = .file(URL(fileURLWithPath: path).standardizedFileURL)
        } else if scalingoCli {
            options.origin = .scalingoCLI(backupID: backupId)
        } else {
            options.origin = .scalingoAPI(backupId.map { .id($0) } ?? date.map { .day($0) } ?? .newest)
        }
        if let jobs { options.restore.jobs = jobs }
        options.restore.unlogged = unlogged
        copy.apply(to: &options.restore)
        options.reindexRoute = via
        options.allowShrink = allowShrink
        options.allowSchemaDrops = allowSchemaDrops
        options.from = from
        options.only = only
        options.skip = Set(skip)
        options.notify = notify.compactMap(URL.init(string:))
        let flags = try targetOptions.flags()
        let (populateOptions, json) = (options, json)
        try await CommandRunner.run(common, flags: flags, lock: "populate", detectingSearchServer: true) { context in
            let populate = RecetteKit.Populate(context: context, options: populateOptions)
            if context.dryRun {
                try await populate.plan().forEach(context.output.write)
                return
            }
            let prompt = context.prompt
            let report = await populate.run { plan in
                try prompt.confirm(plan.question, action: "delete volume \(plan.volume.dockerName)", assumeYes: context.assumeYes)
            }
            let file = try? populate.write(report)
            await populate.notify(report)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                encoder.dateEncodingStrategy = .iso8601
                context.output.write(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                report.lines.forEach(context.output.write)
                if let file { context.output.write("report: \(file.path)") }
            }
            if !report.succeeded {
                if report.error == "interrupted" { throw CancellationError() }
                // Refused before its first step (a CMS source that cannot be read): nothing to resume.
                guard let failed = report.steps.first(where: { $0.status == .failed })?.step.rawValue else {
                    throw RecetteFailure(report.error ?? "populate failed before its first step")
                }
                throw RecetteFailure("step '\(failed)' failed: \(report.error ?? "?") — fix it, then resume with: recette populate --from \(failed)")
            }
        }
    }
}
