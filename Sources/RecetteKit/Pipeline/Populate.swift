import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging

/// The steps of `recette populate`, in order. Checking the backup, resetting the database and
/// restoring it are one step: the reset never happens without a backup checked in the same run.
public enum PopulateStep: String, Sendable, CaseIterable, Codable, Comparable {
    case backup, restore, cms, reindex, check

    public static func < (lhs: Self, rhs: Self) -> Bool { allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)! }

    public var summary: String {
        switch self {
        case .backup: "obtain the backup (Scalingo API, --scalingo-cli, or --backup FILE)"
        case .restore: "check the backup, reset the database, restore"
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
    public var from: PopulateStep?
    public var only: PopulateStep?
    public var skip: Set<PopulateStep> = []
    public var notify: [URL] = []

    public init() {}

    public func runs(_ step: PopulateStep) -> Bool {
        if skip.contains(step) { return false }
        if let only { return step == only }
        if let from { return step >= from }
        return true
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

    public init(context: RecetteContext, options: PopulateOptions, now: @escaping @Sendable () -> Date = { Date() }) {
        self.context = context
        self.options = options
        self.now = now
    }

    /// `--dry-run`: the plan with the concrete commands and what would be destroyed; read-only.
    public func plan() async throws -> [String] {
        let target = try RestoreTargetKind.configured(context.configuration)
        var lines: [String] = ["recette populate, target \(target.rawValue); nothing is changed by this dry run:"]
        for step in PopulateStep.allCases {
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

    private func planLines(_ step: PopulateStep, target: RestoreTargetKind) async throws -> [String] {
            var lines: [String] = []
            switch step {
            case .backup:
                switch options.origin {
                case .file(let url): lines.append("  use \(url.path)")
                case .scalingoAPI(let choice):
                    let app = context.configuration[.scalingoApp] ?? "(SCALINGO_APP not set)"
                    lines.append("  download the \(choice) backup of app \(app), addon \(context.configuration[.addonName] ?? "postgresql"), through Scalingo's API into \(context.stateDirectory.appendingPathComponent("backups").path) (cached by backup id)")
                case .scalingoCLI(let id):
                    lines.append("  run: scalingo --app APP --addon ADDON backups-download" + (id.map { " --backup \($0)" } ?? "") + " (token in its environment)")
                }
            case .restore:
                let file: URL
                switch options.origin {
                case .file(let url): file = url
                default: file = cachedArchive() ?? context.stateDirectory.appendingPathComponent("backups/<downloaded>.tar.gz")
                }
                lines += try await TargetRestore(context: context, options: options.restore).plan(file: file).map { "  " + $0 }
            case .cms:
                if target == .compose {
                    let starter = try await CMSStarter.configured(by: context, compose: true)
                    lines.append("  run: docker compose up --detach --wait \(starter.service), then poll \(starter.healthURL.absoluteString) (up to \(Int(starter.timeout.seconds))s)")
                } else {
                    lines.append("  nothing to start: the \(target.rawValue) target runs no CMS")
                }
            case .reindex:
                lines += try SearchReindex(context: context, requested: options.reindexRoute, allowShrink: options.allowShrink).plan().map { "  " + $0 }
            case .check:
                let definitions = context.configuration.searchIndexes
                lines.append(definitions.isEmpty ? "  nothing to compare: no search.indexes in recette.yml"
                             : "  count each index's documents against its query: \(definitions.map(\.uid).joined(separator: ", "))")
            }
            return lines
    }

    /// Runs the steps; never throws: a failure ends the run and is in the report (`succeeded`
    /// false, `error`), which is also written to `.recette/runs/` and sent to `--notify` URLs.
    public func run(confirmReset: @escaping (ComposeResetPlan) throws -> Void) async -> PopulateReport {
        let startedAt = now()
        let clock = ContinuousClock()
        let logger = context.logger
        let target = (try? RestoreTargetKind.configured(context.configuration))?.rawValue ?? (context.configuration[.target] ?? "local")
        var report = PopulateReport(startedAt: startedAt, finishedAt: startedAt, succeeded: false, target: target, steps: [])
        var archive: URL?
        if case .file(let url) = options.origin { archive = url }
        var failure: (any Error)?

        for step in PopulateStep.allCases {
            guard failure == nil, options.runs(step) else {
                report.steps.append(PopulateStepRecord(step: step, status: .skipped, seconds: 0,
                                                       detail: failure != nil ? "not run: an earlier step failed" : "not asked for"))
                continue
            }
            logger.info("step \(step.rawValue): \(step.summary)")
            let started = clock.now
            var record = PopulateStepRecord(step: step, status: .succeeded, seconds: 0, detail: "")
            do {
                switch step {
                case .backup:
                    archive = try await obtainBackup()
                    record.detail = archive!.lastPathComponent
                case .restore:
                    guard let file = archive ?? cachedArchive() else {
                        throw RecetteFailure("no backup to restore: run populate from the 'backup' step, or give --backup FILE")
                    }
                    let outcome = try await TargetRestore(context: context, options: options.restore).restore(file: file, confirmReset: confirmReset)
                    let rows = outcome.rowCounts.reduce(0) { $0 + $1.rows }
                    record.detail = "\(file.lastPathComponent): \(outcome.rowCounts.count) tables, \(rows) rows into '\(outcome.database)'"
                    record.phases = outcome.report.phases
                    report.restoreReport = outcome.reportFile?.path
                    report.backup = file.path
                case .cms:
                    guard try RestoreTargetKind.configured(context.configuration) == .compose else {
                        record.status = .skipped
                        record.detail = "the \(target) target runs no CMS"
                        break
                    }
                    let starter = try await CMSStarter.configured(by: context, compose: true)
                    try await starter.start()
                    record.detail = "\(starter.service) answers \(starter.healthURL.absoluteString)"
                case .reindex:
                    let outcome = try await SearchReindex(context: context, requested: options.reindexRoute, allowShrink: options.allowShrink).run()
                    switch outcome {
                    case .direct(let reports):
                        report.reindex = reports
                        record.detail = reports.map { "\($0.uid) \($0.documents) docs" }.joined(separator: ", ") + " (direct, swapped in)"
                    case .plugin(let reports):
                        report.pluginReindex = reports
                        record.detail = reports.map { "\($0.indexUid) \($0.documents)/\($0.publishedRows)" }.joined(separator: ", ") + " (plugin)"
                    }
                    if let problem = outcome.problem { throw RecetteFailure(problem) }
                case .check:
                    let setup = try SearchSetup(context: context)
                    guard !setup.definitions.isEmpty else {
                        record.status = .skipped
                        record.detail = "no search.indexes in recette.yml"
                        break
                    }
                    let rows = try await SearchDatabase.rows(for: context)
                    let statuses = try await SearchDrift(client: setup.client, rows: rows, logger: logger)
                        .status(setup.definitions)
                    report.search = statuses
                    record.detail = statuses.map { "\($0.uid) \($0.state)" }.joined(separator: ", ")
                    let drifting = statuses.filter { !$0.isInSync }
                    if !drifting.isEmpty {
                        throw RecetteFailure("\(drifting.map(\.uid).joined(separator: ", ")) differ from the database after the rebuild: see 'recette search verify'")
                    }
                }
            } catch {
                failure = error
                record.status = .failed
                record.detail = Redaction.redacting(context.configuration.secrets, in: String(describing: error))
            }
            record.seconds = (clock.now - started).seconds
            logger.info("step \(step.rawValue): \(record.status.rawValue) in \(String(format: "%.1f", record.seconds))s")
            report.steps.append(record)
        }
        report.finishedAt = now()
        report.succeeded = failure == nil
        if let failure {
            report.error = failure is CancellationError ? "interrupted" : Redaction.redacting(context.configuration.secrets, in: String(describing: failure))
        }
        return report
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

    private func obtainBackup() async throws -> URL {
        switch options.origin {
        case .file(let url):
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw RecetteFailure("--backup \(url.path): no such file")
            }
            return url
        case .scalingoAPI(let choice):
            return try await ScalingoBackupSource(context: context).download(choice).file
        case .scalingoCLI(let id):
            return try await ScalingoCLI(context: context).download(backupID: id)
        }
    }

    /// The most recently downloaded archive under `.recette/backups/`, for `--from restore`.
    func cachedArchive() -> URL? {
        let root = context.stateDirectory.appendingPathComponent("backups")
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.contentModificationDateKey]) else { return nil }
        var newest: (URL, Date)?
        for case let url as URL in walker where url.lastPathComponent.hasSuffix(".tar.gz") {
            let date = (try? url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate) ?? .distantPast
            if newest == nil || date > newest!.1 { newest = (url, date) }
        }
        return newest?.0
    }
}
