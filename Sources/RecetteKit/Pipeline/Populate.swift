import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import RecetteWorld

/// The steps of `recette populate`, in order. Checking the backup, resetting the database and
/// restoring it are one step: the reset never happens without a backup checked in the same run.
/// `reset` stands in for `backup` and `restore` (the pristine template cloned back into
/// place): it runs only when asked for (`--from reset`, `--only reset`), never in a plain run.
public enum PopulateStep: String, Sendable, CaseIterable, Codable, Comparable {
    case backup, restore, reset, cms, reindex, check

    public static func < (lhs: Self, rhs: Self) -> Bool { allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)! }

    public var summary: String {
        switch self {
        case .backup: "obtain the backup (Scalingo API, --scalingo-cli, or --backup FILE)"
        case .restore: "check the backup, reset the database, restore"
        case .reset: "back to the pristine template of the last restore (instead of backup and restore)"
        case .cms: "start the CMS and wait for its health URL"
        case .reindex: "rebuild the Meilisearch indexes"
        case .check: "compare the indexes with the database"
        }
    }
}

/// Where the backup comes from.
public enum BackupOrigin: Sendable, Equatable {
    case file(URL)
    case scalingoAPI(BackupChoice)
    case scalingoCLI(backupID: String?)
}

public struct PopulateOptions: Sendable {
    public var origin: BackupOrigin = .scalingoAPI(.newest)
    public var restore = RestoreOptions()
    public var reindexRoute: ReindexRoute?
    /// `--allow-shrink`: see `SearchReindex.allowShrink`.
    public var allowShrink = false
    /// `--allow-schema-drops`: start the CMS even when its boot sync would drop tables or
    /// columns of the restored copy.
    public var allowSchemaDrops = false
    public var from: PopulateStep?
    public var only: PopulateStep?
    public var skip: Set<PopulateStep> = []
    public var notify: [URL] = []

    public init() {}

    public func runs(_ step: PopulateStep) -> Bool {
        if skip.contains(step) { return false }
        if let only { return step == only }
        guard steps.contains(step) else { return false }
        if let from { return step >= from }
        return true
    }

    /// The steps of this run, in order: from the pristine template (`--from reset` or
    /// `--only reset`), or from a backup.
    public var steps: [PopulateStep] {
        from == .reset || only == .reset ? [.reset, .cms, .reindex, .check] : [.backup, .restore, .cms, .reindex, .check]
    }
}

/// One line of the run report.
public struct PopulateStepRecord: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable { case succeeded, failed, skipped }
    public var step: PopulateStep
    public var status: Status
    public var seconds: Double
    public var detail: String
    /// The restore's own phases (verify, reset, pg_restore, …).
    public var phases: [RestoreReport.Phase]?
}

public struct PopulateReport: Sendable, Codable {
    public var startedAt: Date
    public var finishedAt: Date
    public var succeeded: Bool
    public var error: String?
    public var target: String
    public var backup: String?
    public var steps: [PopulateStepRecord]
    public var restoreReport: String?
    public var reindex: [IndexRebuildReport]?
    public var pluginReindex: [PluginReindexReport]?
    public var search: [IndexStatus]?

    public var lines: [String] {
        var lines = ["populate \(succeeded ? "succeeded" : "FAILED") in \(String(format: "%.1f", finishedAt.timeIntervalSince(startedAt)))s (target \(target))"]
        let rows = steps.map { record -> [String] in
            var detail = record.detail
            if let phases = record.phases, !phases.isEmpty {
                detail += " (" + phases.map { "\($0.name) \(String(format: "%.1f", $0.seconds))s" }.joined(separator: ", ") + ")"
            }
            return [record.step.rawValue, record.status.rawValue, record.status == .skipped ? "-" : String(format: "%.1fs", record.seconds), detail]
        }
        lines += TextTable.render(header: ["step", "outcome", "time", "detail"], rows: rows, rightAligned: [2])
        return lines
    }
}

/// `recette populate`: the whole refresh, each step timed, in DESIGN.md's order.
public struct Populate: Sendable {
    public var context: RecetteContext
    public var options: PopulateOptions
    public var now: @Sendable () -> Date

    public init(context: RecetteContext, options: PopulateOptions, now: (@Sendable () -> Date)? = nil) {
        self.context = context
        self.options = options
        self.now = now ?? context.now
    }

    /// `--dry-run`: the plan with the concrete commands and what would be destroyed; read-only.
    public func plan() async throws -> [String] {
        let target = try Targets.resolve(context)
        var lines: [String] = ["recette populate, target \(target.kind.rawValue); nothing is changed by this dry run:"]
        for step in options.steps {
            guard options.runs(step) else {
                lines.append("[\(step.rawValue)] skipped")
                continue
            }
            lines.append("[\(step.rawValue)] \(step.summary)")
            do {
                lines += try await planLines(step, target: target)
            } catch {
                // A dry run shows every problem it can see, rather than stopping at the first.
                lines.append("  would fail: \(Redaction.redacting(context.configuration.secrets, in: String(describing: error)))")
            }
        }
        for url in options.notify { lines.append("then POST a JSON summary to \(Redaction.redactingURLPasswords(in: url.absoluteString))") }
        return lines
    }

    /// Each step's dry-run lines, from the step's own file (`Pipeline/Steps/`).
    private func planLines(_ step: PopulateStep, target: any Target) async throws -> [String] {
        switch step {
        case .backup: backupPlan()
        case .restore: try await restorePlan(target)
        case .reset: try await resetPlan(target)
        case .cms: try await cmsPlan(target)
        case .reindex: try await reindexPlan()
        case .check: checkPlan()
        }
    }

    /// Runs the steps; never throws: a failure ends the run and is in the report (`succeeded`
    /// false, `error`), which is also written to `.recette/runs/` and sent to `--notify` URLs.
    public func run(confirmReset: @escaping (ComposeResetPlan) throws -> Void) async -> PopulateReport {
        let startedAt = now()
        let clock = ContinuousClock()
        let logger = context.logger
        let target = context.configuration.text(.target)
        var run = PopulateRun(archive: nil, report: PopulateReport(startedAt: startedAt, finishedAt: startedAt, succeeded: false, target: target, steps: []),
                              confirmReset: confirmReset)
        if case .file(let url) = options.origin { run.archive = url }
        var failure: (any Error)?
        do {
            try checkCMSSource()
        } catch {
            failure = error
        }

        for step in options.steps {
            guard failure == nil, options.runs(step) else {
                run.report.steps.append(PopulateStepRecord(step: step, status: .skipped, seconds: 0,
                                                           detail: failure != nil ? "not run: an earlier step failed" : "not asked for"))
                continue
            }
            logger.info("step \(step.rawValue): \(step.summary)")
            let started = clock.now
            var record = PopulateStepRecord(step: step, status: .succeeded, seconds: 0, detail: "")
            do {
                switch step {
                case .backup: try await backupStep(&run, &record)
                case .restore: try await restoreStep(&run, &record)
                case .reset: try await resetStep(&run, &record)
                case .cms: try await cmsStep(&run, &record)
                case .reindex: try await reindexStep(&run, &record)
                case .check: try await checkStep(&run, &record)
                }
            } catch {
                failure = error
                record.status = .failed
                record.detail = Redaction.redacting(context.configuration.secrets, in: String(describing: error))
            }
            record.seconds = (clock.now - started).seconds
            logger.info("step \(step.rawValue): \(record.status.rawValue) in \(String(format: "%.1f", record.seconds))s")
            run.report.steps.append(record)
        }
        run.report.finishedAt = now()
        run.report.succeeded = failure == nil
        if let failure {
            run.report.error = failure is CancellationError ? "interrupted" : Redaction.redacting(context.configuration.secrets, in: String(describing: failure))
        }
        return run.report
    }

    /// Writes the report to `.recette/runs/populate-<timestamp>.json`.
    public func write(_ report: PopulateReport) throws -> URL {
        try RunReportFile.write(report, kind: "populate", startedAt: report.startedAt, stateDirectory: context.stateDirectory)
    }

    /// POSTs the report as JSON to every `--notify` URL (10 s each); a failed notification is
    /// a warning, never a failed run. Returns the URLs that did not take it.
    @discardableResult
    public func notify(_ report: PopulateReport) async -> [URL] {
        guard !options.notify.isEmpty else { return [] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        struct Summary: Encodable {
            var event = "recette.populate"
            var project: String
            var report: PopulateReport
        }
        guard let body = try? encoder.encode(Summary(project: context.projectDirectory.lastPathComponent, report: report)) else { return options.notify }
        var failed: [URL] = []
        for url in options.notify {
            var request = URLRequest(url: url, timeout: 10)
            request.httpMethod = "POST"
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("recette/\(RecetteVersion.current)", forHTTPHeaderField: "User-Agent")
            let shown = Redaction.redactingURLPasswords(in: url.absoluteString)
            do {
                let (_, response) = try await context.http.send(request)
                if !(200..<300).contains(response.statusCode) {
                    context.logger.warning("--notify \(shown) answered \(response.statusCode)")
                    failed.append(url)
                }
            } catch {
                context.logger.warning("--notify \(shown) failed: \(error)")
                failed.append(url)
            }
        }
        return failed
    }

    /// A CMS source the guard cannot read fails the run before its first step, not after the
    /// database was reset and restored.
    private func checkCMSSource() throws {
        guard options.runs(.cms), (try? Targets.resolve(context))?.runsCMS == true else { return }
        _ = try StrapiProject.configured(context.configuration)?.model()
    }
}
